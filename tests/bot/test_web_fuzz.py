"""Schemathesis fuzzes the running web chat API against its OpenAPI document
(`bot/channels/web_openapi.yaml`): valid and invalid bodies, odd headers — never a server
error, and every answer documented."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.config import Settings
from handlers.context import Services
from knowledge.data import load_yaml
from tests.live import serving

DOCUMENT = Path(__file__).parents[2] / "bot" / "channels" / "web_openapi.yaml"
EXAMPLES = 60  # per operation and mode


@pytest.fixture(scope="module")
def live_chat(
    tmp_path_factory: pytest.TempPathFactory, template_db: Path, services: Services
) -> Iterator[str]:
    """The web app served on a free local port from a thread of its own (no rate limit:
    the fuzzer is one client sending hundreds of messages)."""
    target = tmp_path_factory.mktemp("chatfuzz") / "linli.db"
    shutil.copy(template_db, target)
    config = Settings.from_mapping(
        {
            "database_url": f"sqlite+aiosqlite:///{target}",
            "secret_key": "fuzz-secret",
            "web_rate_per_minute": 0,
        }
    )
    with serving(config, services) as (url, _):
        yield url


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_chat_api_keeps_to_its_document(live_chat: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_dict(load_yaml(DOCUMENT.read_text("utf-8")))
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operations.append(result.ok())
    assert {op.path for op in operations} == {"/api/chat", "/api/chat/inbox"}
    http = requests.Session()
    http.trust_env = False  # no proxy between the test and 127.0.0.1
    checks = [not_a_server_error, content_type_conformance, status_code_conformance]
    if mode == GenerationMode.POSITIVE:
        checks.append(response_schema_conformance)
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and operation.method == "get":
            continue  # nothing to make invalid: no parameters, no body

        @settings(
            max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode))
        def exchange(case: Any) -> None:
            response = case.call(base_url=live_chat, session=http, timeout=30)
            case.validate_response(response, checks=checks)

        try:
            exchange()
        except Exception as exc:  # name the operation in the failure
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {exc}") from exc

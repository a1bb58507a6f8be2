"""Schemathesis fuzzes the running REST API against its own OpenAPI document: no server
errors, and every response has a documented status, content type and schema."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot import api
from bot.config import Settings
from handlers.context import Services
from knowledge.data import load_yaml
from storage import api_tokens, staff, surveys, tickets, topics
from storage.models import Survey, SurveyResponse
from tests.live import serving

EXAMPLES = 25  # per operation and mode: enough to find the edges, quick enough to run always
POSITIVE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


async def _seed(runtime: Any) -> str:
    """An admin's token and one of everything the API shows."""
    now = runtime.clock()
    async with runtime.sessions.begin() as session:
        admin = await staff.create_staff(
            session, username="fuzz", role="admin", password_hash=None, now=now
        )
        token = (await api_tokens.create(session, staff=admin, name="fuzz", now=now)).secret
        for kind, category in (("complaint", "facilities"), ("crisis", None),
                               ("mediation", "dispute")):  # fmt: skip
            await tickets.create_ticket(
                session, kind=kind, resident_id=None, summary="路灯坏了 13812345678", now=now,
                year=2026, category=category, grid="hx-1", due_at=now + timedelta(days=3),
                location={"address": "3号楼", "lat": 31.2, "lon": 121.4},
                contact_phone="+8613812345678",
            )  # fmt: skip
        await topics.create_topic(
            session, title="加装电梯", body="", options=["同意", "反对"], mode="vote",
            scope="all", rule="majority", opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=5), now=now,
        )  # fmt: skip
        spec = surveys.SurveySpec(
            title="满意度", title_en=None, intro="", intro_en=None, anonymous=True,
            audience="all", send_at=now, closes_at=None, remind_after_days=None,
            questions=(
                surveys.QuestionSpec(kind="single", text="好吗", options=("好", "不好")),
                surveys.QuestionSpec(kind="rating", text="打分"),
                surveys.QuestionSpec(kind="text", text="建议"),
            ),
        )  # fmt: skip
        survey = await surveys.create(session, spec, now=now)
        row = await session.get(Survey, survey.id)
        assert row is not None
        row.invited, row.sent_at, row.state = 3, now, "open"
        session.add(SurveyResponse(id="r1", survey_id=survey.id))
    return token


@pytest.fixture(scope="module")
def live_api(
    tmp_path_factory: pytest.TempPathFactory, template_db: Path, services: Services
) -> Iterator[tuple[str, str]]:
    """The web app served on a free local port from a thread of its own."""
    target = tmp_path_factory.mktemp("fuzz") / "linli.db"
    shutil.copy(template_db, target)
    config = Settings.from_mapping(
        {"database_url": f"sqlite+aiosqlite:///{target}", "secret_key": "fuzz-secret"}
    )
    with serving(config, services, _seed) as (url, token):
        yield url + api.PREFIX, token


def _operations() -> list[Any]:
    schema = schemathesis.openapi.from_dict(load_yaml(api.OPENAPI_FILE))
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        found.append(result.ok())
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_to_its_document(live_api: tuple[str, str], mode: GenerationMode) -> None:
    base_url, token = live_api
    http = requests.Session()
    http.trust_env = False  # no proxy between the test and 127.0.0.1
    headers = {"Authorization": f"Bearer {token}"}
    # Invalid input must be refused without a crash; valid input must get a documented answer.
    checks = POSITIVE_CHECKS if mode == GenerationMode.POSITIVE else [
        not_a_server_error, content_type_conformance,
    ]  # fmt: skip
    operations = _operations()
    assert len(operations) >= 14
    for operation in operations:

        @settings(
            max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode))
        def exchange(case: Any) -> None:
            response = case.call(base_url=base_url, session=http, headers=headers, timeout=30)
            case.validate_response(response, checks=checks)

        try:
            exchange()
        except Unsatisfiable:
            # Nothing to make invalid: the operation has no parameters and no body.
            assert mode == GenerationMode.NEGATIVE, operation.path
        except Exception as exc:  # name the operation in the failure
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {exc}") from exc

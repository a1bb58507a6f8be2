"""Operators' view: scrubbed JSON logs and the Prometheus `/metrics` page, guarded from the
public."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot import logs
from bot.app import Runtime, build_runtime, create_web_app
from bot.config import Settings
from handlers.context import Services
from tests.chat import ResidentChat, report_problem

pytestmark = pytest.mark.both_databases
Client = TestClient[Any, Any]
PHONE = "13812345678"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines into a buffer, restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    logs.configure(level="DEBUG", fmt="json", stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def test_scrub_takes_out_phones_tokens_secrets_and_chinese_text() -> None:
    line = logs.scrub(
        f"sendMessage https://api.telegram.org/bot{TOKEN}/x failed for 楼道灯坏了 "
        f"call +86 138 1234 5678 or {PHONE}; Authorization: Bearer s3cr3t-value "
        "postgresql://linli:hunter22@db/linli password=hunter22 "
        "[parameters: ('my words', 3)]\n update 1042/77 took 12 ms"
    )
    for leaked in (TOKEN, "楼道", "1234 5678", PHONE, "s3cr3t", "hunter22", "my words"):
        assert leaked not in line
    assert "update 1042/77 took 12 ms" in line  # ordinary numbers stay readable


def test_json_lines_carry_extra_fields_and_a_scrubbed_traceback(captured: io.StringIO) -> None:
    log = logging.getLogger("linli.test")
    log.info("handled %s", "web", extra={"route": "faq", "ms": 3.5})
    try:
        raise ValueError(f"bad value 电话{PHONE}")
    except ValueError:
        log.exception("update %s failed", "web/1")
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert first["message"] == "handled web" and first["route"] == "faq" and first["ms"] == 3.5
    assert first["level"] == "INFO" and first["logger"] == "linli.test"
    assert second["exc_type"] == "ValueError" and "Traceback" in second["traceback"]
    assert PHONE not in captured.getvalue() and "电话" not in captured.getvalue()


async def test_the_engine_logs_each_update_without_its_text(
    alice: ResidentChat, runtime: Runtime, captured: io.StringIO
) -> None:
    runtime.engine.observers.append(logs.log_update)
    await report_problem(alice, "楼道灯坏了，请联系我", phone=PHONE)
    await alice.say("I want to end my life tonight")
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    handled = [line for line in lines if line["message"] == "update handled"]
    assert len(handled) == 8
    assert {line["route"] for line in handled} >= {"complaint", "crisis"}
    text = captured.getvalue()
    assert PHONE not in text and "楼道" not in text and "end my life" not in text


@pytest.fixture
async def client(
    runtime: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(create_web_app(runtime))


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_updates_latency_tickets_and_crisis(
    client: Client, runtime: Runtime
) -> None:
    chat = ResidentChat(runtime.engine, user="bob", channel="web")
    await report_problem(chat, "小区门口的路灯坏了好几天了")
    await chat.say("我不想活了")
    await chat.say("我不想活了", update_id="same")
    await chat.say("我不想活了", update_id="same")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = _samples(await response.text())
    updates = {
        labels: value for (name, labels), value in samples.items()
        if name == "linli_updates_handled_total"
    }  # fmt: skip
    assert updates[(("channel", "web"), ("route", "complaint"))] == 7
    assert updates[(("channel", "web"), ("route", "crisis"))] == 2
    assert updates[(("channel", "web"), ("route", "duplicate"))] == 1
    assert samples[("linli_reply_seconds_count", (("channel", "web"),))] == 9
    assert samples[("linli_crisis_turns_total", (("channel", "web"),))] == 2
    assert samples[("linli_tickets_open", (("kind", "complaint"),))] == 1
    assert samples[("linli_tickets_open", (("kind", "crisis"),))] == 1
    assert samples[("linli_tickets_overdue", ())] == 0
    assert samples[("linli_outbox_messages", (("state", "pending"),))] >= 1  # the staff alerts
    assert samples[("linli_outbox_messages", (("state", "dead"),))] == 0
    assert samples[("linli_database_up", ())] == 1
    assert samples[("linli_crisis_alerts_waiting", ())] == 0  # queued less than a minute ago


async def test_metrics_are_refused_through_the_proxy(client: Client) -> None:
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        response = await client.get("/metrics", headers={header: "203.0.113.9"})
        assert response.status == 403, header


async def test_metrics_with_a_token_need_it_even_from_loopback(
    runtime: Runtime,
    services: Services,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    settings = Settings.from_mapping(
        {
            "database_url": runtime.settings.database_url,
            "secret_key": "test-secret-key",
            "metrics_token": "scrape-me-please",
        }
    )
    guarded = await build_runtime(settings, upgrade=False, services=services)
    try:
        client = await aiohttp_client(create_web_app(guarded))
        assert (await client.get("/metrics")).status == 403
        wrong = {"Authorization": "Bearer nope"}
        assert (await client.get("/metrics", headers=wrong)).status == 403
        right = {"Authorization": "Bearer scrape-me-please", "X-Forwarded-For": "198.51.100.7"}
        response = await client.get("/metrics", headers=right)
        assert response.status == 200 and "linli_outbox_messages" in await response.text()
    finally:
        await guarded.close()

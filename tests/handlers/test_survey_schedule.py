"""Surveys on the clock: one reminder to those who have not finished, closing at the closing
time, and friendly answers to unknown, closed and stale survey buttons."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import Runtime
from bot.cli import _parser
from bot.scheduler import run_job
from bot.survey_cli import run as survey_cli
from handlers import survey_sweeps
from storage import outbox
from storage.models import Outbox, Survey, SurveyInvitation
from tests.chat import ResidentChat, fetch_all, texts
from tests.clock import START
from tests.handlers.test_survey import add_survey, send

pytestmark = pytest.mark.both_databases

SHANGHAI = ZoneInfo("Asia/Shanghai")  # LINLI_TIMEZONE's default


def _closing(days: int, remind: int | None = None) -> str:
    """YAML lines closing the survey in `days` (local time), with a reminder after `remind`."""
    closes = (START + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")
    return f"closes: {closes}\n" + (f"remind_after_days: {remind}\n" if remind else "")


async def _sweep(runtime: Runtime, name: str, *, days: float) -> int:
    sweep = {"remind": survey_sweeps.remind, "close": survey_sweeps.close_ended}[name]
    async with runtime.sessions.begin() as session:
        return await sweep(session, runtime.services, now=runtime.clock() + timedelta(days=days))


async def _keys(runtime: Runtime, tag: str) -> list[str]:
    return await fetch_all(
        runtime.sessions,
        select(Outbox.recipient).where(Outbox.dedupe_key.contains(f":{tag}:")).order_by(Outbox.id),
    )


async def test_one_reminder_to_those_who_have_not_finished_then_closing(
    runtime: Runtime, alice: ResidentChat, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bob = ResidentChat(runtime.engine, user="bob")
    for someone in (alice, bob):
        await someone.say("你好")
    survey_id = await add_survey(runtime, capsys, tmp_path, extra=_closing(days=7, remind=2))
    assert await run_job(runtime, "send_due_surveys") == 2
    assert await run_job(runtime, "send_due_surveys") == 0
    await alice.press(f"poll:start:{survey_id}")
    for label in ("满意", "收费", "完成", "4", "跳过"):
        await alice.tap(label)
    await bob.press(f"poll:start:{survey_id}")
    await bob.tap("一般")  # half-way: still a non-respondent

    assert await _sweep(runtime, "remind", days=1) == 0  # too early
    assert await _sweep(runtime, "remind", days=2.1) == 1
    assert await _sweep(runtime, "remind", days=2.2) == 0
    assert await _sweep(runtime, "remind", days=5) == 0
    assert await _keys(runtime, "remind") == ["bob"]
    async with runtime.sessions.begin() as session:
        taken = await outbox.take_for_recipient(
            session, channel="console", recipient="bob", now=runtime.clock() + timedelta(days=3)
        )
    reminder = taken[-1].payload
    assert "还在等您的意见" in reminder["text"]
    assert reminder["buttons"][0]["action"] == f"poll:start:{survey_id}"

    assert await _sweep(runtime, "close", days=6) == 0
    assert await _sweep(runtime, "close", days=7.1) == 1
    assert await _sweep(runtime, "close", days=7.2) == 0
    assert await _sweep(runtime, "remind", days=8) == 0
    (closed,) = await fetch_all(runtime.sessions, select(Survey))
    assert closed.state == "closed"
    invitations = await fetch_all(runtime.sessions, select(SurveyInvitation))
    assert all(i.progress is None for i in invitations)  # unfinished answers are discarded
    assert "已经结束" in texts(await bob.press(f"poll:start:{survey_id}"))
    assert "已经结束" in texts(await bob.press(f"poll:toggle:{survey_id}:1:0"))


async def test_a_closing_survey_drops_invitations_not_yet_sent(
    runtime: Runtime, alice: ResidentChat, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await alice.say("你好")
    await add_survey(runtime, capsys, tmp_path, extra=_closing(days=1))
    assert await send(runtime) == 1
    assert await _sweep(runtime, "close", days=1.1) == 1
    assert await _keys(runtime, "invite") == []  # never handed over, so never sent
    assert await send(runtime, days=2) == 0  # a closed survey is not sent afterwards


async def test_unknown_scheduled_stale_and_garbled_survey_buttons(
    runtime: Runtime, alice: ResidentChat, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await alice.say("你好")
    assert "找不到这份问卷" in texts(await alice.press("poll:start:999"))
    assert "过期" in texts(await alice.press("poll:pick:x:y"))
    assert "过期" in texts(await alice.press("poll:start:"))
    later = "send_at: 2030-01-01T09:00\n"
    survey_id = await add_survey(runtime, capsys, tmp_path, extra=later)
    assert await send(runtime) == 0  # not yet
    assert "找不到这份问卷" in texts(await alice.press(f"poll:start:{survey_id}"))
    assert "没有需要您填写的问卷" in texts(await alice.say("问卷"))

    now_id = await add_survey(runtime, capsys, tmp_path, audience="grid:none")
    await send(runtime)
    assert "找不到这份问卷" in texts(await alice.press(f"poll:start:{now_id}"))  # not invited


async def test_free_text_answers_must_be_text_and_required_ones_cannot_be_skipped(
    runtime: Runtime, alice: ResidentChat, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await alice.say("你好")
    path = tmp_path / "one.yaml"
    path.write_text("title: 意见征集\nquestions:\n  - kind: text\n    text: 您的建议？\n", "utf-8")
    await survey_cli(
        runtime.settings, _parser().parse_args(["survey", "add", str(path)]), runtime.clock
    )
    survey_id = int(capsys.readouterr().out.strip().splitlines()[-1])
    await send(runtime)
    await alice.press(f"poll:start:{survey_id}")
    assert "跳过" not in alice.labels()
    assert "需要回答" in texts(await alice.say("跳过"))
    assert "用文字回答" in texts(await alice.send(photo="file-1"))
    await alice.say("/menu")  # the menu leaves the question waiting for its answer
    assert "已完成" in texts(await alice.say("路口加个减速带"))

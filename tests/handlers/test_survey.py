"""A survey from YAML to results: `linli survey add`, the invitation sweep, residents
answering with buttons (one leaves half-way and resumes), results and CSV/XLSX exports."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import Runtime
from bot.cli import _parser
from bot.survey_cli import run as survey_cli
from handlers import survey_sweeps
from storage import outbox
from storage.models import SurveyInvitation, SurveyResponse
from tests.chat import ResidentChat, fetch_all, texts

PARKING = """
title: 小区停车满意度调查
title_en: Parking satisfaction survey
intro: 占用您两分钟……
anonymous: {anonymous}
audience: {audience}
questions:
  - kind: single
    text: 您对停车管理满意吗？
    text_en: Are you satisfied with parking?
    options: [满意, 一般, 不满意]
    options_en: [Satisfied, So-so, Dissatisfied]
  - kind: multiple
    text: 您最关心哪些问题？
    options: [车位不足, 收费, 乱停车]
    options_en: [Too few spaces, Fees, Illegal parking]
  - kind: rating
    text: 给物业停车服务打分
  - kind: text
    text: 其他建议
    optional: true
"""


async def add_survey(
    runtime: Runtime,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    *,
    anonymous: bool = True,
    audience: str = "all",
    extra: str = "",
) -> int:
    """`linli survey add FILE`, in process; the id is alone on the last line."""
    path = tmp_path / f"survey-{anonymous}-{audience.replace(':', '-')}.yaml"
    yaml_text = PARKING.format(anonymous=str(anonymous).lower(), audience=audience)
    path.write_text(extra + yaml_text, "utf-8")
    capsys.readouterr()
    await survey_cli(
        runtime.settings, _parser().parse_args(["survey", "add", str(path)]), runtime.clock
    )
    printed = capsys.readouterr().out.strip().splitlines()
    assert "4 questions" in printed[0]
    return int(printed[-1])


async def send(runtime: Runtime, *, days: float = 0) -> int:
    """The invitation sweep, as the scheduler runs it."""
    async with runtime.sessions.begin() as session:
        return await survey_sweeps.send_due(
            session, runtime.services, now=runtime.clock() + timedelta(days=days)
        )


async def inbox(runtime: Runtime, user: str) -> list[dict[str, object]]:
    """What the outbox holds for a console resident (and hands over now)."""
    async with runtime.sessions.begin() as session:
        taken = await outbox.take_for_recipient(
            session, channel="console", recipient=user, now=runtime.clock() + timedelta(days=30)
        )
    return [m.payload for m in taken]


async def results(
    runtime: Runtime, capsys: pytest.CaptureFixture[str], survey_id: int, *extra: str
) -> str:
    capsys.readouterr()
    args = _parser().parse_args(["survey", "results", str(survey_id), *extra])
    await survey_cli(runtime.settings, args, runtime.clock)
    return capsys.readouterr().out


async def test_a_survey_from_yaml_to_results(
    runtime: Runtime, alice: ResidentChat, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bob = ResidentChat(runtime.engine, user="bob", locale="en")
    carol = ResidentChat(runtime.engine, user="carol")
    for someone in (alice, bob, carol):
        await someone.say("你好")
    await carol.say("设置")
    assert "已关闭问卷调查" in texts(await carol.tap("不再接收问卷调查"))

    survey_id = await add_survey(runtime, capsys, tmp_path)
    assert await send(runtime) == 2  # carol turned surveys off
    assert await send(runtime) == 0
    (invitation,) = await inbox(runtime, "alice")
    assert "小区停车满意度调查" in str(invitation["text"]) and "匿名" in str(invitation["text"])
    assert invitation["buttons"] == [{"label": "开始填写", "action": f"poll:start:{survey_id}"}]
    (english,) = await inbox(runtime, "bob")
    assert "Parking satisfaction survey" in str(english["text"])
    assert await inbox(runtime, "carol") == []

    # Alice answers everything with buttons, one question at a time.
    first = await alice.press(f"poll:start:{survey_id}")
    assert "第 1/4 题：您对停车管理满意吗？" in texts(first)
    assert alice.labels() == ["满意", "一般", "不满意", "稍后再填"]
    assert "第 2/4 题" in texts(await alice.tap("满意"))
    await alice.tap("车位不足")
    assert alice.labels()[:4] == ["✓ 车位不足", "收费", "乱停车", "完成"]
    await alice.tap("乱停车")
    await alice.tap("车位不足")  # untick
    assert alice.labels()[:3] == ["车位不足", "收费", "✓ 乱停车"]
    assert "第 3/4 题" in texts(await alice.tap("完成"))
    assert alice.labels()[:5] == ["1", "2", "3", "4", "5"]
    fourth = await alice.tap("5")
    assert "其他建议" in texts(fourth) and "跳过" in alice.labels()
    too_long = await alice.say("太" * 501)
    assert "500 字以内" in texts(too_long)
    done = await alice.say("=1+1 多建充电桩")
    assert "已完成" in texts(done)
    assert "已经填完" in texts(await alice.press(f"poll:start:{survey_id}"))
    assert "已经填完" in texts(await alice.press(f"poll:pick:{survey_id}:0:1"))

    # Bob (English) leaves half-way and comes back to where he was.
    await bob.press(f"poll:start:{survey_id}")
    assert bob.labels() == ["Satisfied", "So-so", "Dissatisfied", "Later"]
    await bob.tap("So-so")
    await bob.tap("Fees")
    await bob.say("/status")  # another command in between
    earlier = await bob.press(f"poll:pick:{survey_id}:0:2")  # a stale button of question 1
    assert "earlier question" in texts(earlier) and "Question 2/4" in texts(earlier)
    assert "survey" in texts(await bob.tap("Later"))
    waiting = await bob.say("survey")
    assert bob.labels()[0] == "Parking satisfaction survey" and "waiting" in texts(waiting)
    resumed = await bob.tap("Parking satisfaction survey")
    assert "continues at question 2" in texts(resumed)
    assert bob.labels()[:4] == ["Too few spaces", "✓ Fees", "Illegal parking", "Done"]
    await bob.tap("Done")
    await bob.tap("3")
    assert "Thank you" in texts(await bob.tap("Skip"))

    # Results: who answered is kept apart from what was answered.
    invitations = await fetch_all(runtime.sessions, select(SurveyInvitation))
    assert all(i.completed and i.progress is None for i in invitations)
    responses = await fetch_all(runtime.sessions, select(SurveyResponse))
    assert len(responses) == 2
    assert all(r.resident_id is None and r.completed_at is None for r in responses)
    shown = await results(runtime, capsys, survey_id)
    assert "Response rate: 2/2 invited (100.0%)" in shown
    assert "满意: 1 (50.0%)" in shown and "一般: 1 (50.0%)" in shown
    assert "收费: 1 (50.0%)" in shown and "乱停车: 1 (50.0%)" in shown
    assert "average 4.00" in shown and "5: 1 (50.0%)" in shown
    assert "- =1+1 多建充电桩" in shown and "其他建议 — 1 answer(s)" in shown

    out = tmp_path / "parking.csv"
    assert "2 response(s)" in await results(
        runtime, capsys, survey_id, "--format", "csv", "--out", str(out)
    )
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["response", "Q1 您对停车管理满意吗？", "Q2 您最关心哪些问题？",
                       "Q3 给物业停车服务打分", "Q4 其他建议"]  # fmt: skip
    assert [r[0] for r in rows[1:]] == ["1", "2"]
    assert sorted(r[1:] for r in rows[1:]) == [
        ["一般", "收费", "3", ""],
        ["满意", "乱停车", "5", "'=1+1 多建充电桩"],
    ]
    book = tmp_path / "parking.xlsx"
    await results(runtime, capsys, survey_id, "--format", "xlsx", "--out", str(book))
    sheet = load_workbook(book).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == rows[0] and len(cells) == 3
    assert "'=1+1 多建充电桩" in {c for row in cells for c in row}
    assert not any(sheet.cell(r, c).data_type == "f" for r in (2, 3) for c in range(1, 6))


async def test_a_named_survey_exports_who_answered(
    runtime: Runtime, alice: ResidentChat, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dan = ResidentChat(runtime.engine, user="dan")
    await dan.say("你好")
    await alice.say("/settings")
    await alice.tap("选择我的标签")
    assert "已添加标签：长者" in texts(await alice.tap("长者"))
    survey_id = await add_survey(runtime, capsys, tmp_path, anonymous=False, audience="tag:elderly")
    assert await send(runtime) == 1  # only the senior
    invitation = (await inbox(runtime, "alice"))[0]
    assert "实名" in str(invitation["text"])
    await alice.press(f"poll:start:{survey_id}")
    for label in ("不满意", "收费", "完成", "1", "跳过"):
        await alice.tap(label)
    assert "已完成" in alice.last_text
    assert "找不到" in texts(await dan.press(f"poll:start:{survey_id}"))  # not invited
    (response,) = await fetch_all(runtime.sessions, select(SurveyResponse))
    assert response.resident_id is not None and response.completed_at is not None
    out = tmp_path / "named.csv"
    await results(runtime, capsys, survey_id, "--format", "csv", "--out", str(out))
    with out.open(encoding="utf-8-sig", newline="") as f:
        header, row = list(csv.reader(f))
    assert header[:4] == ["response", "resident_id", "name", "completed_at"]
    assert row[1] == str(response.resident_id) and row[4:] == ["不满意", "收费", "1", ""]
    await alice.say("删除我的数据")
    await alice.press("forget:confirm")
    (kept,) = await fetch_all(runtime.sessions, select(SurveyResponse))
    assert kept.resident_id is None  # the answers stay for the tally, no longer hers

"""`linli topic` and the `topic_id` of `linli route`, driven as subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest

from bot.app import build_services
from bot.config import Settings
from handlers import topic_close
from storage import db, opinions, residents, topics
from tests.clock import START, linli

pytestmark = pytest.mark.slow
ELEVATOR = """\
title: 是否在3号楼北侧加装电梯
body: 3号楼共18户，多位老人上下楼困难。加装电梯需要占用北侧部分绿地，费用由业主分摊。
options: [同意, 不同意]
closes: 2026-12-15T18:00
scope: all
rule: civil-code-278
mode: vote
"""


def _run(args: list[str], database_url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(LINLI_DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [*linli(), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120,
        check=False,
    )  # fmt: skip


def _add(tmp_path: Path, sqlite_url: str, text: str) -> int:
    path = tmp_path / "topic.yaml"
    path.write_text(text, "utf-8")
    result = _run(["topic", "add", str(path)], sqlite_url)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


def test_add_prints_the_id_last_and_show_json_has_the_counts(
    tmp_path: Path, sqlite_url: str
) -> None:
    topic_id = _add(tmp_path, sqlite_url, ELEVATOR)
    shown = _run(["topic", "show", str(topic_id), "--json"], sqlite_url)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["id"] == topic_id and data["status"] == "open"
    assert data["votes"] == {"同意": 0, "不同意": 0} and data["turnout"] == 0.0
    assert data["result"] is None and data["rule"] == "civil-code-278"
    assert data["closes"].startswith("2026-12-15T18:00:00+08:00")
    routed = _run(
        ["route", "--json"], sqlite_url, stdin="我觉得3号楼加装电梯很有必要\n楼上装修太吵了\n"
    )
    assert routed.returncode == 0, routed.stderr
    first, second = (json.loads(line) for line in routed.stdout.splitlines())
    assert (first["intent"], first["topic_id"]) == ("deliberation", topic_id)
    assert (second["intent"], second["topic_id"]) == ("complaint", None)


def test_a_bad_file_is_explained(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("title: 没有截止时间\n", "utf-8")
    result = _run(["topic", "add", str(path)], sqlite_url)
    assert result.returncode != 0
    assert (
        result.stderr.strip() == f"{path}: closes is required (local time, e.g. 2026-12-15T18:00)"
    )
    path.write_text("title: [没有结尾\n", "utf-8")
    broken = _run(["topic", "add", str(path)], sqlite_url)
    assert broken.returncode != 0 and f"{path}: not valid YAML: " in broken.stderr
    assert "Traceback" not in broken.stderr


def test_moderate_lists_and_approves_and_show_reports_the_stored_result(
    tmp_path: Path, sqlite_url: str
) -> None:
    past = ELEVATOR.replace(
        "closes: 2026-12-15T18:00", "opens: 2026-01-01T09:00\ncloses: 2026-01-15T18:00"
    )
    topic_id = _add(tmp_path, sqlite_url, past)

    async def take_part_and_close() -> None:
        engine = db.create_engine(sqlite_url)
        sessions = db.session_factory(engine)
        async with sessions.begin() as session:
            for name in ("a", "b", "c"):
                who = await residents.load_for_update(
                    session, channel="console", external_id=name, locale="zh", now=START
                )
                await topics.cast_vote(session, topic_id=topic_id, resident_id=who.resident.id,
                                       option=0, now=START)  # fmt: skip
            await opinions.add_opinion(session, topic_id=topic_id, resident_id=who.resident.id,
                                       text="支持，但要先公示方案", now=START)  # fmt: skip
            [topic] = await topics.due_to_close(session, now=START)
            await topic_close.close_topic(
                session, build_services(Settings.from_mapping({})), topic, now=START
            )
        await engine.dispose()

    asyncio.run(take_part_and_close())
    queue = _run(["topic", "moderate"], sqlite_url)
    assert (
        queue.returncode == 0
        and "O1 on “是否在3号楼北侧加装电梯”: 支持，但要先公示方案" in queue.stdout
    )
    approved = _run(["topic", "moderate", "approve", "O1"], sqlite_url)
    assert approved.returncode == 0 and "O1 approved" in approved.stdout, approved.stderr
    again = _run(["topic", "moderate", "approve", "O1"], sqlite_url)
    assert again.returncode != 0 and "already been reviewed" in again.stderr
    data = json.loads(_run(["topic", "show", str(topic_id), "--json"], sqlite_url).stdout)
    assert data["status"] == "closed" and data["votes"] == {"同意": 3, "不同意": 0}
    assert data["result"]["quorum_met"] and data["result"]["winner"] == "同意"
    assert data["turnout"] == 1.0
    responded = _run(["topic", "respond", str(topic_id), "--text", "下月开工"], sqlite_url)
    assert responded.returncode == 0 and "3 participant(s)" in responded.stdout
    plain = _run(["topic", "show", str(topic_id)], sqlite_url).stdout
    assert "[closed]" in plain and "结果为「同意」" in plain and "response: 下月开工" in plain

"""The `linli` command driven as a subprocess, exactly as scripts and users run it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from storage import db, outbox, residents
from tests.clock import START, linli

pytestmark = pytest.mark.slow


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(
        LINLI_DATABASE_URL=database_url,
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    return env


def _run(args: list[str], database_url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*linli(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(database_url),
        timeout=120,
        check=False,
    )


def test_route_json_reports_every_field_for_each_line(sqlite_url: str) -> None:
    lines = ["楼上装修太吵了", "怎么办理居住证", "我不想活了", "你好", "我的投诉到哪了"]
    result = _run(["route", "--json"], sqlite_url, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["text"] for d in decisions] == lines
    for decision in decisions:
        assert set(decision) == {
            "text",
            "intent",
            "confidence",
            "category",
            "faq_id",
            "topic_id",
            "severity",
        }
    intents = [d["intent"] for d in decisions]
    assert intents == ["complaint", "faq", "crisis", "greeting", "status"]
    assert decisions[0]["category"] == "noise"
    assert decisions[1]["faq_id"] == "residence-permit"
    assert decisions[2]["severity"] in ("imminent", "high")


def test_route_plain_text_argument(sqlite_url: str) -> None:
    result = _run(["route", "路灯坏了"], sqlite_url)
    assert result.returncode == 0 and "intent=complaint" in result.stdout


def test_chat_json_replies_and_prints_outbox_messages_for_the_resident(
    sqlite_url: str,
) -> None:
    assert _run(["db", "upgrade"], sqlite_url).returncode == 0

    async def queue_staff_reply() -> None:
        engine = db.create_engine(sqlite_url)
        sessions = db.session_factory(engine)
        async with sessions.begin() as session:
            loaded = await residents.load_for_update(
                session, channel="console", external_id="tester", locale="zh", now=START
            )
            await outbox.enqueue(
                session,
                channel="console",
                recipient="tester",
                resident_id=loaded.resident.id,
                payload={"text": "工作人员：已安排维修。", "buttons": []},
                dedupe_key="reply:console:1",
                now=START,
            )
        await engine.dispose()

    asyncio.run(queue_staff_reply())
    lines = [
        json.dumps({"text": "/start"}),
        "this is not json",
        json.dumps({"action": "menu:language"}),
        json.dumps({"action": "lang:en"}),
    ]
    result = _run(["chat", "--json", "--user", "tester"], sqlite_url, "\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    staff = [o for o in out if o.get("to") == "tester"]
    assert [o["text"] for o in staff] == ["工作人员：已安排维修。"]
    replies = [o for o in out if "text" in o and o.get("to") is None]
    assert "隐私" in replies[1]["text"]
    assert all(set(o) == {"text", "buttons", "to"} for o in replies)
    assert {"label": "English", "action": "lang:en"} in replies[-2]["buttons"]
    assert "English" in replies[-1]["text"]
    assert any("error" in o for o in out)  # the bad line was answered, not fatal


def test_chat_plain_mode_numbers_press_buttons(sqlite_url: str) -> None:
    result = _run(["chat", "--user", "plain"], sqlite_url, stdin="7\n2\n")
    assert result.returncode == 0, result.stderr
    assert "[1] 反映问题" in result.stdout
    assert "English" in result.stdout.split("[1] 中文")[-1]  # 7 = language, 2 = English
    assert "OK, I'll talk with you in English" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_serve(sqlite_url: str, port: int, cwd: Path) -> subprocess.Popen[str]:
    env = _env(sqlite_url) | {"LINLI_HTTP_PORT": str(port)}
    return subprocess.Popen(
        [*linli(), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def _wait_for_health(port: int) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return dict(json.load(r))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_migrates_creates_the_first_admin_once_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    outputs = []
    for _ in range(2):
        port = _free_port()
        process = _start_serve(url, port, tmp_path)
        try:
            assert _wait_for_health(port) == {"status": "ok", "database": True}
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                assert "邻里" in r.read().decode()
        finally:
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        assert "Linli stopped." in stdout
        outputs.append(stdout)
    assert "one-time password" in outputs[0]
    assert "one-time password" not in outputs[1]


def test_ask_json_lists_entries_with_scores(sqlite_url: str) -> None:
    result = _run(["ask", "--json", "-k", "2"], sqlite_url, stdin="低保怎么申请\n红烧肉怎么做\n")
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["matches"][0]["faq_id"] == "low-income" and first["matches"][0]["answered"]
    assert len(first["matches"]) == 2 and first["matches"][0]["confidence"] > 0.35
    assert not any(m["answered"] for m in second["matches"])


def test_staff_add_with_a_telegram_id(sqlite_url: str) -> None:
    args = ["staff", "add", "zhang", "--role", "grid", "--grid", "hx-1", "--telegram-id", "777",
            "--password-stdin"]  # fmt: skip
    added = _run(args, sqlite_url, stdin="long-enough-password\n")
    assert added.returncode == 0, added.stderr
    assert "Added grid 'zhang'" in added.stdout
    again = _run(args, sqlite_url, stdin="long-enough-password\n")
    assert again.returncode != 0 and "already" in again.stderr
    short = _run(
        ["staff", "add", "li", "--role", "staff", "--password-stdin"], sqlite_url, "short\n"
    )
    assert short.returncode != 0 and "at least 8" in short.stderr


async def test_serve_runs_telegram_polling_and_stops_cleanly(tmp_path: Path) -> None:
    from tests.fake_telegram import FakeTelegram

    fake = FakeTelegram()
    await fake.start()
    url = f"sqlite+aiosqlite:///{tmp_path / 'tg.db'}"
    env = _env(url) | {
        "LINLI_HTTP_PORT": str(_free_port()),
        "LINLI_TELEGRAM_TOKEN": fake.token,
        "LINLI_TELEGRAM_API_BASE": fake.base_url,
        "LINLI_STAFF_CHAT_ID": "-100500",
    }
    process = await asyncio.create_subprocess_exec(
        *linli(), "serve", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await fake.wait_for(lambda: bool(fake.called("getUpdates")), seconds=60)
        fake.push(fake.text_update(1001, "/start"))
        await fake.wait_for(lambda: len(fake.sent(1001)) >= 3, seconds=30)
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        await fake.stop()
    assert process.returncode == 0, stderr.decode()
    assert "Telegram: @linli_test_bot (long polling)" in stdout.decode()
    assert fake.token not in stderr.decode() + stdout.decode()  # no Bot API URL in the logs
    assert "隐私说明" in fake.texts(1001)[1]


def test_broadcast_now_later_progress_and_cancel(sqlite_url: str) -> None:
    assert _run(["chat", "--user", "reader"], sqlite_url, stdin="你好\n").returncode == 0
    now = _run(["broadcast", "--text", "周六上午9点到12点停水", "--audience", "all"], sqlite_url)
    assert now.returncode == 0, now.stderr
    assert "Notice 1 to all, now." in now.stdout and "0/1" in now.stdout
    later = _run(
        [
            "broadcast",
            "--text",
            "下周二免费体检",
            "--audience",
            "tag:elderly",
            "--at",
            "2026-12-01 09:00",
        ],
        sqlite_url,
    )
    assert (
        "Notice 2 to tag:elderly, 2026-12-01 09:00." in later.stdout and "scheduled" in later.stdout
    )
    cancelled = _run(["broadcast", "--cancel", "1"], sqlite_url)
    assert "1 message(s) will not be sent" in cancelled.stdout
    progress = _run(["broadcast", "--progress", "1"], sqlite_url)
    assert "cancelled" in progress.stdout
    bad = _run(["broadcast", "--text", "x", "--audience", "building:3"], sqlite_url)
    assert bad.returncode != 0 and "audience must be" in bad.stderr

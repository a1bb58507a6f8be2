"""The staff dashboard in a real browser (Debian's Chromium driven by Playwright): the first
admin logs in with the one-time password, changes it, finds the ticket a resident just filed
in the web chat, replies, and the reply arrives on the resident's chat page. Screenshots of
each step are saved under test-artifacts/dashboard/ (git-ignored)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.app import Runtime, create_web_app, ensure_first_admin
from tests.bot.test_browser import CHROMIUM, FLAGS, resident_files_a_complaint

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
REPLY = "您好，维修师傅明天上午到。"


@pytest.fixture
async def browser(runtime: Runtime) -> AsyncIterator[tuple[Any, str]]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is missing: browser tests skipped (.ci/run installs it)")
    from playwright.async_api import async_playwright

    server = TestServer(create_web_app(runtime), host="127.0.0.1")
    await server.start_server()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched, str(server.make_url("/"))
        await launched.close()
    await server.close()


async def test_staff_log_in_change_the_password_reply_and_the_resident_sees_it(
    browser: tuple[Any, str], runtime: Runtime
) -> None:
    launched, base = browser
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shown: list[str] = []
    await ensure_first_admin(runtime, shown.append)
    one_time = shown[0].split("one-time password ")[1].split("\n")[0]

    resident_context = await launched.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}
    )
    resident = await resident_context.new_page()
    await resident.goto(base)
    await resident_files_a_complaint(resident)

    staff_context = await launched.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    staff = await staff_context.new_page()
    await staff.goto(base + "staff/login")
    await staff.get_by_label("用户名").fill("admin")
    await staff.get_by_label("密码").fill(one_time)
    await staff.screenshot(path=ARTIFACTS / "1-login.png")
    await staff.get_by_role("button", name="登录").click()

    await staff.get_by_role("heading", name="修改密码").wait_for()
    assert await staff.get_by_text("这是一次性密码").count() == 1
    await staff.get_by_label("当前密码").fill(one_time)
    await staff.get_by_label("新密码（至少 8 位）").fill("lamp-post-2026")
    await staff.get_by_label("再次输入新密码").fill("lamp-post-2026")
    await staff.screenshot(path=ARTIFACTS / "2-password.png")
    await staff.get_by_role("button", name="保存新密码").click()

    await staff.get_by_role("heading", name="今日待办").wait_for()
    new_tickets = staff.locator("section", has=staff.get_by_role("heading", name="待签收的新事项"))
    link = new_tickets.get_by_role("link", name="T-")
    await link.wait_for()
    await staff.screenshot(path=ARTIFACTS / "3-today.png", full_page=True)
    number = await link.inner_text()
    await link.click()

    await staff.get_by_role("heading", name=f"{number} · 问题反映").wait_for()
    assert await staff.get_by_text("3号楼门口的路灯坏了一个星期").count() >= 1
    await staff.get_by_label("回复居民（居民会收到）").fill(REPLY)
    await staff.get_by_role("button", name="发送回复").click()
    await staff.locator("ol.timeline").get_by_text(REPLY).wait_for()
    await staff.screenshot(path=ARTIFACTS / "4-ticket.png", full_page=True)

    await resident.locator("#messages").get_by_text(REPLY).wait_for(timeout=15_000)
    await resident.screenshot(path=ARTIFACTS / "5-resident.png", full_page=True)
    delivered = await staff.reload()
    assert delivered is not None
    await staff.locator("ol.timeline").get_by_text("已送达").first.wait_for()
    for name in ("1-login", "2-password", "3-today", "4-ticket", "5-resident"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 1000

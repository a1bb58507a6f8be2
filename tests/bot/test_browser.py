"""The web chat in a real browser (Debian's Chromium driven by Playwright): what a resident
sees and taps on the page, against the real app and database."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.app import Runtime, build_runtime, create_web_app
from bot.config import Settings
from handlers.context import Services
from storage.clock import ManualClock
from storage.models import Resident, Ticket
from tests.chat import queue_staff_reply

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


@pytest.fixture
async def page(runtime: Runtime) -> AsyncIterator[Any]:
    async for tab in _chat_page(runtime):
        yield tab


@pytest.fixture
async def limited_page(
    settings: Settings, services: Services, clock: ManualClock
) -> AsyncIterator[Any]:
    """The chat page of a service that lets a resident send one message a second."""
    strict = settings.model_copy(update={"web_rate_per_minute": 60, "web_rate_burst": 1})
    runtime = await build_runtime(strict, upgrade=False, services=services, clock=clock)
    async for tab in _chat_page(runtime):
        yield tab
    await runtime.close()


async def _chat_page(runtime: Runtime) -> AsyncIterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is missing: browser tests skipped (.ci/run installs it)")
    from playwright.async_api import async_playwright

    server = TestServer(create_web_app(runtime), host="127.0.0.1")
    await server.start_server()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        tab = await context.new_page()
        await tab.goto(str(server.make_url("/")))
        yield tab
        await browser.close()
    await server.close()


async def resident_files_a_complaint(page: Any) -> Any:
    """On the chat page, report a broken street lamp step by step, as a resident would;
    returns the messages area."""
    messages = page.locator("#messages")
    await messages.get_by_text("隐私说明").wait_for()

    async def say(text: str) -> None:
        await page.locator("#input").fill(text)
        await page.locator("#input").press("Enter")

    async def tap(label: str) -> None:
        await page.get_by_role("button", name=label).last.click()

    await say("3号楼门口的路灯坏了一个星期")
    await messages.get_by_text("道路设施").last.wait_for()
    await tap("对")
    await messages.get_by_text("问题在哪里").wait_for()
    await say("和谐小区3号楼")
    await messages.get_by_text("和谐社区第一网格").wait_for()
    await tap("跳过")
    await messages.get_by_text("方便留个电话").wait_for()
    await tap("跳过")
    await tap("仅工作人员可见")
    await messages.get_by_text("请确认您要反映的问题").wait_for()
    await tap("确认提交")
    await messages.get_by_text("已受理").wait_for()
    return messages


async def test_a_resident_reports_a_problem_and_hears_back_from_staff(
    page: Any, runtime: Runtime
) -> None:
    messages = await resident_files_a_complaint(page)

    async with runtime.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        resident = (await session.execute(select(Resident))).scalar_one()
    assert ticket.summary == "3号楼门口的路灯坏了一个星期"
    assert await messages.get_by_text(ticket.number).count() >= 1

    await queue_staff_reply(
        runtime, resident, "您好，维修师傅明天上午到。", key=f"reply:{ticket.number}:1"
    )
    await messages.get_by_text("您好，维修师傅明天上午到。").wait_for(timeout=15_000)
    assert await messages.get_by_text("工作人员消息").count() == 1


async def test_a_message_refused_for_speed_is_sent_again_by_itself(limited_page: Any) -> None:
    page = limited_page
    messages = page.locator("#messages")
    await messages.get_by_text("隐私说明").wait_for()
    for text in ("社区食堂几点开门", "垃圾分类几点投放"):  # the second comes too fast
        await page.locator("#input").fill(text)
        await page.locator("#input").press("Enter")
        await page.wait_for_function(
            "() => document.querySelector('#send-btn').getAttribute('aria-disabled') !== 'true'"
        )
    await messages.get_by_text("秒后自动重新发送").first.wait_for(timeout=15_000)
    await messages.get_by_text("垃圾").last.wait_for(timeout=15_000)
    bot_texts = await page.locator(".msg--bot").all_inner_texts()
    assert sum("垃圾" in t for t in bot_texts) >= 1  # the bot answered the resent question


async def test_resident_text_is_shown_as_text_never_as_markup(page: Any) -> None:
    messages = page.locator("#messages")
    await messages.get_by_text("隐私说明").wait_for()
    await page.locator("#input").fill("<b>粗体</b><img src=x onerror=alert(1)>")
    await page.locator("#send-btn").click()
    await messages.get_by_text("<b>粗体</b>", exact=False).first.wait_for()
    assert await page.locator("#messages b").count() == 0
    assert await page.locator("#messages img").count() == 0


async def test_switching_to_english_changes_the_page(page: Any) -> None:
    await page.locator("#messages").get_by_text("隐私说明").wait_for()
    await page.get_by_role("button", name="语言 / Language").last.click()
    await page.get_by_role("button", name="English").last.click()
    await page.locator("#messages").get_by_text("in English from now on").wait_for()
    assert await page.locator("html").get_attribute("lang") == "en"
    assert await page.locator("#send-btn").inner_text() == "Send"

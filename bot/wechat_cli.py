"""`linli wechat menu`: publish the 公众号's custom menu from the knowledge file."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.config import Settings
from knowledge.faq import KnowledgeError
from knowledge.wechat_menu import actions, load_menu, menu_path
from storage.clock import Clock


def add_parser(commands: Any) -> None:
    """The `wechat` sub-commands of `linli`."""
    wechat = commands.add_parser("wechat", help="the WeChat Official Account (公众号) channel")
    sub = wechat.add_subparsers(dest="wechat_command", required=True)
    menu = sub.add_parser("menu", help="publish the custom menu from wechat_menu.yaml")
    menu.add_argument("--dry-run", action="store_true", help="check and print it, do not publish")


def summary(menu: dict[str, Any]) -> str:
    """The menu in one line: 反映问题 / 议事厅 / 便民服务 (办事指南, 我的工单)."""
    parts = []
    for button in menu["button"]:
        subs = [s["name"] for s in button.get("sub_button", [])]
        parts.append(button["name"] + (f" ({', '.join(subs)})" if subs else ""))
    return " / ".join(parts)


def _checked_menu(settings: Settings) -> dict[str, Any]:
    from handlers.registry import ACTIONS

    try:
        menu = load_menu(settings.knowledge_dir)
    except KnowledgeError as error:
        raise SystemExit(str(error)) from None
    unknown = [a for a in actions(menu) if a not in ACTIONS and a.split(":")[0] not in ACTIONS]
    if unknown:
        raise SystemExit(f"{menu_path(settings.knowledge_dir)}: unknown actions {unknown}")
    return menu


async def run(settings: Settings, args: argparse.Namespace, clock: Clock) -> None:
    """Carry out one `linli wechat` call."""
    menu = _checked_menu(settings)
    if args.dry_run:
        print(json.dumps(menu, ensure_ascii=False, indent=2))
        return
    if not settings.wechat_enabled:
        raise SystemExit("set LINLI_WECHAT_TOKEN, LINLI_WECHAT_APPID and LINLI_WECHAT_SECRET")
    from bot.channels.wechat_api import WeChatError, from_settings
    from storage import db, migrate

    engine = db.create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        # The token comes from the database the workers share, so publishing never
        # invalidates the token the running service holds.
        api = from_settings(settings, db.session_factory(engine), clock)
        try:
            answer = await api.create_menu(menu)
        except WeChatError as error:
            raise SystemExit(
                f"no access_token from WeChat: {error.errcode} {error.errmsg}"
            ) from None
        finally:
            await api.close()
    finally:
        await engine.dispose()
    if not answer.ok:
        raise SystemExit(f"WeChat refused the menu: {answer.errcode} {answer.errmsg}")
    print(f"Published the WeChat menu: {summary(menu)}")

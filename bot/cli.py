"""The `linli` command: serve, chat, route and database administration."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from storage.clock import Clock


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linli", description="Linli community chat-bot service")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service (web chat, outbox, channels)")
    serve.add_argument("--role", choices=("all", "web", "scheduler"), default="all")

    chat = commands.add_parser("chat", help="chat with the bot in this terminal")
    chat.add_argument("--user", default="local", help="console resident id (default: local)")
    chat.add_argument("--lang", choices=("zh", "en"), default=None)
    chat.add_argument("--json", action="store_true", help="JSON lines in and out")

    route = commands.add_parser("route", help="print the routing decision for messages")
    route.add_argument("text", nargs="?", help="the message; without it, one per stdin line")
    route.add_argument("--json", action="store_true")

    ask = commands.add_parser("ask", help="search the FAQ knowledge base")
    ask.add_argument("text", nargs="?", help="the question; without it, one per stdin line")
    ask.add_argument("--json", action="store_true")
    ask.add_argument("-k", type=int, default=3, help="how many entries (default 3)")

    staff = commands.add_parser("staff", help="manage staff accounts")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_commands.add_parser("add", help="add a staff account")
    add.add_argument("name", help="login name")
    add.add_argument("--role", choices=("admin", "staff", "counselor", "grid"), required=True)
    add.add_argument("--telegram-id", type=int, help="numeric Telegram user id")
    add.add_argument("--grid", help="the grid of a grid worker (e.g. hx-1)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    notice = commands.add_parser("broadcast", help="send a notice to many residents")
    notice.add_argument("--text", help="the notice")
    notice.add_argument("--audience", default="all", help="all, grid:<id> or tag:<name>")
    notice.add_argument("--at", help='send later, local time "YYYY-MM-DD HH:MM"')
    notice.add_argument("--wait", action="store_true", help="show progress until it is out")
    notice.add_argument("--progress", type=int, metavar="ID", help="show a notice's progress")
    notice.add_argument("--cancel", type=int, metavar="ID", help="stop a notice")

    survey = commands.add_parser("survey", help="surveys (问卷): define one, read its results")
    survey_commands = survey.add_subparsers(dest="survey_command", required=True)
    survey_add = survey_commands.add_parser("add", help="define a survey from a YAML file")
    survey_add.add_argument("file", help="the survey definition (see docs/survey-example.yaml)")
    results = survey_commands.add_parser("results", help="response rate and answers")
    results.add_argument("id", type=int, help="the survey's id (printed by `survey add`)")
    results.add_argument("--format", choices=("text", "csv", "xlsx"), default="text")
    results.add_argument("--out", help="the file to write (csv and xlsx)")

    from bot.topic_cli import add_parser as add_topic_parser

    add_topic_parser(commands)

    from bot.report_cli import add_parser as add_report_parser
    from bot.token_cli import add_parser as add_token_parser

    add_report_parser(commands)
    add_token_parser(commands)

    from bot.wechat_cli import add_parser as add_wechat_parser

    add_wechat_parser(commands)

    database = commands.add_parser("db", help="database administration")
    db_commands = database.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `linli` console script."""
    args = _parser().parse_args(argv)
    settings = Settings()
    from bot import logs

    # Plain lines or JSON (LINLI_LOG_FORMAT), scrubbed of resident text, phones and secrets.
    logs.configure(level=settings.log_level, fmt=settings.log_format, stream=sys.stderr)
    if args.command == "route":
        return _route(settings, args.text, as_json=args.json)
    if args.command == "ask":
        return _ask(settings, args.text, as_json=args.json, k=args.k)
    try:
        asyncio.run(_async_main(args, settings))
    except KeyboardInterrupt:
        return 130
    return 0


# `linli <command>` → the module whose `run(settings, args)` carries it out.
SUBCOMMANDS = {
    "broadcast": "bot.broadcast_cli",
    "survey": "bot.survey_cli",
    "topic": "bot.topic_cli",
    "report": "bot.report_cli",
    "token": "bot.token_cli",
    "wechat": "bot.wechat_cli",
}


async def _async_main(args: argparse.Namespace, settings: Settings) -> None:
    from bot import app
    from storage.clock import Clock

    clock = Clock()  # this process's one clock

    if args.command == "serve":
        await app.serve(settings, role=args.role, out=sys.stdout, clock=clock)
    elif args.command == "chat":
        await _chat(settings, clock, user=args.user, locale=args.lang, json_mode=args.json)
    elif args.command in SUBCOMMANDS:  # each in a module of its own, imported when used
        module = importlib.import_module(SUBCOMMANDS[args.command])
        await module.run(settings, args, clock)
    elif args.command == "staff":
        await _add_staff(settings, args, clock)
    elif args.command == "db":
        from storage import db, migrate

        engine = db.create_engine(settings.database_url)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()
        print(f"Database is up to date: {settings.database_url_safe}")


async def _add_staff(settings: Settings, args: argparse.Namespace, clock: Clock) -> None:
    import getpass

    from bot.passwords import MIN_LENGTH, hash_password
    from storage import db, migrate, staff

    if args.role == "grid" and not args.grid:
        raise SystemExit("a grid worker needs --grid")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.name} (at least {MIN_LENGTH} characters): ")
    if len(password) < MIN_LENGTH:
        raise SystemExit(f"the password needs at least {MIN_LENGTH} characters")
    engine = db.create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        sessions = db.session_factory(engine)
        async with sessions.begin() as session:
            if await staff.get_staff_by_username(session, args.name) is not None:
                raise SystemExit(f"there is already a staff account {args.name!r}")
            await staff.create_staff(
                session,
                username=args.name,
                role=args.role,
                password_hash=hash_password(password),
                now=clock(),
                telegram_id=args.telegram_id,
                grid=args.grid,
            )
    finally:
        await engine.dispose()
    print(f"Added {args.role} {args.name!r}.")


async def _chat(
    settings: Settings, clock: Clock, *, user: str, locale: str | None, json_mode: bool
) -> None:
    from bot.app import build_runtime
    from bot.channels.console import ConsoleChat

    runtime = await build_runtime(settings, clock=clock)
    try:
        console = ConsoleChat(
            runtime.engine,
            runtime.sessions,
            clock=runtime.clock,
            user=user,
            locale=locale,
            json_mode=json_mode,
            out=sys.stdout,
        )
        await console.run(sys.stdin)
    finally:
        await runtime.close()


def _lines(text: str | None) -> Iterable[str]:
    return [text] if text is not None else (line.rstrip("\n") for line in sys.stdin)


def _route(settings: Settings, text: str | None, *, as_json: bool) -> int:
    from bot.app import build_services
    from bot.topic_cli import open_topics_matcher
    from handlers.router import understand
    from knowledge.topic_match import with_topic
    from storage.clock import Clock

    services = build_services(settings)
    topics = open_topics_matcher(
        settings, services, Clock()
    )  # for `topic_id`; None without a database
    for line in _lines(text):
        decision = with_topic(understand(services, line), topics)
        if as_json:
            print(json.dumps(decision.as_dict(), ensure_ascii=False), flush=True)
        else:
            fields = decision.as_dict()
            shown = " ".join(f"{k}={v}" for k, v in fields.items() if k != "text" and v is not None)
            print(f"{line}\t{shown}", flush=True)
    return 0


def _ask(settings: Settings, text: str | None, *, as_json: bool, k: int) -> int:
    from bot.app import build_services
    from handlers.faq import ANSWER_CONFIDENCE

    services = build_services(settings)
    for line in _lines(text):
        matches = services.faq.search(line, k=k)
        if as_json:
            found = [
                {
                    "faq_id": m.entry.id,
                    "question": m.entry.question.zh,
                    "score": m.score,
                    "confidence": m.confidence,
                    "answered": m.confidence >= ANSWER_CONFIDENCE,
                }
                for m in matches
            ]
            print(json.dumps({"text": line, "matches": found}, ensure_ascii=False), flush=True)
            continue
        print(line)
        if not matches:
            print("  (no entry)")
        for m in matches:
            mark = "✓" if m.confidence >= ANSWER_CONFIDENCE else " "
            print(
                f"  {mark} {m.entry.id:<20} confidence={m.confidence:.2f} score={m.score:.2f}"
                f"  {m.entry.question.zh}"
            )
    return 0

"""`linli token`: REST API tokens of staff members — add (the token is printed once),
revoke and list."""

from __future__ import annotations

import argparse
from typing import Any

from bot.config import Settings
from storage import api_tokens, db, migrate, staff
from storage.clock import Clock


def add_parser(commands: Any) -> None:
    """The `token` sub-commands of `linli`."""
    token = commands.add_parser("token", help="REST API tokens of staff members")
    sub = token.add_subparsers(dest="token_command", required=True)
    add = sub.add_parser("add", help="a new token acting as USERNAME; printed once")
    add.add_argument("username", help="the staff member's login name")
    add.add_argument("--name", help="what the token is for (e.g. city-platform)")
    revoke = sub.add_parser("revoke", help="stop a token from working")
    revoke.add_argument("id", type=int, help="the token's id (see `linli token list`)")
    sub.add_parser("list", help="every token: id, staff member, name, last use")


async def run(settings: Settings, args: argparse.Namespace, clock: Clock) -> None:
    """Carry out one `linli token` call."""
    engine = db.create_engine(settings.database_url)
    sessions = db.session_factory(engine)
    try:
        await migrate.upgrade(engine)
        async with sessions.begin() as session:
            now = clock()
            if args.token_command == "add":
                member = await staff.get_staff_by_username(session, args.username)
                if member is None:
                    raise SystemExit(f"there is no staff account {args.username!r}")
                if not member.active:
                    raise SystemExit(f"the staff account {args.username!r} is disabled")
                made = await api_tokens.create(
                    session, staff=member, name=args.name or "api", now=now
                )
                print(f"Token {made.row.id} for {member.username} ({member.role}); it is shown "
                      "only now, keep it secret:")  # fmt: skip
                print(made.secret)
            elif args.token_command == "revoke":
                row = await api_tokens.revoke(session, token_id=args.id, now=now)
                if row is None:
                    raise SystemExit(f"there is no token {args.id}")
                print(f"Token {row.id} ({row.name}) is revoked.")
            else:
                _print(settings, await api_tokens.listing(session))
    finally:
        await engine.dispose()


def _print(settings: Settings, rows: list[tuple[Any, Any]]) -> None:
    if not rows:
        print("No API tokens.")
    for token, member in rows:
        used = token.last_used_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if (
            token.last_used_at) else "never"  # fmt: skip
        state = "revoked" if token.revoked_at is not None else "active"
        print(f"{token.id}\t{member.username} ({member.role})\t{token.name}\t"
              f"{token.prefix}…\t{state}\tlast used {used}")  # fmt: skip

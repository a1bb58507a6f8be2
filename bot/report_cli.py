"""`linli report`: the monthly statistics report as Markdown (stdout or a file) or XLSX."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from handlers.i18n import LOCALES
from storage import db, migrate
from storage.clock import Clock


def add_parser(commands: Any) -> None:
    """The `report` sub-command of `linli`."""
    report = commands.add_parser("report", help="the monthly statistics report (月度统计报告)")
    report.add_argument("--month", required=True, help="the month, YYYY-MM")
    report.add_argument("--format", choices=("md", "xlsx"), default="md")
    report.add_argument("--out", type=Path, help="the file to write (needed for xlsx)")
    report.add_argument("--lang", choices=LOCALES, default="zh", help="labels (default zh)")
    report.add_argument("--grid", help="ticket figures of one grid only")


async def run(settings: Settings, args: argparse.Namespace, clock: Clock) -> None:
    """Carry out one `linli report` call."""
    from bot.app import build_services
    from bot.report import download

    if args.format == "xlsx" and args.out is None:
        raise SystemExit("--format xlsx needs --out FILE")
    services = build_services(settings)
    engine = db.create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        try:
            made = await download(
                db.session_factory(engine), services, args.month, fmt=args.format,
                locale=args.lang, grid=args.grid, now=clock(),
            )  # fmt: skip
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
    finally:
        await engine.dispose()
    if args.out is None:
        sys.stdout.write(made.content.decode("utf-8"))
        return
    args.out.write_bytes(made.content)
    print(f"Wrote the report of {args.month} to {args.out}.")

"""The instant every test's clock starts from, chosen so that no test depends on the day it
runs, the hour in China or a year "far away"."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from storage.clock import ManualClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
# An ordinary working Thursday morning: weeks before any holiday, inside office hours.
START = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
# `python tests/at.py INSTANT ARGS…` runs the `linli` command at INSTANT, from any directory.
AT = Path(__file__).with_name("at.py")
# The time of the `linli` processes the tests start: from START on, running with real time,
# so a command started after another one sees a later instant.
COMMANDS = ManualClock(START)


def linli() -> list[str]:
    """The `linli` command line, pinned to the commands' clock at this moment."""
    return [sys.executable, str(AT), COMMANDS().isoformat()]

"""Run the `linli` command as if it were another instant, for tests that drive it as a
subprocess: `python tests/at.py 2026-11-26T10:00+08:00 chat --json`. The process's clock
starts at that instant and runs on (time-machine), whatever the machine's date."""

from __future__ import annotations

import sys

import time_machine

from bot.cli import main

if __name__ == "__main__":
    with time_machine.travel(sys.argv[1], tick=True):
        sys.exit(main(sys.argv[2:]))

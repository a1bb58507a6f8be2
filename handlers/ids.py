"""Numbers from outside — a button's action, a URL, a form — checked before they reach the
database. Row ids are PostgreSQL `integer`s (1 to 2³¹−1): a number beyond that names no row,
and sent to the database it would overflow the column instead of finding nothing, so it is
refused like any other id that names nothing."""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1
WHOLE = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: int() would also take "١٢" and "1_2"
LONGEST = 30  # digits; a longer number is beyond every range used here (and int() may refuse it)


class BadNumber(ValueError):
    """Not a whole number in ASCII digits (`malformed`), or one outside the range asked for."""

    def __init__(self, value: str, *, malformed: bool) -> None:
        super().__init__(f"{'not a whole number' if malformed else 'out of range'}: {value[:40]!r}")
        self.malformed = malformed


def whole(value: str, *, low: int = 1, high: int = MAX_ID) -> int:
    """`value` as a whole number from `low` to `high` (ASCII digits with an optional sign,
    blanks around allowed); BadNumber otherwise. By default: a row id."""
    text = value.strip()
    if not WHOLE.fullmatch(text):
        raise BadNumber(value, malformed=True)
    if len(text.lstrip("+-").lstrip("0")) > LONGEST or not low <= int(text) <= high:
        raise BadNumber(value, malformed=False)
    return int(text)


def row_id(value: str) -> int | None:
    """The row id written in `value`, or None when no row can have it."""
    try:
        return whole(value)
    except BadNumber:
        return None

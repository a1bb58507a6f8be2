"""Taking personal details out of resident text before it leaves the community (Open311
export): phone numbers, long digit runs (ID cards, bank cards), e-mail addresses and the
names the service knows."""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

from handlers.phone import REGION

MASK = "***"
_DIGITS = re.compile(r"(?<![0-9])[0-9][0-9 \-]{5,}[0-9xX](?![0-9])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def redact(text: str, *, names: Iterable[str] = ()) -> str:
    """`text` with phone numbers, digit runs of 7 or more, e-mail addresses and `names`
    replaced by ***."""
    spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(text, REGION)]
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + MASK + text[end:]
    text = _EMAIL.sub(MASK, text)
    text = _DIGITS.sub(
        lambda m: MASK if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), text
    )
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len,
                       reverse=True):  # fmt: skip
        text = text.replace(name, MASK)
    return text

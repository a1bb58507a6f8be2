"""Phone numbers residents give for a ticket: validated, stored in one form, shown masked."""

from __future__ import annotations

import phonenumbers

REGION = "CN"


def parse_phone(text: str) -> str | None:
    """The number in E.164 form (+8613812345678) if `text` is a valid phone number."""
    try:
        number = phonenumbers.parse(text.strip(), REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """The number with its middle hidden, as shown anywhere outside a deliberate reveal:
    +8613812345678 → 138****5678."""
    digits = e164.removeprefix("+86")
    if len(digits) <= 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"

"""Staff passwords: argon2id hashes, a minimum length, and one-time passwords."""

from __future__ import annotations

import pytest

from bot.passwords import hash_password, one_time_password, verify_password


def test_a_password_is_hashed_with_argon2id_and_verified() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$") and "correct" not in hashed
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "wrong horse battery")
    assert not verify_password("not a hash", "correct horse battery")


def test_short_passwords_are_refused_and_one_time_ones_are_long_and_random() -> None:
    with pytest.raises(ValueError):
        hash_password("short")
    first, second = one_time_password(), one_time_password()
    assert first != second and len(first) >= 12

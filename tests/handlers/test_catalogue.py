"""The text catalogue: both languages complete, every key the code uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from handlers.i18n import Texts, pick_locale

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
LITERAL = re.compile(r'"([a-z_]+\.[a-z_.]+)"')


def test_every_key_used_in_the_code_exists_in_both_languages() -> None:
    texts = Texts.load()
    sections = {key.split(".")[0] for key in texts.all_keys()}
    used = {
        key
        for path in HANDLERS.rglob("*.py")
        for key in LITERAL.findall(path.read_text("utf-8"))
        if key.split(".")[0] in sections
    }
    assert len(used) > 50
    assert used - texts.all_keys() == set()


def test_both_catalogues_have_the_same_keys_and_no_empty_text() -> None:
    texts = Texts.load()  # raises when the key sets differ
    for key in texts.all_keys():
        assert texts.get("zh", key).strip() and texts.get("en", key).strip(), key


def test_locale_hints() -> None:
    assert pick_locale("en-US") == "en"
    assert pick_locale("zh-hans") == "zh"
    assert pick_locale("fr") == "zh"
    assert pick_locale(None) == "zh"

"""Text normalisation and fast term matching shared by the crisis screen and the router."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

# CJK ideographs (basic, extension A, compatibility) — runs of these are "words" to keep glued.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Whitespace / punctuation / symbols between two CJK characters are dropped ("自 杀", "自-杀"),
# but book-title brackets are kept because the crisis screen uses them to neutralise titles.
_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])(?:[^\w《》]|_)+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_LATIN_CHAR = re.compile("[a-z0-9]")
# Escapes (\d, \?), counted repeats ({0,8}) and guards — syntax, not text a pattern needs.
_REGEX_SYNTAX = re.compile(r"\\.|\{\d*,?\d*\}|\(\?<?[!=]\[[^\]]*\]\)")
# Characters NFKC leaves alone but residents type interchangeably.
_EXTRA = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u3000": " ",
        "\u200b": "",
        "\u200c": "",
        "\u200d": "",
        "\ufeff": "",
        "\u3002": ".",
        "\uff61": ".",
        "\u3001": ",",
    }
)
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_REGEX_META = frozenset(".^$*+?{}[]\\|()")


def normalize(text: str) -> str:
    """Fold width and case and glue CJK words so that spaced-out or punctuated terms match."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_EXTRA)
        text = _BETWEEN_CJK.sub("", text)
    text = text.lower()
    return _SPACES.sub(" ", text).strip()


def char_table(variants: Mapping[str, str]) -> dict[int, str]:
    """Build a str.translate table from one-character variants (traditional → simplified)."""
    table: dict[int, str] = {}
    for src, dst in variants.items():
        for s_char in str(src):
            table[ord(s_char)] = str(dst)
    return table


def is_literal(pattern: str) -> bool:
    """Tell whether a lexicon entry is a plain word (no regular-expression syntax)."""
    return not any(ch in _REGEX_META for ch in pattern)


def _script(pattern: str) -> str:
    """Which script a regex entry needs to match: "cjk", "latin" or "any" (when unsure)."""
    if pattern[:1] in _ASCII_ALNUM:
        return "latin"  # it starts with a Latin letter or digit
    # Every alternative must hold a literal of one script and none of the other.
    pieces = _REGEX_SYNTAX.sub("", pattern).split("|")
    if all(_CJK_CHAR.search(piece) and not _LATIN_CHAR.search(piece) for piece in pieces):
        return "cjk"
    if all(_LATIN_CHAR.search(piece) and not _CJK_CHAR.search(piece) for piece in pieces):
        return "latin"
    return "any"


def _guard(pattern: str) -> str:
    """Add Latin word boundaries that also work next to CJK characters (\\b does not)."""
    if pattern[:1] in _ASCII_ALNUM:
        pattern = "(?<![a-z0-9])" + pattern
    if pattern[-1:] in _ASCII_ALNUM and not pattern.endswith(("\\d", "\\w")):
        pattern = pattern + "(?![a-z0-9])"
    return pattern


class TermMatcher:
    """Find every occurrence (overlaps included) of many words and patterns in one pass."""

    __slots__ = ("_by_one", "_by_two", "_regexes")

    def __init__(self, patterns: Sequence[str]) -> None:
        """Compile literal entries into a prefix dictionary and the rest into one regex."""
        by_one: dict[str, list[tuple[str, int, bool, bool]]] = {}
        by_two: dict[str, list[tuple[str, int, bool, bool]]] = {}
        regexes: list[tuple[re.Pattern[str], int, str]] = []
        for index, raw in enumerate(patterns):
            pattern = normalize_pattern(raw)
            if not pattern:
                continue
            if is_literal(pattern):
                entry = (
                    pattern,
                    index,
                    pattern[0] in _ASCII_ALNUM,
                    pattern[-1] in _ASCII_ALNUM,
                )
                bucket = by_one if len(pattern) == 1 else by_two
                bucket.setdefault(pattern[:2], []).append(entry)
            else:
                regexes.append((re.compile(_guard(pattern)), index, _script(pattern)))
        self._by_one = by_one
        self._by_two = by_two
        # Regexes are split by the script they need, so a Chinese message never pays for the
        # English patterns and vice versa (one combined regex per bucket, not one per entry).
        buckets: dict[str, list[tuple[re.Pattern[str], int]]] = {"cjk": [], "latin": [], "any": []}
        for rx, index, script in regexes:
            buckets[script].append((rx, index))
        self._regexes = {
            name: (re.compile("|".join(rx.pattern for rx, _ in members)), tuple(members))
            for name, members in buckets.items()
            if members
        }

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """Return (start, end, entry index) for every match in already-normalised text."""
        hits: list[tuple[int, int, int]] = []
        by_one, by_two = self._by_one, self._by_two
        size = len(text)
        for i in range(size):
            for bucket in (by_one.get(text[i]), by_two.get(text[i : i + 2])):
                if not bucket:
                    continue
                for term, index, latin_start, latin_end in bucket:
                    if not text.startswith(term, i):
                        continue
                    end = i + len(term)
                    if latin_start and i > 0 and text[i - 1] in _ASCII_ALNUM:
                        continue
                    if latin_end and end < size and text[end] in _ASCII_ALNUM:
                        continue
                    hits.append((i, end, index))
        for name, (combined, members) in self._regexes.items():
            if name == "cjk" and not _CJK_CHAR.search(text):
                continue
            if name == "latin" and not _LATIN_CHAR.search(text):
                continue
            found = combined.search(text)
            while found is not None:
                pos = found.start()
                for rx, index in members:
                    m = rx.match(text, pos)
                    if m is not None and m.end() > pos:
                        hits.append((pos, m.end(), index))
                found = combined.search(text, pos + 1)
        return hits


def normalize_pattern(pattern: str) -> str:
    """Normalise a lexicon entry the same way as resident text (case, width, CJK gluing)."""
    pattern = str(pattern).strip()
    if is_literal(pattern):
        return normalize(pattern)
    # Regex syntax must survive; only fold case and width.
    return unicodedata.normalize("NFKC", pattern).lower()


def flatten(values: Iterable[object]) -> list[str]:
    """Turn a YAML list (possibly nested or holding numbers) into a flat list of strings."""
    out: list[str] = []
    for value in values:
        if isinstance(value, list | tuple):
            out.extend(flatten(value))
        elif value is not None and str(value).strip():
            out.append(str(value))
    return out

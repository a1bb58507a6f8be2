"""Text normalisation and fast term matching shared by the crisis screen and the router."""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

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


def normalize(text: str, convert: Callable[[str], str] | None = None) -> str:
    """Fold width and case and glue CJK words so that spaced-out or punctuated terms match.

    `convert`, when given, runs on non-ASCII text after width folding and gluing — the crisis
    screen passes OpenCC's traditional → simplified converter here (built once, at load time).
    """
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_EXTRA)
        text = _BETWEEN_CJK.sub("", text)
        if convert is not None:
            text = convert(text)
    text = text.lower()
    return _SPACES.sub(" ", text).strip()


def char_table(variants: Mapping[str, str]) -> dict[int, str]:
    """Build a str.translate table from one-character variants (e.g. dialect → Mandarin)."""
    table: dict[int, str] = {}
    for src, dst in variants.items():
        for s_char in str(src):
            table[ord(s_char)] = str(dst)
    return table


def is_literal(pattern: str) -> bool:
    """Tell whether a lexicon entry is a plain word (no regular-expression syntax)."""
    return not any(ch in _REGEX_META for ch in pattern)


def pattern_script(pattern: str) -> str:
    """Which script a lexicon regex needs to match: "cjk", "latin" or "any"."""
    return _script(normalize_pattern(pattern))


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


_WORD_START = "(?<![a-z0-9])"


def _guard(pattern: str) -> str:
    """Add Latin word boundaries that also work next to CJK characters (\\b does not)."""
    first = first_chars(pattern)
    if pattern[:1] in _ASCII_ALNUM or (first and first <= _ASCII_ALNUM):
        # Every way the entry can start is a Latin letter or digit: it starts a word.
        pattern = _WORD_START + pattern
    if pattern[-1:] in _ASCII_ALNUM and not pattern.endswith(("\\d", "\\w")):
        pattern = pattern + "(?![a-z0-9])"
    return pattern


# Python's own regex parser: used at load time to find which characters a pattern can start
# with, so that a long alternation of patterns is only tried where one of them can match.
_sre: Any = importlib.import_module("re._parser")
_OP: Any = importlib.import_module("re._constants")
_ZERO_WIDTH = frozenset(("AT", "ASSERT", "ASSERT_NOT"))
_REPEATS = frozenset(("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"))
_MAX_RANGE = 4096


def first_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match of `pattern` can start with, or None when that is not known.

    None is returned for patterns that can match the empty string or start with ".", "\\w",
    a negated set and the like; callers must then try the pattern everywhere.
    """
    try:
        found = _first(list(_sre.parse(pattern)))
    except Exception:
        return None
    if found is None or found[1]:
        return None
    return frozenset(found[0])


def _first(items: list[Any]) -> tuple[set[str], bool] | None:
    """(possible first characters, can match empty) for parsed regex items; None if unknown."""
    chars: set[str] = set()
    for op, av in items:
        name = str(op)
        if name in _ZERO_WIDTH:
            continue
        if name == "LITERAL":
            chars.add(chr(av))
            return chars, False
        if name == "IN":
            in_set = _in_set(av)
            if in_set is None:
                return None
            return chars | in_set, False
        if name in ("SUBPATTERN", "ATOMIC_GROUP"):
            sub = _first(list(av[-1] if name == "SUBPATTERN" else av))
        elif name == "BRANCH":
            sub = (set(), False)
            for branch in av[1]:
                part = _first(list(branch))
                if part is None:
                    return None
                sub = (sub[0] | part[0], sub[1] or part[1])
        elif name in _REPEATS:
            part = _first(list(av[2]))
            sub = None if part is None else (part[0], part[1] or av[0] == 0)
        else:
            return None
        if sub is None:
            return None
        chars |= sub[0]
        if not sub[1]:
            return chars, False
    return chars, True


def _in_set(items: list[Any]) -> set[str] | None:
    """Characters of a [...] set; None for negated sets, categories or huge ranges."""
    chars: set[str] = set()
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            chars.add(chr(av))
        elif name == "RANGE" and av[1] - av[0] <= _MAX_RANGE:
            chars.update(chr(code) for code in range(av[0], av[1] + 1))
        else:
            return None
    return chars


# A bucket of regex entries: combined regex, its members, and members by first character.
_Member = tuple[re.Pattern[str], int]
_Bucket = tuple[re.Pattern[str], tuple[_Member, ...], dict[str, tuple[_Member, ...]] | None]


def prefilter(patterns: Sequence[str]) -> str:
    """A lookahead that fails fast where none of `patterns` can start ("" when unknown)."""
    chars: set[str] = set()
    for pattern in patterns:
        first = first_chars(pattern)
        if first is None:
            return ""
        chars |= first
    if not chars:
        return ""
    return "(?=[" + "".join(re.escape(ch) for ch in sorted(chars)) + "])"


class TermMatcher:
    """Find every occurrence (overlaps included) of many words and patterns in one pass."""

    __slots__ = ("_by_one", "_by_two", "_regexes", "_starts")

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
        # Where a literal entry can start: a Latin first letter only at the start of a word, any
        # other first character anywhere. The regex finds those positions at C speed.
        firsts = {key[0] for key in (*by_one, *by_two)}
        latin = "".join(re.escape(ch) for ch in sorted(firsts & _ASCII_ALNUM))
        other = "".join(re.escape(ch) for ch in sorted(firsts - _ASCII_ALNUM))
        starts = [f"{_WORD_START}[{latin}]" if latin else "", f"[{other}]" if other else ""]
        self._starts = re.compile("|".join(part for part in starts if part) or "(?!x)x")
        # Regexes are split by the script they need, so a Chinese message never pays for the
        # English patterns and vice versa (one combined regex per bucket, not one per entry).
        # Within a bucket, members whose first characters are known are only tried at positions
        # holding one of them; the combined regex gets a lookahead on that character set.
        buckets: dict[str, list[tuple[re.Pattern[str], int]]] = {}
        # Entries guarded to start a Latin word share the guard in front of the combined regex,
        # so the regex engine gives up at once in the middle of a word.
        for rx, index, script in regexes:
            known = "first" if first_chars(rx.pattern) is not None else "any"
            guarded = ":word" if rx.pattern.startswith(_WORD_START) else ""
            buckets.setdefault(f"{script}:{known}{guarded}", []).append((rx, index))
        self._regexes: dict[str, _Bucket] = {}
        for name, members in buckets.items():
            by_first: dict[str, list[tuple[re.Pattern[str], int]]] = {}
            for rx, index in members:
                for ch in first_chars(rx.pattern) or ():
                    by_first.setdefault(ch, []).append((rx, index))
            lookahead = prefilter([rx.pattern for rx, _ in members])
            by_char = by_first if lookahead else None
            if name.endswith(":word"):
                lookahead = _WORD_START + lookahead
            combined = re.compile(
                lookahead + "(?:" + "|".join(rx.pattern for rx, _ in members) + ")"
            )
            self._regexes[name] = (
                combined,
                tuple(members),
                None if by_char is None else {ch: tuple(found) for ch, found in by_char.items()},
            )

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """Return (start, end, entry index) for every match in already-normalised text."""
        hits: list[tuple[int, int, int]] = []
        by_one, by_two = self._by_one, self._by_two
        size = len(text)
        for start in self._starts.finditer(text):
            i = start.start()
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
        has_cjk = has_latin = True
        for name, (combined, members, by_first) in self._regexes.items():
            if name.startswith("cjk"):
                has_cjk = has_cjk and _CJK_CHAR.search(text) is not None
                if not has_cjk:
                    continue
            if name.startswith("latin"):
                has_latin = has_latin and _LATIN_CHAR.search(text) is not None
                if not has_latin:
                    continue
            found = combined.search(text)
            while found is not None:
                pos = found.start()
                candidates = members if by_first is None else by_first.get(text[pos], ())
                for rx, index in candidates:
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

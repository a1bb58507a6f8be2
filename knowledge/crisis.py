"""First crisis screen: finds suicide, self-harm, violence and third-party risk in resident text."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import opencc

from knowledge.data import load_yaml
from knowledge.normalize import (
    TermMatcher,
    char_table,
    flatten,
    normalize,
    pattern_script,
    prefilter,
)

if TYPE_CHECKING:
    from knowledge.crisis_model import CrisisModel

# imminent and high are definitive (the crisis path); possible asks the resident directly.
Severity = Literal["imminent", "high", "possible"]
DEFINITIVE = frozenset({"imminent", "high"})
CrisisKind = Literal["self", "domestic_violence", "others", "third_party"]

_CJK_CHAR = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
DEFAULT_LEXICON = Path(__file__).with_name("crisis_lexicon.yaml")

# Groups whose weights decide whether a message is a crisis at all.
RISK_GROUPS = (
    "ideation",
    "passive",
    "self_harm",
    "others",
    "domestic_violence",
    "third_party",
    "acute",
)
PLAN_GROUP = "plan"
ACT_GROUP = "act"
# Someone else is the subject ("我妈说…", "my friend texted…"): changes the kind, never the verdict.
REPORTED_GROUP = "reported"
# Risk groups about the person's own life; a weak one of these plus a plan is a crisis.
SELF_RISK_GROUPS = ("ideation", "passive", "self_harm")
KNOWN_GROUPS = frozenset((*RISK_GROUPS, PLAN_GROUP, ACT_GROUP, REPORTED_GROUP))
# Which kind wins when several fired: the reply variant for violence matters most.
KIND_ORDER: tuple[tuple[str, CrisisKind], ...] = (
    ("domestic_violence", "domestic_violence"),
    ("others", "others"),
    ("third_party", "third_party"),
    (REPORTED_GROUP, "third_party"),
)
# OpenCC configuration for traditional (incl. Taiwan/Hong Kong forms) → simplified.
OPENCC_CONFIG = "t2s"
MODEL_SIGNAL = "model"  # the learned detector flagged the message
# P(crisis) from the learned detector at which a message is `possible` (asked about
# directly) and `high` (the crisis path); tuned on the dev split (benchmarks/crisis_eval.py).
MODEL_THRESHOLDS = (0.7, 0.88)
# Messages shorter than this (prepared) are left to the lexicon: on two or three characters
# ("算了", "再见") the model has too little to go on and would ask people who meant nothing.
MODEL_MIN_CHARS = 4
WEIGHTS = {"terms": 1.0, "weak": 0.5}


@dataclass(frozen=True, slots=True)
class CrisisResult:
    """The crisis screen's verdict on one message."""

    severity: Severity | None
    kind: CrisisKind | None
    signals: tuple[str, ...]
    # How much risk the message carries, 0–1, flagged or not (conversation-level risk adds
    # up the unflagged ones).
    risk: float = 0.0

    @property
    def is_crisis(self) -> bool:
        """True when the message must take the crisis path (imminent or high)."""
        return self.severity in DEFINITIVE

    @property
    def flagged(self) -> bool:
        """True for any severity: a crisis, or risk enough to ask about it directly."""
        return self.severity is not None


NOT_CRISIS = CrisisResult(None, None, ())
DETECTOR_ERROR = CrisisResult("high", "self", ("detector_error",))


@dataclass(frozen=True, slots=True)
class _Entry:
    """One lexicon entry: its group, weight and an id used to count it once."""

    group: str
    weight: float
    entry_id: int


class CrisisScreen:
    """Data-driven crisis detector built from the staff-reviewed crisis lexicon."""

    __slots__ = (
        "_chars",
        "_convert",
        "_entries",
        "_exceptions",
        "_replacements",
        "_signals",
        "_subs",
        "_threshold",
        "model",
        "thresholds",
    )

    def __init__(
        self,
        *,
        char_variants: Mapping[str, str],
        substitutions: list[tuple[str, str]],
        exceptions: list[str],
        signals: Mapping[str, Mapping[str, list[str]]],
        threshold: float = 1.0,
        convert: Callable[[str], str] | None = None,
    ) -> None:
        """Compile a lexicon given as plain Python data (see crisis_lexicon.yaml).

        `convert` turns traditional into simplified characters; by default an OpenCC "t2s"
        converter is built here, once per screen. `char_variants` only holds what OpenCC
        leaves alone (Cantonese characters, a few variants).
        """
        self._convert = convert or opencc.OpenCC(OPENCC_CONFIG).convert
        self._chars = char_table(char_variants)
        # One pass over the text for all substitutions; the group name says which one matched.
        for pattern, _ in substitutions:
            _compile(pattern)
        # Chinese-only substitutions are skipped for text without Chinese characters, and a
        # lookahead on the characters the substitutions can start with makes the scan cheap.
        groups: dict[bool, list[str]] = {True: [], False: []}
        for i, (pattern, _) in enumerate(substitutions):
            groups[pattern_script(pattern) == "cjk"].append(f"(?P<s{i}>{pattern})")
        self._subs = tuple(
            (cjk_only, _compile(prefilter(members) + "(?:" + "|".join(members) + ")"))
            for cjk_only, members in groups.items()
            if members
        )
        self._replacements = {f"s{i}": replace for i, (_, replace) in enumerate(substitutions)}
        self._exceptions = TermMatcher(exceptions)
        patterns: list[str] = []
        entries: list[_Entry] = []
        for group, levels in signals.items():
            if group not in KNOWN_GROUPS:
                raise ValueError(f"unknown crisis signal group: {group!r}")
            for level, terms in levels.items():
                if level not in WEIGHTS:
                    raise ValueError(f"unknown weight level {level!r} in group {group!r}")
                for term in terms:
                    entries.append(_Entry(group, WEIGHTS[level], len(entries)))
                    patterns.append(term)
        self._entries = tuple(entries)
        self._signals = TermMatcher(patterns)
        self._threshold = threshold
        # The learned detector beside the lexicon (knowledge.crisis_model), and the
        # probabilities at which it flags a message as possible and as high risk.
        self.model: CrisisModel | None = None
        self.thresholds = MODEL_THRESHOLDS

    @classmethod
    def load(cls, path: Path | None = None) -> CrisisScreen:
        """Load the crisis lexicon (default: the packaged crisis_lexicon.yaml)."""
        source = path or DEFAULT_LEXICON
        with source.open(encoding="utf-8") as handle:
            data: Any = load_yaml(handle)
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a mapping at the top level")
        subs = [
            (str(item["pattern"]), str(item["replace"])) for item in data.get("substitutions") or []
        ]
        signals = {
            str(group): {str(level): flatten(terms or []) for level, terms in levels.items()}
            for group, levels in (data.get("signals") or {}).items()
        }
        return cls(
            char_variants={str(k): str(v) for k, v in (data.get("char_variants") or {}).items()},
            substitutions=subs,
            exceptions=flatten(data.get("exceptions") or []),
            signals=signals,
            threshold=float(data.get("threshold", 1.0)),
        )

    def prepare(self, text: str) -> str:
        """Normalise text the way the screen sees it (for staff debugging and tests)."""
        prepared = normalize(text, self._convert).translate(self._chars)
        has_cjk = not prepared.isascii() and _CJK_CHAR.search(prepared) is not None
        for cjk_only, subs in self._subs:
            if has_cjk or not cjk_only:
                prepared = subs.sub(self._replace, prepared)
        return prepared

    def _replace(self, match: re.Match[str]) -> str:
        """The replacement for whichever substitution matched."""
        return self._replacements[match.lastgroup or ""]

    def screen(self, text: str) -> CrisisResult:
        """Screen one message; never raises — an internal error counts as a crisis."""
        try:
            return self._screen(text)
        except Exception:
            return DETECTOR_ERROR

    def _screen(self, text: str) -> CrisisResult:
        """Match signals, drop the ones inside hyperbole/title/help-talk spans, then decide."""
        prepared = self.prepare(text)
        if not prepared:
            return NOT_CRISIS
        scores: dict[str, float] = {}
        spans = [(start, end) for start, end, _ in self._exceptions.find(prepared)]
        hits = self._signals.find(prepared)
        if hits:
            seen: set[int] = set()
            for start, end, index in hits:
                if index in seen or _neutralised(start, end, spans):
                    continue
                seen.add(index)
                entry = self._entries[index]
                scores[entry.group] = scores.get(entry.group, 0.0) + entry.weight
        lexical = self._decide(scores)
        if lexical.is_crisis:
            return replace(lexical, risk=1.0)
        if self.model is None or len(prepared.replace(" ", "")) < MODEL_MIN_CHARS:
            risk = sum(scores.get(group, 0.0) for group in RISK_GROUPS) / self._threshold
            return replace(lexical, risk=min(risk, 0.99))
        return self._with_model(prepared, scores, excepted=bool(spans))

    def _with_model(
        self, prepared: str, scores: Mapping[str, float], *, excepted: bool
    ) -> CrisisResult:
        """The union: what the lexicon did not flag, the model may. A plan, means or an act
        the lexicon saw makes a model flag imminent. Only the documented exceptions
        (hyperbole, idioms, negation: "想死你了", "我从来没想过自杀") lower a model flag, by one
        level, and only when no risk signal of the lexicon stands elsewhere in the message."""
        assert self.model is not None
        probability, kind = self.model.assess(prepared)
        possible, high = self.thresholds
        if excepted and not any(scores.get(group, 0.0) > 0.0 for group in RISK_GROUPS):
            possible, high = high, 1.01  # possible needs what high needed; never definitive
        if probability < possible:
            return replace(NOT_CRISIS, risk=probability)
        fired = (*(g for g in scores if scores[g] > 0.0), MODEL_SIGNAL)
        for group, candidate in KIND_ORDER:
            if scores.get(group, 0.0) > 0.0:
                kind = candidate
                break
        if probability < high:
            return CrisisResult("possible", kind, fired, probability)
        acting = scores.get(ACT_GROUP, 0.0) > 0.0 or scores.get(PLAN_GROUP, 0.0) > 0.0
        return CrisisResult("imminent" if acting else "high", kind, fired, probability)

    def _decide(self, scores: Mapping[str, float]) -> CrisisResult:
        """Turn group scores into severity, kind and the list of groups that fired."""
        act = scores.get(ACT_GROUP, 0.0) > 0.0
        risk = sum(scores.get(group, 0.0) for group in RISK_GROUPS)
        plan = scores.get(PLAN_GROUP, 0.0) >= self._threshold
        # A plan or means makes even a weak self-directed signal enough ("买了绳子，活够了").
        self_risk = sum(scores.get(group, 0.0) for group in SELF_RISK_GROUPS)
        planned = plan and self_risk >= self._threshold / 2
        if not act and not planned and risk < self._threshold:
            return NOT_CRISIS
        severity: Severity = "imminent" if act or plan else "high"
        kind: CrisisKind = "self"
        for group, candidate in KIND_ORDER:
            if scores.get(group, 0.0) > 0.0:
                kind = candidate
                break
        fired = tuple(
            group
            for group in (*RISK_GROUPS, PLAN_GROUP, ACT_GROUP, REPORTED_GROUP)
            if scores.get(group, 0.0) > 0.0
        )
        return CrisisResult(severity, kind, fired)


def _neutralised(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """A signal is neutralised by an exception it overlaps but does not fully contain."""
    for ex_start, ex_end in spans:
        if start < ex_end and ex_start < end and not (start <= ex_start and ex_end <= end):
            return True
    return False


def _compile(pattern: str) -> re.Pattern[str]:
    """Compile a lexicon regex, naming the entry in the error so staff can fix the file."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad pattern in crisis lexicon: {pattern!r}: {exc}") from exc

"""First keyword router: picks the route (complaint, faq, psych, …) for a resident's free text."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import opencc

from knowledge.crisis import OPENCC_CONFIG, CrisisScreen
from knowledge.data import load_yaml
from knowledge.normalize import TermMatcher, char_table, flatten, normalize

Intent = Literal[
    "crisis", "psych", "complaint", "faq", "deliberation", "status", "greeting", "other"
]
DEFAULT_INTENTS = Path(__file__).with_name("intents.yaml")
KEYWORD_INTENTS: tuple[Intent, ...] = ("greeting", "status", "deliberation", "psych", "other")
COMPLAINT_CATEGORIES = (
    "facilities",
    "sanitation",
    "property",
    "noise",
    "dispute",
    "construction",
    "safety",
    "other",
)
# On equal scores the more actionable route wins: a report beats a question beats small talk.
TIE_ORDER: tuple[Intent, ...] = (
    "status",
    "complaint",
    "deliberation",
    "psych",
    "faq",
    "greeting",
    "other",
)
DEFAULT_WEIGHTS = {"strong": 2.0, "normal": 1.0, "weak": 0.5}
# Cues alone (no topic / no category) are only a hint.
BARE_QUESTION_FACTOR = 0.5
BARE_PROBLEM_FACTOR = 0.8
MAX_CLASSIFY_CHARS = 4000
CHASING_STATUS = 2.0
MIN_BARE_QUESTION = 1.0
_HAS_WORD = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where one resident message goes, with how sure the router is."""

    text: str
    intent: Intent
    confidence: float
    category: str | None = None
    faq_id: str | None = None
    topic_id: int | None = None
    severity: str | None = None
    alternative: Intent | None = None  # a close second route, worth asking about

    def as_dict(self) -> dict[str, object]:
        """The decision as the JSON object printed by `linli route --json`."""
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "category": self.category,
            "faq_id": self.faq_id,
            "topic_id": self.topic_id,
            "severity": self.severity,
        }


class Router:
    """Keyword/pattern router built from intents.yaml, with the crisis screen in front."""

    __slots__ = ("_chars", "_convert", "_crisis", "_matcher", "_targets")

    def __init__(
        self,
        *,
        groups: Mapping[str, Mapping[str, list[str]]],
        weights: Mapping[str, float],
        char_variants: Mapping[str, str],
        crisis: CrisisScreen,
    ) -> None:
        """Compile keyword groups keyed "intent:…", "category:…", "faq:…" or "cue:…"."""
        patterns: list[str] = []
        targets: list[tuple[str, float]] = []
        for target, levels in groups.items():
            for level, terms in levels.items():
                if level not in weights:
                    raise ValueError(f"unknown weight level {level!r} for {target!r}")
                for term in terms:
                    patterns.append(term)
                    targets.append((target, float(weights[level])))
        self._matcher = TermMatcher(patterns)
        self._targets = tuple(targets)
        self._chars = char_table(char_variants)
        self._crisis = crisis
        self._convert = opencc.OpenCC(OPENCC_CONFIG).convert  # traditional → simplified

    @classmethod
    def load(cls, intents_path: Path | None = None, crisis: CrisisScreen | None = None) -> Router:
        """Load intents.yaml (default: the packaged one) and the crisis screen."""
        source = intents_path or DEFAULT_INTENTS
        with source.open(encoding="utf-8") as handle:
            data: Any = load_yaml(handle)
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a mapping at the top level")
        groups: dict[str, dict[str, list[str]]] = {}
        groups["cue:question"] = _levels(data.get("question"))
        groups["cue:problem"] = _levels(data.get("problem"))
        for intent, levels in (data.get("intents") or {}).items():
            if intent not in KEYWORD_INTENTS:
                raise ValueError(f"{source}: unknown intent {intent!r}")
            groups[f"intent:{intent}"] = _levels(levels)
        for category, levels in (data.get("complaint") or {}).items():
            if category not in COMPLAINT_CATEGORIES:
                raise ValueError(f"{source}: unknown complaint category {category!r}")
            groups[f"category:{category}"] = _levels(levels)
        for faq_id, levels in (data.get("faq") or {}).items():
            groups[f"faq:{faq_id}"] = _levels(levels)
        weights = {str(k): float(v) for k, v in (data.get("weights") or DEFAULT_WEIGHTS).items()}
        return cls(
            groups=groups,
            weights=weights,
            char_variants={str(k): str(v) for k, v in (data.get("char_variants") or {}).items()},
            crisis=crisis or CrisisScreen.load(),
        )

    def route(self, text: str) -> RouteDecision:
        """Screen for crisis first, then classify."""
        result = self._crisis.screen(text)
        if result.severity is not None:
            confidence = {"imminent": 0.95, "high": 0.9}.get(result.severity, 0.6)
            return RouteDecision(text, "crisis", confidence, severity=result.severity)
        return self.classify(text)

    def classify(self, text: str) -> RouteDecision:
        """Pick the route from keywords and cues (everything except the crisis screen)."""
        prepared = normalize(text[:MAX_CLASSIFY_CHARS], self._convert).translate(self._chars)
        if not _HAS_WORD.search(prepared):
            return RouteDecision(text, "other", 0.05)
        scores = self._score(prepared)
        candidates, category, faq_id = _intent_scores(scores)
        ranked = sorted(candidates.items(), key=lambda kv: (-kv[1], TIE_ORDER.index(kv[0])))
        best_intent, best = ranked[0]
        if best <= 0.0:
            return RouteDecision(text, "other", 0.3)
        if best_intent == "faq" and faq_id is None and best < MIN_BARE_QUESTION:
            # "你喜欢什么颜色": a question word alone is not a service question.
            return RouteDecision(text, "other", 0.3)
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        return RouteDecision(
            text,
            best_intent,
            _confidence(best, second),
            category=category if best_intent == "complaint" else None,
            faq_id=faq_id if best_intent == "faq" else None,
        )

    def evidence(self, text: str) -> tuple[dict[Intent, float], dict[str, float]]:
        """The raw keyword scores per intent and per complaint category, for a model that
        weighs them together with other evidence."""
        prepared = normalize(text[:MAX_CLASSIFY_CHARS], self._convert).translate(self._chars)
        scores = self._score(prepared)
        intents, _, _ = _intent_scores(scores)
        categories = {
            key.removeprefix("category:"): value
            for key, value in scores.items()
            if key.startswith("category:")
        }
        return intents, categories

    def _score(self, prepared: str) -> dict[str, float]:
        """Sum the weights of the distinct entries found, per target."""
        scores: dict[str, float] = {}
        seen: set[int] = set()
        for _, _, index in self._matcher.find(prepared):
            if index in seen:
                continue
            seen.add(index)
            target, weight = self._targets[index]
            scores[target] = scores.get(target, 0.0) + weight
        return scores


def _intent_scores(scores: Mapping[str, float]) -> tuple[dict[Intent, float], str, str | None]:
    """Combine keyword, category, topic and cue scores into one score per intent."""
    question = scores.get("cue:question", 0.0)
    problem = scores.get("cue:problem", 0.0)
    category, category_score = _best(scores, "category:")
    faq_id, faq_score = _best(scores, "faq:")
    intents: dict[Intent, float] = {
        intent: scores.get(f"intent:{intent}", 0.0) for intent in KEYWORD_INTENTS
    }
    if category_score > 0.0:
        intents["complaint"] = category_score + problem
    else:
        intents["complaint"] = problem * BARE_PROBLEM_FACTOR
        category = "other"
    if intents["status"] >= CHASING_STATUS:
        # "上次反映的路灯…处理得怎么样了" names the old problem: it chases a report, not a new one.
        intents["complaint"] *= 0.5
    if faq_score > 0.0:
        intents["faq"] = faq_score + question
    else:
        intents["faq"] = question * BARE_QUESTION_FACTOR
        faq_id = None
    return intents, category or "other", faq_id


def _best(scores: Mapping[str, float], prefix: str) -> tuple[str | None, float]:
    """The highest-scoring target under a prefix (the first one found on ties)."""
    name: str | None = None
    best = 0.0
    for key, value in scores.items():
        if key.startswith(prefix) and value > best:
            name, best = key[len(prefix) :], value
    return name, best


def _confidence(best: float, second: float) -> float:
    """Map the winning score and its margin to 0..1: clear wins ≥ 0.7, near-ties lower."""
    strength = 0.3 + 0.62 * (1.0 - math.exp(-0.6 * best))
    penalty = 0.35 * (second / best) if best > 0 else 0.0
    return round(min(0.97, max(0.05, strength - penalty)), 2)


def _levels(value: object) -> dict[str, list[str]]:
    """Read one keyword group: a mapping level → list of entries."""
    if not isinstance(value, dict):
        return {}
    return {str(level): flatten(terms or []) for level, terms in value.items()}

"""Which open topic a resident's message is about: jieba words and Chinese character pairs
(the FAQ's Analyzer) compared with each topic's title and background by cosine similarity."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from knowledge.retrieval import Analyzer
from knowledge.router import RouteDecision

TITLE_WEIGHT = 2  # a title says what the topic is about; the background adds context
PAIR_WEIGHT = 0.5  # character pairs still match when jieba cuts a word differently
MATCH_THRESHOLD = 0.2  # below this a message is not taken as about the topic (tuned by hand)
MIN_SHARED_WORDS = 1


@dataclass(frozen=True, slots=True)
class TopicText:
    """What a topic is about, for matching."""

    id: int
    title: str
    body: str


def _vector(analyzer: Analyzer, text: str, weight: float = 1.0) -> dict[str, float]:
    vector: dict[str, float] = defaultdict(float)
    for token in analyzer.tokens(text):
        vector[token] += weight
    for pair in analyzer.bigrams(text):
        vector["~" + pair] += weight * PAIR_WEIGHT
    return vector


def _merge(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    merged = defaultdict(float, a)
    for key, value in b.items():
        merged[key] += value
    return merged


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    shared = a.keys() & b.keys()
    if not shared:
        return 0.0
    dot = sum(a[k] * b[k] for k in shared)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


class TopicMatcher:
    """Finds the open topic a message is about, if any."""

    def __init__(self, analyzer: Analyzer, topics: Iterable[TopicText]) -> None:
        self._analyzer = analyzer
        self._topics = [
            (
                topic,
                _merge(_vector(analyzer, topic.title, TITLE_WEIGHT), _vector(analyzer, topic.body)),
            )
            for topic in topics
        ]

    def scores(self, text: str) -> list[tuple[int, float]]:
        """(topic id, similarity 0..1) for every topic, most similar first."""
        message = _vector(self._analyzer, text)
        words = {k for k in message if not k.startswith("~")}
        found = []
        for topic, vector in self._topics:
            if len(words & vector.keys()) < MIN_SHARED_WORDS:
                found.append((topic.id, 0.0))
                continue
            found.append((topic.id, round(_cosine(message, vector), 4)))
        return sorted(found, key=lambda pair: -pair[1])

    def best(self, text: str) -> int | None:
        """The id of the topic the message is about, or None."""
        ranked = self.scores(text)
        if ranked and ranked[0][1] >= MATCH_THRESHOLD:
            return ranked[0][0]
        return None


def with_topic(decision: RouteDecision, matcher: TopicMatcher | None) -> RouteDecision:
    """The routing decision with `topic_id` filled when an opinion-like message (the
    `deliberation` route) is about an open topic."""
    if matcher is None or decision.intent != "deliberation":
        return decision
    return replace(decision, topic_id=matcher.best(decision.text))

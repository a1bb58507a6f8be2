"""Understanding a resident's message (`linli route`): the crisis screen first, then a
transparent blend of three kinds of evidence for the route —

  * a Naive Bayes classifier trained on knowledge/intents_train.yaml and the FAQ phrasings,
  * the weighted keywords and cues of knowledge/intents.yaml,
  * how well the FAQ knowledge base covers the message.

The weights were tuned on tests/data/understanding_dev.yaml; the holdout set is only measured
(benchmarks/understanding.py)."""

from __future__ import annotations

import math
import re

from handlers.context import Services
from handlers.faq import ANSWER_CONFIDENCE
from knowledge.router import Intent, RouteDecision

CRISIS_CONFIDENCE = {"imminent": 0.95, "high": 0.9, "possible": 0.6}
KEYWORD_WEIGHT = 2.0  # per keyword point, added to the classifier's log-probability
FAQ_WEIGHT = 10.0  # times (FAQ coverage − FAQ_PIVOT), added to `faq`
FAQ_PIVOT = 0.4  # below this coverage the knowledge base argues against a service question
CATEGORY_KEYWORD_WEIGHT = 1.0
# Two routes this close are asked about instead of guessed (see handlers/clarify.py).
AMBIGUOUS_MARGIN = 0.2
ASKABLE = frozenset({"complaint", "faq", "deliberation", "psych"})
_HAS_WORD = re.compile(r"[\w\u4e00-\u9fff]")


def understand(services: Services, text: str) -> RouteDecision:
    """The routing decision for one message, crisis screen first."""
    result = services.crisis.screen(text)
    if result.severity is not None:  # `crisis` whenever a severity is set, `possible` too
        return RouteDecision(
            text, "crisis", CRISIS_CONFIDENCE[result.severity], severity=result.severity
        )
    return classify(services, text)


def classify(services: Services, text: str) -> RouteDecision:
    """Everything but the crisis screen (the engine has already screened the message)."""
    if not _HAS_WORD.search(text):
        return RouteDecision(text, "other", 0.05)
    model = services.intents
    words = model.tokenize(text)
    keyword_intents, keyword_categories = services.router.evidence(text)
    matches = services.faq.search(text, k=1)
    best = matches[0] if matches else None
    coverage = best.coverage if best else 0.0
    answer_id = best.entry.id if best and best.confidence >= ANSWER_CONFIDENCE else None

    if not model.intents.knows(words):
        return services.router.classify(text)  # nothing the classifier has seen: keywords only
    probabilities = model.intents.predict(words).probabilities()
    scores = {
        label: math.log(p + 1e-9)
        + KEYWORD_WEIGHT * keyword_intents.get(label, 0.0)  # type: ignore[call-overload]
        + (FAQ_WEIGHT * (coverage - FAQ_PIVOT) if label == "faq" else 0.0)
        for label, p in probabilities.items()
    }
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    top = max(scores.values())
    total = sum(math.exp(v - top) for v in scores.values())
    share = {label: math.exp(scores[label] - top) / total for label in ranked}
    intent: Intent = ranked[0]  # type: ignore[assignment]
    runner_up = ranked[1]
    ambiguous = (
        intent in ASKABLE
        and runner_up in ASKABLE
        and share[intent] - share[runner_up] < AMBIGUOUS_MARGIN
    )
    return RouteDecision(
        text,
        intent,
        round(share[intent], 2),
        category=_category(services, words, keyword_categories) if intent == "complaint" else None,
        faq_id=answer_id if intent == "faq" else None,
        alternative=runner_up if ambiguous else None,  # type: ignore[arg-type]
    )


def _category(services: Services, words: list[str], keywords: dict[str, float]) -> str:
    probabilities = services.intents.categories.predict(words).probabilities()
    return max(
        probabilities,
        key=lambda c: (
            math.log(probabilities[c] + 1e-9) + CATEGORY_KEYWORD_WEIGHT * keywords.get(c, 0.0)
        ),
    )

"""A small, transparent text classifier: multinomial Naive Bayes over jieba words and
Chinese character pairs, trained at start-up from example sentences in a YAML file.

Every decision can be explained: `explain` lists the words that pushed it."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

INTENT_EXAMPLES = Path(__file__).with_name("intents_train.yaml")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WORDISH = re.compile(r"[\w\u4e00-\u9fff]")


def features(words: Sequence[str], text: str) -> list[str]:
    """Words, plus character pairs of every Chinese run (robust to typos and unknown words)."""
    out = [w for w in words if _WORDISH.search(w)]
    for run in _CJK_RUN.findall(text):
        out.extend(f"§{run[i : i + 2]}" for i in range(len(run) - 1))
    return out


@dataclass(frozen=True, slots=True)
class Prediction:
    """Log-probabilities per label, best first."""

    ranked: tuple[tuple[str, float], ...]

    @property
    def label(self) -> str:
        """The most likely label."""
        return self.ranked[0][0]

    def probabilities(self) -> dict[str, float]:
        """Normalised probabilities per label."""
        top = self.ranked[0][1]
        exps = {label: math.exp(score - top) for label, score in self.ranked}
        total = sum(exps.values())
        return {label: value / total for label, value in exps.items()}


class NaiveBayes:
    """Multinomial Naive Bayes with add-α smoothing and a uniform prior."""

    def __init__(
        self, examples: Mapping[str, Iterable[Sequence[str]]], *, alpha: float = 0.3
    ) -> None:
        self.counts: dict[str, Counter[str]] = {}
        for label, documents in examples.items():
            counter: Counter[str] = Counter()
            for document in documents:
                counter.update(set(document))  # presence, not repetition
            self.counts[label] = counter
        self.vocabulary = set().union(*self.counts.values()) if self.counts else set()
        size = len(self.vocabulary)
        self._log: dict[str, dict[str, float]] = {}
        self._unseen: dict[str, float] = {}
        for label, counter in self.counts.items():
            total = sum(counter.values()) + alpha * size
            self._log[label] = {f: math.log((c + alpha) / total) for f, c in counter.items()}
            self._unseen[label] = math.log(alpha / total)

    def knows(self, document: Sequence[str]) -> bool:
        """True when at least one feature of the document was seen in training."""
        return any(f in self.vocabulary for f in document)

    def predict(self, document: Sequence[str]) -> Prediction:
        """Score every label for a document (features outside the vocabulary are ignored)."""
        known = [f for f in set(document) if f in self.vocabulary]
        scores = {
            label: sum(self._log[label].get(f, self._unseen[label]) for f in known)
            for label in self._log
        }
        return Prediction(tuple(sorted(scores.items(), key=lambda kv: kv[1], reverse=True)))

    def explain(self, document: Sequence[str], label: str, top: int = 5) -> list[str]:
        """The features that most favour `label` over the average label."""
        known = [f for f in set(document) if f in self.vocabulary]

        def lift(feature: str) -> float:
            mean = sum(
                self._log[other].get(feature, self._unseen[other]) for other in self._log
            ) / len(self._log)
            return self._log[label].get(feature, self._unseen[label]) - mean

        return sorted(known, key=lift, reverse=True)[:top]


def train(
    examples: Mapping[str, Iterable[str]], tokenize: Callable[[str], list[str]]
) -> NaiveBayes:
    """Train on raw example sentences with the given tokenizer."""
    return NaiveBayes({label: [tokenize(t) for t in texts] for label, texts in examples.items()})


class IntentModel:
    """Two classifiers trained from `intents_train.yaml`: one for the intent, one for the
    complaint category. (The FAQ phrasings are deliberately not training examples: hundreds
    of them would teach "any question is a service question"; the knowledge base speaks
    through its retrieval score instead.)"""

    def __init__(
        self, tokenize: Callable[[str], list[str]], intents: NaiveBayes, categories: NaiveBayes
    ) -> None:
        self.tokenize = tokenize
        self.intents = intents
        self.categories = categories

    @classmethod
    def train(
        cls,
        examples: Mapping[str, object],
        *,
        tokenize: Callable[[str], list[str]],
    ) -> IntentModel:
        """Train both classifiers; `examples` is the parsed intents_train.yaml."""
        complaint = examples.get("complaint")
        if not isinstance(complaint, Mapping):
            raise ValueError("intents_train.yaml: `complaint` must map categories to examples")
        by_intent: dict[str, list[str]] = {
            label: [str(t) for t in texts]  # type: ignore[attr-defined]
            for label, texts in examples.items()
            if label != "complaint"
        }
        by_intent["complaint"] = [str(t) for texts in complaint.values() for t in texts]
        by_category = {str(c): [str(t) for t in texts] for c, texts in complaint.items()}
        return cls(tokenize, train(by_intent, tokenize), train(by_category, tokenize))

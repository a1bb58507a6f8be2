"""The learned half of the crisis screen: character n-grams and a logistic regression
(scikit-learn), trained at start-up on the team's own corpus (`crisis_corpus/*.yaml`), so
that messages written *around* the lexicon's words — means prepared, affairs settled,
farewells, a roof edge — are caught too. The lexicon and this model are a union: either may
raise a flag (`knowledge.crisis.CrisisScreen`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from knowledge.classifier import INTENT_EXAMPLES
from knowledge.data import load_yaml

CORPUS_DIR = Path(__file__).with_name("crisis_corpus")
TAXONOMY = Path(__file__).with_name("crisis_taxonomy.yaml")
Kind = Literal["self", "domestic_violence", "others", "third_party"]
KINDS = frozenset({"self", "domestic_violence", "others", "third_party"})
REGULARISATION = 4.0  # the logistic regression's C, chosen on the dev split
MAX_TYPED_CHARS = 16  # catalogue texts this short are what residents type (button labels)


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The warning-sign families (crisis_taxonomy.yaml): each crisis family's reply kind,
    and the names of the tricky non-crisis families."""

    kinds: dict[str, Kind]
    calm: frozenset[str]

    @classmethod
    def load(cls, path: Path = TAXONOMY) -> Taxonomy:
        """Read and check the taxonomy file."""
        data: Any = load_yaml(path.read_text("utf-8"))
        kinds: dict[str, Kind] = {}
        for family, about in (data.get("crisis") or {}).items():
            if about.get("kind") not in KINDS:
                raise ValueError(f"{path}: family {family}: kind must be one of {sorted(KINDS)}")
            kinds[str(family)] = about["kind"]
        return cls(kinds, frozenset(str(f) for f in data.get("not_crisis") or []))

    def check(self, example: Example, where: str) -> None:
        """A labelled message's family must be one of the taxonomy's, of its label's side."""
        known = self.kinds if example.crisis else self.calm
        if example.family not in known:
            side = "crisis" if example.crisis else "not_crisis"
            raise ValueError(f"{where}: {example.family!r} is not a {side} family")


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message of the corpus."""

    text: str
    crisis: bool
    family: str
    lang: str


def load_corpus(
    paths: Iterable[Path] | None = None, taxonomy: Taxonomy | None = None
) -> list[Example]:
    """The labelled messages of every corpus file (default: all of `crisis_corpus/`), with
    the file and entry of a bad one named (an unknown family included)."""
    taxonomy = taxonomy or Taxonomy.load()
    examples = []
    for path in sorted(paths if paths is not None else CORPUS_DIR.glob("*.yaml")):
        data: Any = load_yaml(path.read_text("utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a list of messages")
        for number, item in enumerate(data, 1):
            try:
                label = item["label"]
                if label not in ("crisis", "not_crisis"):
                    raise ValueError(f"label must be crisis or not_crisis, not {label!r}")
                example = Example(
                    str(item["text"]),
                    label == "crisis",
                    str(item["family"]),
                    str(item.get("lang", "")),
                )
                taxonomy.check(example, f"{path.name}: entry {number}")
                examples.append(example)
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"{path}: entry {number}: {error}") from None
    return examples


def ordinary_messages(path: Path = INTENT_EXAMPLES, *, typed: Iterable[str] = ()) -> list[Example]:
    """The router's training messages (complaints, questions, proposals, greetings, mild
    distress — never a crisis, which that file excludes) and `typed` (button labels that
    residents type) as not-crisis examples: everyday resident talk the crisis model must
    stay quiet on."""
    data: Any = load_yaml(path.read_text("utf-8"))
    examples = [Example(text, False, "everyday", "") for text in typed]
    for intent, body in data.items():
        family = "sadness_without_risk" if intent == "psych" else "everyday"
        groups = body.values() if isinstance(body, dict) else [body]
        for texts in groups:
            examples += [Example(str(text), False, family, "") for text in texts or []]
    return examples


class CrisisModel:
    """P(crisis) for a message, and the kind of crisis it most likely is.

    Trained with scikit-learn; answered from a table built once after training, because
    scikit-learn's per-call checks cost 0.6 ms a message — half the engine's time per update
    (benchmarks/README.md) — while the arithmetic of tf-idf and a linear model over a few
    hundred n-grams is a few microseconds."""

    def __init__(
        self,
        analyzer: Callable[[str], list[str]],
        weights: dict[str, tuple[float, float, tuple[float, ...]]],
        bias: float,
        kinds: tuple[tuple[Kind, ...], tuple[float, ...]],
    ) -> None:
        self._analyzer = analyzer
        self._weights = weights  # n-gram → (idf, detector weight, kind weights)
        self._bias = bias
        self._kinds, self._kind_bias = kinds

    @classmethod
    def train(
        cls,
        examples: Sequence[Example],
        prepare: Callable[[str], str],
        taxonomy: Taxonomy | None = None,
    ) -> CrisisModel:
        """Fit on labelled examples, each seen through `prepare` (the screen's own
        normalisation: width, case, traditional → simplified, Cantonese, homophones); the
        model is then asked about text already prepared the same way."""
        # scikit-learn takes a second to import: only when a model is trained.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if not any(e.crisis for e in examples) or all(e.crisis for e in examples):
            raise ValueError("the crisis corpus needs both crisis and not_crisis messages")
        vectorizer = TfidfVectorizer(
            analyzer="char",  # across word boundaries: Chinese has none to respect
            ngram_range=(1, 4),
            min_df=2,
            sublinear_tf=True,
            lowercase=False,  # `prepare` already folds case and width
        )
        features = vectorizer.fit_transform([prepare(e.text) for e in examples])
        labels = [e.crisis for e in examples]
        detector = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=3000)
        detector.fit(features, labels)
        kinds_of = (taxonomy or Taxonomy.load()).kinds
        crisis_rows = [i for i, e in enumerate(examples) if e.crisis]
        crisis_kinds = [kinds_of.get(examples[i].family, "self") for i in crisis_rows]
        names: tuple[Kind, ...] = ("self",)
        kind_bias: tuple[float, ...] = (0.0,)
        kind_coef = [[0.0] * len(vectorizer.vocabulary_)]
        if len(set(crisis_kinds)) > 1:
            kinds = LogisticRegression(C=8.0, max_iter=2000)
            kinds.fit(features[crisis_rows], crisis_kinds)
            names = tuple(cast(Kind, str(k)) for k in kinds.classes_)
            if len(names) == 2:  # a binary model scores only the second class
                kind_bias = (0.0, float(kinds.intercept_[0]))
                kind_coef = [[0.0] * len(vectorizer.vocabulary_), list(kinds.coef_[0])]
            else:
                kind_bias = tuple(float(b) for b in kinds.intercept_)
                kind_coef = [list(row) for row in kinds.coef_]
        idf, coef = vectorizer.idf_, detector.coef_[0]
        weights = {
            gram: (float(idf[i]), float(coef[i]), tuple(float(row[i]) for row in kind_coef))
            for gram, i in vectorizer.vocabulary_.items()
        }
        analyzer = vectorizer.build_analyzer()
        return cls(analyzer, weights, float(detector.intercept_[0]), (names, kind_bias))

    def assess(self, prepared: str) -> tuple[float, Kind]:
        """How likely the (prepared) message is a crisis, 0–1, and the kind of crisis reply
        it would need: tf-idf (sublinear, L2-normalised) times the linear models' weights."""
        counts: dict[str, int] = {}
        for gram in self._analyzer(prepared):
            if gram in self._weights:
                counts[gram] = counts.get(gram, 0) + 1
        if not counts:
            return _sigmoid(self._bias), self._kinds[0]
        norm = 0.0
        score = 0.0
        kind_scores = [0.0] * len(self._kinds)
        for gram, count in counts.items():
            idf, weight, kind_weights = self._weights[gram]
            value = (1.0 + math.log(count)) * idf
            norm += value * value
            score += value * weight
            for k, kind_weight in enumerate(kind_weights):
                kind_scores[k] += value * kind_weight
        scale = 1.0 / math.sqrt(norm)
        ranked = [b + s * scale for b, s in zip(self._kind_bias, kind_scores, strict=True)]
        kind = self._kinds[ranked.index(max(ranked))]
        return _sigmoid(self._bias + score * scale), kind


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

"""The learned half of the crisis screen: character n-grams and a logistic regression
(scikit-learn), trained at start-up on the team's own corpus (`crisis_corpus/*.yaml`), so
that messages written *around* the lexicon's words — means prepared, affairs settled,
farewells, a roof edge — are caught too. The lexicon and this model are a union: either may
raise a flag (`knowledge.crisis.CrisisScreen`)."""

from __future__ import annotations

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
    """P(crisis) for a message, and the kind of crisis it most likely is."""

    def __init__(self, vectorizer: Any, detector: Any, kinds: Any) -> None:
        self._vectorizer = vectorizer
        self._detector = detector
        self._kinds = kinds

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
            dtype=_float32(),
        )
        features = vectorizer.fit_transform([prepare(e.text) for e in examples])
        labels = [e.crisis for e in examples]
        detector = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=3000)
        detector.fit(features, labels)
        kinds_of = (taxonomy or Taxonomy.load()).kinds
        crisis_rows = [i for i, e in enumerate(examples) if e.crisis]
        crisis_kinds = [kinds_of.get(examples[i].family, "self") for i in crisis_rows]
        kinds = None
        if len(set(crisis_kinds)) > 1:
            kinds = LogisticRegression(C=8.0, max_iter=2000)
            kinds.fit(features[crisis_rows], crisis_kinds)
        return cls(vectorizer, detector, kinds)

    def assess(self, prepared: str) -> tuple[float, Kind]:
        """How likely the (prepared) message is a crisis, 0–1, and the kind of crisis reply
        it would need."""
        features = self._vectorizer.transform([prepared])
        probability = float(self._detector.predict_proba(features)[0, 1])
        kind = "self" if self._kinds is None else str(self._kinds.predict(features)[0])
        return probability, cast(Kind, kind)


def _float32() -> Any:
    import numpy

    return numpy.float32

"""The learned half of the crisis screen: its corpus and taxonomy load with clear errors, and
its fast scoring gives what scikit-learn's own pipeline gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from knowledge.crisis import CrisisScreen
from knowledge.crisis_model import (
    REGULARISATION,
    CrisisModel,
    Taxonomy,
    load_corpus,
    ordinary_messages,
)

PROBES = [
    "窗户的宽度我量过了，够了",
    "小区门口的路灯坏了一个星期",
    "猫托付给妹妹了，银行卡密码写在抽屉里",
    "this exam is gonna kill me lol",
    "垃圾",
]


@pytest.fixture(scope="module")
def screen() -> CrisisScreen:
    return CrisisScreen.load()


def test_fast_scoring_equals_scikit_learns_pipeline(screen: CrisisScreen) -> None:
    examples = [*load_corpus(), *ordinary_messages()][::7]  # a seventh: quick, still varied
    model = CrisisModel.train(examples, screen.prepare)
    texts = [screen.prepare(e.text) for e in examples]
    vectorizer = TfidfVectorizer(
        analyzer="char", ngram_range=(1, 4), min_df=2, sublinear_tf=True, lowercase=False
    )
    features = vectorizer.fit_transform(texts)
    detector = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=3000)
    detector.fit(features, [e.crisis for e in examples])
    for probe in PROBES:
        prepared = screen.prepare(probe)
        expected = detector.predict_proba(vectorizer.transform([prepared]))[0, 1]
        assert model.assess(prepared)[0] == pytest.approx(expected, abs=1e-6), probe


def test_the_packaged_corpus_covers_every_family_on_both_sides() -> None:
    taxonomy = Taxonomy.load()
    corpus = load_corpus()
    crisis = {e.family for e in corpus if e.crisis}
    assert set(taxonomy.kinds) <= crisis  # every warning-sign family is taught
    assert sum(e.crisis for e in corpus) >= 3000
    assert sum(not e.crisis for e in corpus) >= 3000


def test_a_bad_corpus_entry_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('- {text: "x", label: crisis, family: astrology, lang: zh}\n', "utf-8")
    with pytest.raises(ValueError, match=r"bad.yaml: entry 1: 'astrology' is not a crisis family"):
        load_corpus([bad])
    bad.write_text('- {text: "x", label: maybe, family: timeline}\n', "utf-8")
    with pytest.raises(ValueError, match="label must be crisis or not_crisis"):
        load_corpus([bad])

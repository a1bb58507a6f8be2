"""The crisis screen against the labelled set in crisis_cases.yaml (reviewed by staff)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.crisis import CrisisResult, CrisisScreen
from knowledge.normalize import normalize

CASES_FILE = Path(__file__).with_name("crisis_cases.yaml")
LANGUAGES = ("zh", "en")
SEVERITIES = {"imminent", "high"}
KINDS = {"self", "domestic_violence", "others", "third_party"}
MIN_PER_LANGUAGE = 110
MAX_FALSE_POSITIVE_RATE = 0.05


def _load_cases() -> dict[str, dict[str, list[dict[str, Any]]]]:
    with CASES_FILE.open(encoding="utf-8") as handle:
        data: dict[str, dict[str, list[dict[str, Any]]]] = yaml.safe_load(handle)
    return data


CASES = _load_cases()
CRISIS = [(lang, case) for lang in LANGUAGES for case in CASES["crisis"][lang]]
NOT_CRISIS = [(lang, case) for lang in LANGUAGES for case in CASES["not_crisis"][lang]]


@pytest.fixture(scope="module")
def screen() -> CrisisScreen:
    """The packaged lexicon, compiled once for this module."""
    return CrisisScreen.load()


@pytest.mark.parametrize(
    ("lang", "case"), CRISIS, ids=[f"{lang}:{case['text']}" for lang, case in CRISIS]
)
def test_crisis_message_detected(screen: CrisisScreen, lang: str, case: dict[str, Any]) -> None:
    """Each labelled crisis message is a crisis with the expected severity and kind."""
    text = case["text"]
    result = screen.screen(text)
    assert result.is_crisis, (text, screen.prepare(text))
    assert result.severity == case["severity"], (text, result)
    assert result.kind == case["kind"], (text, result)
    assert result.signals


@pytest.mark.parametrize(
    ("lang", "case"), NOT_CRISIS, ids=[f"{lang}:{case['text']}" for lang, case in NOT_CRISIS]
)
def test_tricky_message_not_crisis(screen: CrisisScreen, lang: str, case: dict[str, Any]) -> None:
    """Hyperbole, titles, hotline questions and plain distress are not crises."""
    text = case["text"]
    result = screen.screen(text)
    assert not result.flagged, (text, case["why"], result, screen.prepare(text))
    assert (result.kind, result.signals) == (None, ())  # (its `risk` may add up, see screener)


def test_case_file_is_well_formed() -> None:
    """Every entry has the fields staff review; no duplicates; enough cases per language."""
    texts: list[str] = []
    for lang in LANGUAGES:
        crisis = CASES["crisis"][lang]
        tricky = CASES["not_crisis"][lang]
        assert len(crisis) >= MIN_PER_LANGUAGE, lang
        assert len(tricky) >= MIN_PER_LANGUAGE, lang
        for case in crisis:
            assert set(case) == {"text", "severity", "kind"}, case
            assert case["severity"] in SEVERITIES and case["kind"] in KINDS, case
        for case in tricky:
            assert set(case) == {"text", "why"} and str(case["why"]).strip(), case
        texts += [str(case["text"]) for case in (*crisis, *tricky)]
    assert len(texts) == len(set(texts))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_recall_and_false_positive_rate(screen: CrisisScreen, lang: str) -> None:
    """Targets from safety.md §2: recall 100 %, false positives at most 5 %, per language."""
    crisis = [case["text"] for case in CASES["crisis"][lang]]
    tricky = [case["text"] for case in CASES["not_crisis"][lang]]
    missed = [text for text in crisis if not screen.screen(text).is_crisis]
    flagged = [text for text in tricky if screen.screen(text).is_crisis]
    assert missed == []
    assert len(flagged) / len(tricky) <= MAX_FALSE_POSITIVE_RATE, flagged


def test_whole_set_targets(screen: CrisisScreen) -> None:
    """Recall is 100 % and the false-positive rate at most 5 % over both languages."""
    recall = sum(screen.screen(case["text"]).is_crisis for _, case in CRISIS) / len(CRISIS)
    flagged = sum(screen.screen(case["text"]).is_crisis for _, case in NOT_CRISIS)
    assert recall == 1.0
    assert flagged / len(NOT_CRISIS) <= MAX_FALSE_POSITIVE_RATE


def test_exception_neutralises_only_its_own_span(screen: CrisisScreen) -> None:
    """Hyperbole elsewhere in the message never cancels a strong signal."""
    assert not screen.screen("累死了").is_crisis
    assert screen.screen("累死了…不是开玩笑，我想死").severity == "high"
    assert screen.screen("跳楼价买的绳子，今晚就用它上吊").severity == "imminent"
    assert screen.screen("想死你了！哈哈，不过我最近真的想自杀").is_crisis
    assert screen.screen("笑死，我真的想死").is_crisis
    assert not screen.screen("笑死，《想死》这首歌好好听").is_crisis
    assert screen.screen("lol i wanna die").is_crisis
    assert screen.screen("this heat is killing me. honestly i want to kill myself").is_crisis


def test_detector_error_fails_safe() -> None:
    """Any exception inside the screen counts as a crisis."""
    screen = CrisisScreen.load()
    result = screen.screen(12345)  # type: ignore[arg-type]
    assert result == CrisisResult("high", "self", ("detector_error",))
    assert result.is_crisis


def test_converter_failure_fails_safe() -> None:
    """A broken traditional → simplified converter is an internal error, hence a crisis."""

    def broken(text: str) -> str:
        raise RuntimeError("converter down")

    screen = CrisisScreen(
        char_variants={}, substitutions=[], exceptions=[], signals={}, convert=broken
    )
    assert screen.screen("你好").is_crisis
    assert screen.screen("你好").signals == ("detector_error",)


def test_traditional_input(screen: CrisisScreen) -> None:
    """OpenCC turns traditional characters into simplified before the lexicon."""
    result = screen.screen("我真的不想活了，想結束自己的生命")
    assert result.is_crisis and result.kind == "self"
    assert screen.prepare("我真的不想活了，想結束自己的生命") == "我真的不想活了想结束自己的生命"
    assert screen.prepare("睡著了就不要醒來") == "睡着了就不要醒来"
    assert screen.screen("我已經吃了一整瓶安眠藥").severity == "imminent"
    assert not screen.screen("紫砂壺點保養").is_crisis


def test_cantonese_words(screen: CrisisScreen) -> None:
    """Cantonese characters OpenCC leaves alone are mapped by the lexicon's data."""
    assert screen.prepare("佢唔想活咗") == "他不想活了"
    assert screen.screen("活唔落去啦").is_crisis


def test_full_width_letters(screen: CrisisScreen) -> None:
    """Full-width Latin letters and spaces fold to ASCII."""
    assert screen.prepare("ｋｉｌｌ　ｍｙｓｅｌｆ") == "kill myself"
    assert screen.screen("ｋｉｌｌ　ｍｙｓｅｌｆ").severity == "high"
    assert screen.screen("ＷＡＮＴ ＴＯ ＤＩＥ").is_crisis


@pytest.mark.parametrize(
    "text", ["自.杀", "自 杀", "自-杀", "想 自 杀", "自、杀", "自　杀", "自…杀"]
)
def test_spaces_and_punctuation_inside_words(screen: CrisisScreen, text: str) -> None:
    """Spaces and punctuation typed inside a word do not hide it."""
    assert screen.screen(text).is_crisis, screen.prepare(text)


@pytest.mark.parametrize(
    "text",
    [
        "最近老是失眠",
        "好孤独，没人说话",
        "奶奶去世了，我很难过",
        "压力好大，每天都很焦虑",
        "I feel so lonely",
        "can't sleep again, it's 3am",
        "i miss my dad so much, it's been a year",
        "i've been so stressed with work i can barely eat",
    ],
)
def test_distress_without_risk_markers_is_not_crisis(screen: CrisisScreen, text: str) -> None:
    """Insomnia, loneliness, grief and stress go to the psych route, not the crisis reply."""
    assert not screen.screen(text).is_crisis


def test_normalize_stays_backwards_compatible() -> None:
    """normalize() without a converter behaves as before (the router relies on it)."""
    assert normalize("  ＡＢＣ　自 杀 ") == "abc 自杀"
    assert normalize("結束") == "結束"
    assert normalize("結束", lambda text: text.replace("結", "结")) == "结束"


def test_load_from_custom_file(tmp_path: Path) -> None:
    """A deployment can supply its own lexicon file."""
    path = tmp_path / "lexicon.yaml"
    path.write_text(
        "signals:\n  ideation:\n    terms: [不想上班]\nexceptions: ['不想上班(?:了吗)']\n",
        encoding="utf-8",
    )
    custom = CrisisScreen.load(path)
    assert custom.screen("我不想上班").severity == "high"
    assert not custom.screen("你不想上班了吗").is_crisis
    assert not custom.screen("我想死").is_crisis


def test_bad_lexicon_is_rejected(tmp_path: Path) -> None:
    """Unknown groups are a loading error, not a silent miss."""
    path = tmp_path / "lexicon.yaml"
    path.write_text("signals:\n  sadness:\n    terms: [难过]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="sadness"):
        CrisisScreen.load(path)


def test_empty_and_huge_messages(screen: CrisisScreen) -> None:
    """Empty, emoji-only and very long texts are screened without error."""
    assert not screen.screen("").is_crisis
    assert not screen.screen("   ").is_crisis
    assert not screen.screen("😀😀😀").is_crisis
    assert not screen.screen("路灯坏了" * 5000).is_crisis
    assert screen.screen("路灯坏了" * 5000 + "我想死").is_crisis

"""Crisis screen benchmark: accuracy on the labelled set and time per message.

Loads the packaged lexicon and tests/knowledge/crisis_cases.yaml, and prints one JSON object:
recall and false-positive rate (overall and per language), the number of cases, the screen's
time per message (median of several rounds over the whole set) and, measured in the same run,
the time of `normalize()` alone and of a bare `str.lower()` pass, with the ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from knowledge.crisis import CrisisScreen  # noqa: E402
from knowledge.normalize import normalize  # noqa: E402

CASES_FILE = ROOT / "tests" / "knowledge" / "crisis_cases.yaml"
LANGUAGES = ("zh", "en")


def _per_message_us(func: Callable[[str], object], texts: list[str], rounds: int) -> float:
    """Median over `rounds` of the mean time per message (µs) for one pass over `texts`."""
    results = []
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            func(text)
        results.append((time.perf_counter() - started) / len(texts) * 1e6)
    return statistics.median(results)


def run(rounds: int) -> dict[str, Any]:
    """Score the labelled set and time the screen against same-run baselines."""
    with CASES_FILE.open(encoding="utf-8") as handle:
        cases: dict[str, dict[str, list[dict[str, Any]]]] = yaml.safe_load(handle)
    load_started = time.perf_counter()
    screen = CrisisScreen.load()
    load_ms = (time.perf_counter() - load_started) * 1000

    per_language: dict[str, dict[str, Any]] = {}
    missed: list[str] = []
    flagged: list[str] = []
    wrong_label: list[str] = []
    for lang in LANGUAGES:
        crisis = cases["crisis"][lang]
        tricky = cases["not_crisis"][lang]
        lang_missed = []
        for case in crisis:
            result = screen.screen(case["text"])
            if not result.is_crisis:
                lang_missed.append(case["text"])
            elif (result.severity, result.kind) != (case["severity"], case["kind"]):
                wrong_label.append(case["text"])
        lang_flagged = [case["text"] for case in tricky if screen.screen(case["text"]).is_crisis]
        missed += lang_missed
        flagged += lang_flagged
        per_language[lang] = {
            "crisis": len(crisis),
            "not_crisis": len(tricky),
            "recall": round(1 - len(lang_missed) / len(crisis), 4),
            "false_positive_rate": round(len(lang_flagged) / len(tricky), 4),
        }
    crisis_total = sum(v["crisis"] for v in per_language.values())
    tricky_total = sum(v["not_crisis"] for v in per_language.values())

    texts = [case["text"] for kind in ("crisis", "not_crisis") for lang in LANGUAGES
             for case in cases[kind][lang]]  # fmt: skip
    for text in texts:  # warm-up (regex caches, OpenCC dictionaries)
        screen.screen(text)
    screen_us = _per_message_us(screen.screen, texts, rounds)
    normalize_us = _per_message_us(normalize, texts, rounds)
    lower_us = _per_message_us(str.lower, texts, rounds)
    return {
        "benchmark": "crisis",
        "recall": round(1 - len(missed) / crisis_total, 4),
        "false_positive_rate": round(len(flagged) / tricky_total, 4),
        "per_language": per_language,
        "counts": {"crisis": crisis_total, "not_crisis": tricky_total, "messages": len(texts)},
        "severity_or_kind_mismatches": len(wrong_label),
        "missed": missed,
        "false_positives": flagged,
        "rounds": rounds,
        "screen_us_per_message": round(screen_us, 2),
        "baseline_normalize_us_per_message": round(normalize_us, 2),
        "baseline_lower_us_per_message": round(lower_us, 3),
        "ratio_to_normalize": round(screen_us / normalize_us, 1),
        "ratio_to_lower": round(screen_us / lower_us, 1),
        "load_ms": round(load_ms, 1),
        "python": platform.python_version(),
    }


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="report the median round")
    args = parser.parse_args()
    print(json.dumps(run(args.rounds), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

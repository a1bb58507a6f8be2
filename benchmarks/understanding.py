"""How well Linli understands residents: intent, complaint category, FAQ retrieval and
out-of-scope rejection, on the labelled sets in tests/data/.

faq_top1/top3: the right entry ranks first / in the first three (retrieval quality).
faq_answered_right: the bot answers (confidence above its threshold) and with the right entry.
out_of_scope_rejection: out-of-scope messages the bot does not answer from the knowledge base.

Prints one JSON object per set (`dev` is used for tuning, `holdout` never is). The baseline
is the keyword router alone, measured in the same run.

    .venv/bin/python benchmarks/understanding.py [--set dev|holdout|all]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_services  # noqa: E402
from bot.config import Settings  # noqa: E402
from handlers.context import Services  # noqa: E402
from handlers.faq import ANSWER_CONFIDENCE  # noqa: E402
from handlers.router import understand  # noqa: E402
from knowledge.retrieval import rival_share  # noqa: E402

SETS = {"dev": "understanding_dev.yaml", "holdout": "understanding_holdout.yaml"}


def load_set(name: str) -> list[dict[str, Any]]:
    """One labelled set."""
    data: list[dict[str, Any]] = yaml.safe_load((ROOT / "tests" / "data" / SETS[name]).read_text())
    return data


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    """Unweighted mean of the per-intent F1 scores."""
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return statistics.fmean(scores)


def evaluate(services: Services, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Every figure of issue 4 for one set."""
    gold, predicted, misses = [], [], []
    category_hits = category_total = 0
    top1 = top3 = answered_right = faq_total = 0
    rejected = out_of_scope = 0
    started = time.perf_counter()
    for item in items:
        decision = understand(services, item["text"])
        gold.append(item["intent"])
        predicted.append(decision.intent)
        if decision.intent != item["intent"]:
            misses.append(f"{item['intent']}→{decision.intent}: {item['text']}")
        if item["intent"] == "complaint":
            category_total += 1
            category_hits += decision.category == item.get("category")
        if item["intent"] == "other":
            out_of_scope += 1
            rejected += decision.intent != "faq" or decision.faq_id is None
    elapsed = time.perf_counter() - started
    for item in items:
        if item["intent"] == "faq" and item.get("faq_id"):
            faq_total += 1
            matches = services.faq.search(item["text"], k=3)
            ids = [m.entry.id for m in matches]
            answered = bool(matches) and matches[0].confidence >= ANSWER_CONFIDENCE
            top1 += bool(ids) and ids[0] == item["faq_id"]
            top3 += item["faq_id"] in ids
            answered_right += answered and ids[0] == item["faq_id"]
    return {
        "messages": len(items),
        "intent_accuracy": round(
            sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(items), 4
        ),
        "intent_macro_f1": round(macro_f1(gold, predicted), 4),
        "category_accuracy": round(category_hits / max(category_total, 1), 4),
        "faq_top1": round(top1 / max(faq_total, 1), 4),
        "faq_top3": round(top3 / max(faq_total, 1), 4),
        "faq_answered_right": round(answered_right / max(faq_total, 1), 4),
        "out_of_scope_rejection": round(rejected / max(out_of_scope, 1), 4),
        "ms_per_message": round(elapsed / len(items) * 1000, 3),
        "confusions": Counter(m.split(":")[0] for m in misses).most_common(8),
        "misses": misses,
    }


def baseline_ms(services: Services, items: list[dict[str, Any]]) -> float:
    """Time per message of the keyword router alone, for the ratio."""
    started = time.perf_counter()
    for item in items:
        services.router.classify(item["text"])
    return (time.perf_counter() - started) / len(items) * 1000


def calibrate(services: Services, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Fit P(right answer) = logistic(a·score + b·coverage + c·rival + d) on one set's service
    and out-of-scope questions: the numbers for knowledge/retrieval.py CALIBRATION."""
    import numpy as np

    rows, labels = [], []
    for item in items:
        if item["intent"] not in ("faq", "other"):
            continue
        matches = services.faq.search(item["text"], k=2)
        if not matches:
            continue
        scores = [m.score for m in matches]
        rows.append((matches[0].score, matches[0].coverage, rival_share(scores, 0), 1.0))
        right = item["intent"] == "faq" and item.get("faq_id") == matches[0].entry.id
        labels.append(1.0 if right else 0.0)
    x, y = np.array(rows), np.array(labels)
    weights = np.zeros(4)
    for _ in range(20_000):  # plain gradient ascent on the log-likelihood; tiny data
        p = 1 / (1 + np.exp(-x @ weights))
        weights += 0.05 * x.T @ (y - p) / len(y)
    return {"calibration": [round(float(w), 3) for w in weights], "questions": len(y)}


def main() -> None:
    """Load the knowledge once, evaluate, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", choices=("dev", "holdout", "all"), default="all")
    parser.add_argument("--misses", action="store_true", help="list every wrong intent")
    parser.add_argument("--calibrate", action="store_true", help="fit the FAQ confidence on dev")
    args = parser.parse_args()
    started = time.perf_counter()
    services = build_services(Settings.from_mapping({}))
    load_seconds = time.perf_counter() - started
    if args.calibrate:
        print(json.dumps(calibrate(services, load_set("dev"))))
        return
    report: dict[str, Any] = {"benchmark": "understanding", "load_seconds": round(load_seconds, 2)}
    for name in SETS if args.set == "all" else (args.set,):
        items = load_set(name)
        understand(services, "预热")  # first call builds jieba's lazy state
        figures = evaluate(services, items)
        base = baseline_ms(services, items)
        figures["baseline_keyword_router_ms"] = round(base, 3)
        figures["ratio_to_baseline"] = round(figures["ms_per_message"] / base, 2)
        if not args.misses:
            figures.pop("misses")
        report[name] = figures
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

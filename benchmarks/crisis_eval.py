"""Evaluation of the crisis screen that cannot flatter itself (issue 17).

Three sets stay apart:
- training: `knowledge/crisis_corpus/*.yaml`, what the model learns from (and the lexicon is
  tuned on); a stable fifth of it is held out here as the **dev** split, which the
  evaluated model never sees (the service itself trains on all of it);
- **blind**: `tests/data/crisis_blind/*.yaml`, written by helpers who never saw the lexicon,
  the model or the training data — reported apart, never copied into training;
- the project's own labelled cases, `tests/knowledge/crisis_cases.yaml`.

For each set: detected (any severity) and definitive (imminent/high) recall per family, and
false alarms (any severity, definitive) on the tricky non-crisis messages; then
leave-one-family-out recall of the learned detector alone (trained without a family's crisis
messages, tested on them); then the screen's speed against normalisation alone.

    .venv/bin/python benchmarks/crisis_eval.py [--skip-lofo]

Prints one JSON object."""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.app import typed_phrases
from handlers.i18n import Texts
from knowledge.crisis import CrisisScreen
from knowledge.crisis_model import CrisisModel, Example, load_corpus, ordinary_messages
from knowledge.data import load_yaml

ROOT = Path(__file__).resolve().parents[1]
BLIND = ROOT / "tests" / "data" / "crisis_blind"
OWN_CASES = ROOT / "tests" / "knowledge" / "crisis_cases.yaml"


def is_dev(example: Example) -> bool:
    """The stable fifth of the corpus held out as the dev split."""
    return hashlib.sha256(example.text.encode()).digest()[0] % 5 == 0


def own_cases() -> list[Example]:
    """tests/knowledge/crisis_cases.yaml as examples (family: the case's kind or why)."""
    data: Any = load_yaml(OWN_CASES.read_text("utf-8"))
    found = []
    for lang, cases in (data.get("crisis") or {}).items():
        found += [Example(c["text"], True, f"own_{c['kind']}", lang) for c in cases]
    for lang, cases in (data.get("not_crisis") or {}).items():
        found += [Example(c["text"], False, "own_tricky", lang) for c in cases]
    return found


def evaluate(
    screen: CrisisScreen, examples: Sequence[Example], *, show: bool = True
) -> dict[str, Any]:
    """Recall per crisis family and false alarms per tricky family, any severity and
    definitive, plus the misses when `show` (never for the blind set: its texts stay out of
    sight of whoever writes training cases — per-family figures say where to write more)."""
    families: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[bool, dict[str, int]] = {True: defaultdict(int), False: defaultdict(int)}
    missed: list[str] = []
    alarms: list[str] = []
    for example in examples:
        result = screen.screen(example.text)
        for counts in (families[example.family], totals[example.crisis]):
            counts["messages"] += 1
            counts["flagged"] += result.flagged
            counts["definitive"] += result.is_crisis
        if example.crisis and not result.flagged:
            missed.append(f"[{example.family}] {example.text}")
        if not example.crisis and result.flagged:
            alarms.append(f"[{example.family}/{result.severity}] {example.text}")

    def share(counts: dict[str, int], key: str) -> float:
        return round(counts[key] / counts["messages"], 4) if counts["messages"] else 0.0

    return {
        "crisis_messages": totals[True]["messages"],
        "tricky_messages": totals[False]["messages"],
        "detected": share(totals[True], "flagged"),
        "definitive": share(totals[True], "definitive"),
        "false_alarms": share(totals[False], "flagged"),
        "false_alarms_definitive": share(totals[False], "definitive"),
        "families": {
            name: {
                "messages": c["messages"],
                "flagged": share(c, "flagged"),
                "definitive": share(c, "definitive"),
            }
            for name, c in sorted(families.items())
        },
        "missed": missed[:60] if show else len(missed),
        "false_alarm_examples": alarms[:60] if show else len(alarms),
    }


def leave_one_family_out(
    train: Sequence[Example], screen: CrisisScreen, threshold: float
) -> dict[str, Any]:
    """Recall of the learned detector alone on each crisis family it was not trained on."""
    recall = {}
    for family in sorted({e.family for e in train if e.crisis}):
        held = [e for e in train if e.crisis and e.family == family]
        model = CrisisModel.train([e for e in train if e.family != family], screen.prepare)
        hits = sum(model.assess(screen.prepare(e.text))[0] >= threshold for e in held)
        recall[family] = round(hits / len(held), 3)
    values = list(recall.values())
    return {"families": recall, "mean": round(sum(values) / len(values), 4) if values else 0}


def speed(screen: CrisisScreen, texts: Sequence[str], rounds: int = 3) -> dict[str, float]:
    """Microseconds per message: the whole screen, against normalisation alone."""
    timings = []
    for work in (screen.screen, screen.prepare):
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            for text in texts:
                work(text)
            best = min(best, time.perf_counter() - started)
        timings.append(best / len(texts) * 1e6)
    return {
        "screen_us_per_message": round(timings[0], 1),
        "baseline_prepare_us_per_message": round(timings[1], 1),
        "ratio": round(timings[0] / timings[1], 1),
    }


def main(skip_lofo: bool) -> dict[str, Any]:
    typed = typed_phrases(Texts.load())
    corpus = [*load_corpus(), *ordinary_messages(typed=typed)]
    train = [e for e in corpus if not is_dev(e)]
    dev = [e for e in corpus if is_dev(e)]
    blind = load_corpus(BLIND.glob("*.yaml"))
    screen = CrisisScreen.load()
    lexicon_only = {"dev": evaluate(screen, dev), "blind": evaluate(screen, blind, show=False)}
    screen.model = CrisisModel.train(train, screen.prepare)
    report: dict[str, Any] = {
        "benchmark": "crisis_eval",
        "training_messages": len(train),
        "thresholds": {"possible": screen.thresholds[0], "high": screen.thresholds[1]},
        "dev": evaluate(screen, dev),
        "blind": evaluate(screen, blind, show=False),
        "own_cases": evaluate(screen, own_cases()),
        "lexicon_only": {
            name: {k: v for k, v in found.items() if k in ("detected", "false_alarms")}
            for name, found in lexicon_only.items()
        },
        "speed": speed(screen, [e.text for e in dev[:500]]),
    }
    if not skip_lofo:
        report["leave_one_family_out"] = leave_one_family_out(train, screen, screen.thresholds[0])
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-lofo", action="store_true", help="skip the slow part")
    print(json.dumps(main(parser.parse_args().skip_lofo), ensure_ascii=False, indent=2))

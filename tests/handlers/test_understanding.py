"""Understanding quality on the labelled sets of tests/data (measured by
benchmarks/understanding.py): floors a little below today's figures, so a regression fails.

`holdout` is never used for tuning; it stands for messages the router has not seen."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.understanding import evaluate, load_set
from handlers.context import Services

# Measured 2026-11-27 (benchmarks/README.md): dev 95.4 / 98.3 / 95.9 / 100,
# holdout 94.3 / 94.6 / 92.1 / 100 (intent, category, FAQ top-1, out-of-scope rejection).
FLOORS = {
    "dev": {"intent_accuracy": 0.93, "category_accuracy": 0.95, "faq_top1": 0.93,
            "faq_answered_right": 0.88, "out_of_scope_rejection": 0.97},
    "holdout": {"intent_accuracy": 0.92, "category_accuracy": 0.91, "faq_top1": 0.90,
                "faq_answered_right": 0.82, "out_of_scope_rejection": 0.95},
}  # fmt: skip


@pytest.fixture(scope="module")
def figures(services: Services) -> dict[str, dict[str, Any]]:
    return {name: evaluate(services, load_set(name)) for name in FLOORS}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_quality_stays_above_its_floors(figures: dict[str, dict[str, Any]], name: str) -> None:
    measured = figures[name]
    for metric, floor in FLOORS[name].items():
        assert measured[metric] >= floor, (metric, measured[metric], measured["misses"][:20])


def test_the_sets_are_as_large_as_promised() -> None:
    for name in FLOORS:
        items = load_set(name)
        assert len(items) >= 300
        faq_ids = [i["faq_id"] for i in items if i["intent"] == "faq" and i.get("faq_id")]
        assert all(faq_ids.count(topic) >= 4 for topic in set(faq_ids)) and len(set(faq_ids)) == 40
        assert sum(i["intent"] == "other" for i in items) >= 40

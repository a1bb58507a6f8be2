"""Complaint categories: exactly the eight ids, their labels and deadlines, deployment overrides."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from knowledge.categories import CATEGORY_IDS, Category, load_categories
from knowledge.faq import KnowledgeError

IDS = (
    "facilities", "sanitation", "property", "noise", "dispute", "construction", "safety", "other"
)  # fmt: skip


def test_exactly_the_eight_categories_in_order() -> None:
    """The ids the router, tickets and reports use, in the order buttons show them."""
    categories = load_categories()
    assert tuple(categories) == IDS == CATEGORY_IDS
    assert all(c.id == key for key, c in categories.items())


def test_labels_and_descriptions() -> None:
    """Short bilingual labels for buttons and a one-line description in each language."""
    categories = load_categories()
    assert categories["facilities"].label("zh") == "道路设施"
    assert categories["facilities"].label("en") == "Roads & facilities"
    assert categories["safety"].label("zh") == "安全隐患"
    assert categories["dispute"].label("en") == "Neighbour dispute"
    assert categories["other"].label("zh") == "其他"
    for category in categories.values():
        assert 1 <= len(category.zh) <= 6
        assert 1 <= len(category.en) <= 24
        for text in (category.description_zh, category.description_en):
            assert text and "\n" not in text
        assert category.description("en") == category.description_en
        assert category.description("zh") == category.description_zh
    labels = [c.zh for c in categories.values()] + [c.en.lower() for c in categories.values()]
    assert len(set(labels)) == len(labels)


def test_deadlines_kinds_and_urgency() -> None:
    """Safety is urgent with one working day; noise three; a dispute goes to mediation."""
    categories = load_categories()
    days = {c.id: c.deadline_working_days for c in categories.values()}
    assert days == {
        "facilities": 5,
        "sanitation": 5,
        "property": 5,
        "noise": 3,
        "dispute": 5,
        "construction": 5,
        "safety": 1,
        "other": 5,
    }
    assert [c.id for c in categories.values() if c.ticket_kind == "mediation"] == ["dispute"]
    assert {c.ticket_kind for c in categories.values()} == {"complaint", "mediation"}
    assert [c.id for c in categories.values() if c.urgent] == ["safety"]


def test_categories_are_frozen() -> None:
    """Shared across every conversation, so nobody may change one in place."""
    category = load_categories()["noise"]
    assert isinstance(category, Category)
    with pytest.raises(dataclasses.FrozenInstanceError):
        category.deadline_working_days = 1  # type: ignore[misc]


def test_deployment_overrides_fields_per_id(tmp_path: Path) -> None:
    """Only the fields a deployment names change; the rest stay packaged."""
    (tmp_path / "categories.yaml").write_text(
        "categories:\n"
        "  noise:\n"
        "    deadline_working_days: 2\n"
        "    urgent: true\n"
        "  other:\n"
        "    en: Something else\n",
        "utf-8",
    )
    categories = load_categories(tmp_path)
    assert tuple(categories) == IDS
    assert categories["noise"].deadline_working_days == 2
    assert categories["noise"].urgent
    assert categories["noise"].zh == "噪音扰民"
    assert categories["other"].en == "Something else"
    assert categories["other"].zh == "其他"
    assert load_categories()["noise"].deadline_working_days == 3
    assert load_categories(tmp_path / "absent")["noise"].deadline_working_days == 3


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("categories:\n  parking:\n    zh: 停车\n", "unknown category"),
        ("categories:\n  noise:\n    colour: red\n", "unknown fields"),
        ("categories:\n  noise:\n    deadline_working_days: 0\n", "deadline_working_days"),
        ("categories:\n  noise:\n    deadline_working_days: '3'\n", "deadline_working_days"),
        ("categories:\n  noise:\n    ticket_kind: crisis\n", "ticket_kind"),
        ("categories:\n  noise:\n    urgent: maybe\n", "urgent"),
        ("categories:\n  noise:\n    zh: ''\n", "zh"),
        ("categories:\n  noise: 3\n", "mapping"),
        ("- noise\n", "mapping"),
        ("categories: {}\nextra: 1\n", "unknown keys"),
        ("categories: [\n", "not valid YAML"),
    ],
)
def test_bad_override_is_reported(tmp_path: Path, text: str, reason: str) -> None:
    """A bad deployment file names the file, the category and the reason."""
    (tmp_path / "categories.yaml").write_text(text, "utf-8")
    with pytest.raises(KnowledgeError, match=reason) as caught:
        load_categories(tmp_path)
    assert caught.value.path == tmp_path / "categories.yaml"


def test_empty_override_changes_nothing(tmp_path: Path) -> None:
    """An empty deployment file is allowed."""
    (tmp_path / "categories.yaml").write_text("# nothing yet\n", "utf-8")
    assert load_categories(tmp_path) == load_categories()

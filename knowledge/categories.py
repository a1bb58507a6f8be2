"""Complaint categories from categories.yaml: labels, deadlines, ticket kind, urgency."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from knowledge.data import load_yaml
from knowledge.faq import KnowledgeError

FILENAME = "categories.yaml"
PACKAGED = Path(__file__).with_name(FILENAME)
CATEGORY_IDS = (
    "facilities", "sanitation", "property", "noise", "dispute", "construction", "safety", "other"
)  # fmt: skip
TICKET_KINDS = frozenset({"complaint", "mediation"})
_TEXT_FIELDS = ("zh", "en", "description_zh", "description_en")


@dataclass(frozen=True, slots=True)
class Category:
    """One complaint category: how it is shown, how long staff have, where it goes."""

    id: str
    zh: str
    en: str
    description_zh: str
    description_en: str
    deadline_working_days: int
    ticket_kind: str
    urgent: bool = False

    def label(self, locale: str) -> str:
        """The short button label in the resident's language."""
        return self.en if locale == "en" else self.zh

    def description(self, locale: str) -> str:
        """The one-line description in the resident's language."""
        return self.description_en if locale == "en" else self.description_zh


_FIELDS = frozenset(f.name for f in fields(Category)) - {"id"}


def load_categories(knowledge_dir: Path | None = None) -> dict[str, Category]:
    """The eight categories in canonical order; a deployment's file overrides fields per id."""
    base = _entries(PACKAGED)
    missing = [i for i in CATEGORY_IDS if i not in base]
    if missing:
        raise KnowledgeError(PACKAGED, None, f"missing categories {missing}")
    categories = {i: _category(PACKAGED, i, base[i]) for i in CATEGORY_IDS}
    override = knowledge_dir / FILENAME if knowledge_dir is not None else None
    if override is not None and override.is_file():
        for category_id, changes in _entries(override).items():
            merged = replace(categories[category_id], **_checked(override, category_id, changes))
            categories[category_id] = _validated(override, merged)
    return categories


def _entries(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = load_yaml(path)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise KnowledgeError(path, None, f"not valid YAML: {error}") from error
    if data is None and path != PACKAGED:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise KnowledgeError(path, None, "expected a mapping `categories:` of id → fields")
    if set(data) != {"categories"}:
        raise KnowledgeError(
            path, None, f"unknown keys {sorted(set(map(str, data)) - {'categories'})}"
        )
    entries: dict[str, dict[str, Any]] = {}
    for category_id, entry in data["categories"].items():
        if category_id not in CATEGORY_IDS:
            raise KnowledgeError(
                path, str(category_id), f"unknown category; the ids are {', '.join(CATEGORY_IDS)}"
            )
        if not isinstance(entry, dict):
            raise KnowledgeError(path, category_id, "a category must be a mapping of fields")
        entries[category_id] = entry
    return entries


def _checked(path: Path, category_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    unknown = set(entry) - _FIELDS
    if unknown:
        raise KnowledgeError(path, category_id, f"unknown fields {sorted(map(str, unknown))}")
    return dict(entry)


def _category(path: Path, category_id: str, entry: dict[str, Any]) -> Category:
    values = _checked(path, category_id, entry)
    absent = sorted(_FIELDS - set(values) - {"urgent"})
    if absent:
        raise KnowledgeError(path, category_id, f"missing fields {absent}")
    return _validated(path, Category(id=category_id, **values))


def _validated(path: Path, category: Category) -> Category:
    def fail(reason: str) -> KnowledgeError:
        return KnowledgeError(path, category.id, reason)

    for name in _TEXT_FIELDS:
        value = getattr(category, name)
        if not isinstance(value, str) or not value.strip():
            raise fail(f"`{name}` must be non-empty text")
    days = category.deadline_working_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 60:
        raise fail("`deadline_working_days` must be a whole number from 1 to 60")
    if category.ticket_kind not in TICKET_KINDS:
        raise fail(f"`ticket_kind` must be one of {sorted(TICKET_KINDS)}")
    if not isinstance(category.urgent, bool):
        raise fail("`urgent` must be true or false")
    return replace(category, **{name: getattr(category, name).strip() for name in _TEXT_FIELDS})

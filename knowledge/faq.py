"""The service FAQ: entries read from YAML files, validated, with a deployment's own files
overriding or adding entries by id."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.data import load_yaml

log = logging.getLogger(__name__)

PACKAGED_DIR = Path(__file__).with_name("faq")
LANGUAGES = ("zh", "en")
CATEGORIES = frozenset(
    {
        "elderly", "children", "newcomer", "employment", "legal", "welfare", "housing",
        "environment", "safety", "health", "psych", "participation", "community", "bot",
    }
)  # fmt: skip


class KnowledgeError(ValueError):
    """A knowledge file that cannot be used, with where and why."""

    def __init__(self, path: Path, entry: str | None, reason: str) -> None:
        self.path, self.entry, self.reason = path, entry, reason
        where = f"{path}" + (f", entry {entry!r}" if entry else "")
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class Bilingual:
    """A text in Chinese and English."""

    zh: str
    en: str

    def get(self, locale: str) -> str:
        """The text in `locale` (Chinese unless English is asked for)."""
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One service question and its answer."""

    id: str
    category: str
    question: Bilingual
    alternates: Mapping[str, tuple[str, ...]]
    keywords: Mapping[str, tuple[str, ...]]
    answer: Bilingual
    office: str | None
    updated: dt.date
    source: Path

    def phrasings(self, language: str) -> tuple[str, ...]:
        """The standard question and its alternates in one language."""
        return (self.question.get(language), *self.alternates.get(language, ()))


def load_entries(
    knowledge_dir: Path | None = None, *, offices: Iterable[str] = ()
) -> dict[str, FaqEntry]:
    """All FAQ entries: the packaged ones, then a deployment's `faq/` files by id on top.

    Raises KnowledgeError naming the file, entry and reason of the first bad file."""
    known_offices = set(offices)
    entries = _load_dir(PACKAGED_DIR, known_offices)
    if knowledge_dir is not None and (knowledge_dir / "faq").is_dir():
        entries.update(_load_dir(knowledge_dir / "faq", known_offices))
    return entries


def _load_dir(directory: Path, offices: set[str]) -> dict[str, FaqEntry]:
    entries: dict[str, FaqEntry] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = load_yaml(path.read_text("utf-8"))
        except yaml.YAMLError as exc:
            raise KnowledgeError(path, None, f"not valid YAML: {exc}") from exc
        items = data if isinstance(data, list) else [data]
        for item in items:
            entry = _entry(path, item, offices)
            if entry.id in entries:
                raise KnowledgeError(path, entry.id, f"id also used in {entries[entry.id].source}")
            entries[entry.id] = entry
    return entries


def _entry(path: Path, item: Any, offices: set[str]) -> FaqEntry:
    if not isinstance(item, dict):
        raise KnowledgeError(path, None, "an entry must be a mapping")
    entry_id = item.get("id")
    if not isinstance(entry_id, str) or not entry_id:
        raise KnowledgeError(path, None, "missing `id`")

    def fail(reason: str) -> KnowledgeError:
        return KnowledgeError(path, entry_id, reason)

    category = item.get("category")
    if category not in CATEGORIES:
        raise fail(f"`category` must be one of {sorted(CATEGORIES)}, not {category!r}")
    office = item.get("office")
    if office is not None and offices and office not in offices:
        raise fail(f"`office` {office!r} is not in places.yaml")
    updated = item.get("updated")
    if isinstance(updated, str):
        try:
            updated = dt.date.fromisoformat(updated)
        except ValueError as exc:
            raise fail("`updated` must be a date like 2026-11-27") from exc
    if not isinstance(updated, dt.date):
        raise fail("`updated` must be a date like 2026-11-27")
    return FaqEntry(
        id=entry_id,
        category=str(category),
        question=_bilingual(item.get("question"), fail, "question"),
        alternates=_lists(item.get("alternates"), fail, "alternates"),
        keywords=_lists(item.get("keywords"), fail, "keywords"),
        answer=_bilingual(item.get("answer"), fail, "answer"),
        office=office,
        updated=updated,
        source=path,
    )


def _bilingual(value: Any, fail: Any, field: str) -> Bilingual:
    if not isinstance(value, dict):
        raise fail(f"`{field}` needs `zh` and `en`")
    texts = {}
    for language in LANGUAGES:
        text = value.get(language)
        if not isinstance(text, str) or not text.strip():
            raise fail(f"`{field}.{language}` is missing or empty")
        texts[language] = text.strip()
    return Bilingual(**texts)


def _lists(value: Any, fail: Any, field: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {language: () for language in LANGUAGES}
    if not isinstance(value, dict):
        raise fail(f"`{field}` must map zh/en to lists")
    lists = {}
    for language in LANGUAGES:
        items = value.get(language) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise fail(f"`{field}.{language}` must be a list of texts")
        lists[language] = tuple(i.strip() for i in items if i.strip())
    return lists

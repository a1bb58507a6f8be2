"""The deliberation hall's word filter: finds insults and personal numbers in what a resident
wants to publish, from knowledge/moderation.yaml (plus a deployment's own file)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.data import load_yaml
from knowledge.faq import KnowledgeError
from knowledge.normalize import normalize

FILENAME = "moderation.yaml"
PACKAGED = Path(__file__).with_name(FILENAME)


@dataclass(frozen=True, slots=True)
class WordFilter:
    """Category → compiled pattern; `check` says which categories a text trips."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def load(cls, knowledge_dir: Path | None = None) -> WordFilter:
        """The packaged list, plus the words and patterns of a deployment's own file."""
        collected: dict[str, list[str]] = {}
        for path in (PACKAGED, knowledge_dir / FILENAME if knowledge_dir else None):
            if path is not None and path.is_file():
                _read(path, collected)
        compiled = []
        for category, alternatives in collected.items():
            try:
                compiled.append((category, re.compile("|".join(alternatives))))
            except re.error as error:
                raise KnowledgeError(PACKAGED, category, f"bad pattern: {error}") from error
        return cls(tuple(compiled))

    def check(self, text: str) -> list[str]:
        """The categories whose words or patterns occur in `text` (empty: nothing found)."""
        prepared = normalize(text)
        return [category for category, pattern in self.patterns if pattern.search(prepared)]


def _read(path: Path, collected: dict[str, list[str]]) -> None:
    data: Any = load_yaml(path) or {}
    categories = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(categories, dict):
        raise KnowledgeError(path, None, "expected `categories:`, a mapping")
    for category, entry in categories.items():
        if not isinstance(entry, dict) or set(entry) - {"words", "patterns"}:
            raise KnowledgeError(path, str(category), "expected `words:` and/or `patterns:`")
        target = collected.setdefault(str(category), [])
        for word in entry.get("words") or []:
            escaped = re.escape(normalize(str(word)))
            target.append(rf"\b{escaped}\b" if str(word).isascii() else escaped)
        target.extend(str(pattern) for pattern in entry.get("patterns") or [])

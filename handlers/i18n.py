"""The text catalogue: every sentence a resident reads, in Chinese (default) and English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from knowledge.data import load_yaml

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
CATALOGUE_DIR = Path(__file__).with_name("locales")


def pick_locale(hint: str | None) -> str:
    """The supported locale closest to a client's language hint ("en-US" → "en")."""
    if hint:
        base = hint.strip().lower().replace("_", "-").split("-")[0]
        if base in LOCALES:
            return base
    return DEFAULT_LOCALE


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    else:
        out[prefix] = str(node).rstrip("\n")


class Texts:
    """Looks up catalogue keys such as `complaint.ask_location` in a resident's language."""

    def __init__(self, catalogues: dict[str, dict[str, str]]) -> None:
        self._catalogues = catalogues

    @classmethod
    def load(cls, directory: Path = CATALOGUE_DIR) -> Texts:
        """Read `zh.yaml` and `en.yaml`; both must define exactly the same keys."""
        catalogues: dict[str, dict[str, str]] = {}
        for locale in LOCALES:
            flat: dict[str, str] = {}
            _flatten("", load_yaml((directory / f"{locale}.yaml").read_text("utf-8")), flat)
            catalogues[locale] = flat
        missing = set(catalogues["zh"]) ^ set(catalogues["en"])
        if missing:
            raise ValueError(f"catalogue keys differ between zh and en: {sorted(missing)}")
        return cls(catalogues)

    def get(self, locale: str, key: str, **values: object) -> str:
        """The text for `key` in `locale`, with `{placeholders}` filled in."""
        catalogue = self._catalogues.get(locale) or self._catalogues[DEFAULT_LOCALE]
        text = catalogue[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """True when the catalogue defines `key`."""
        return key in self._catalogues[DEFAULT_LOCALE]

    def all_keys(self) -> set[str]:
        """Every key of the catalogue."""
        return set(self._catalogues[DEFAULT_LOCALE])

    def phrases(self, *, max_chars: int) -> list[tuple[str, str]]:
        """(key, text) of every short text in every language — button labels and the like,
        which residents also type."""
        return [
            (key, text)
            for catalogue in self._catalogues.values()
            for key, text in catalogue.items()
            if len(text) <= max_chars and "{" not in text
        ]

    def variants(self, key: str) -> set[str]:
        """The text of `key` in every language (to recognise a typed button label)."""
        return {self._catalogues[locale][key] for locale in LOCALES}

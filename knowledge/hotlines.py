"""Hotline facts for the crisis reply, loaded from a reviewed knowledge file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.data import load_yaml

DEFAULT_HOTLINES = Path(__file__).with_name("hotlines.yaml")
CRISIS_KINDS = frozenset({"self", "domestic_violence", "others", "third_party"})
# Tags beside the crisis kinds: every crisis reply / the non-crisis distress reply.
KIND_TAGS = CRISIS_KINDS | {"crisis", "psych"}


@dataclass(frozen=True, slots=True)
class Hotline:
    """One phone line a resident in crisis can call, with its names and hours in zh and en."""

    id: str
    number: str
    name_zh: str
    name_en: str
    hours_zh: str
    hours_en: str
    kinds: tuple[str, ...]

    def serves(self, kind: str) -> bool:
        """True when this line is offered for the given crisis kind or tag."""
        return kind in self.kinds


def load_hotlines(path: Path | None = None) -> list[Hotline]:
    """Load hotlines in reply order (default: the packaged hotlines.yaml)."""
    source = path or DEFAULT_HOTLINES
    with source.open(encoding="utf-8") as handle:
        data: Any = load_yaml(handle)
    rows = data.get("hotlines") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{source}: expected a non-empty 'hotlines' list")
    hotlines: list[Hotline] = []
    for row in rows:
        kinds = tuple(str(kind) for kind in row.get("kinds") or ())
        unknown = set(kinds) - KIND_TAGS
        if unknown:
            raise ValueError(f"{source}: hotline {row.get('id')!r} has unknown kinds {unknown}")
        hotlines.append(
            Hotline(
                id=str(row["id"]),
                number=str(row["number"]),
                name_zh=str(row["name_zh"]),
                name_en=str(row["name_en"]),
                hours_zh=str(row.get("hours_zh", "")),
                hours_en=str(row.get("hours_en", "")),
                kinds=kinds,
            )
        )
    ids = [hotline.id for hotline in hotlines]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{source}: duplicate hotline ids")
    return hotlines

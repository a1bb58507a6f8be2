"""Where the community's services are: loaded from places.yaml (a deployment's own first)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.data import load_yaml

FILENAME = "places.yaml"
PACKAGED = Path(__file__).with_name(FILENAME)


@dataclass(frozen=True, slots=True)
class Slot:
    """A time window a resident can pick for an appointment."""

    id: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        """The window in the resident's language."""
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True, slots=True)
class Office:
    """An office or place that handles a service."""

    id: str
    name_zh: str
    name_en: str
    address_zh: str
    address_en: str
    phone: str
    hours_zh: str
    hours_en: str

    def text(self, field: str, locale: str) -> str:
        """A bilingual field (`name`, `address`, `hours`) in the resident's language."""
        return str(getattr(self, f"{field}_{'en' if locale == 'en' else 'zh'}"))


@dataclass(frozen=True, slots=True)
class CounselingRoom:
    """The community counselling room: its office entry, what it costs, how bookings work."""

    office: Office
    cost_zh: str
    cost_en: str
    reply_days: int
    slots: tuple[Slot, ...]

    @property
    def phone(self) -> str:
        """The room's phone number."""
        return self.office.phone

    def text(self, field: str, locale: str) -> str:
        """`cost` from here; `name`, `address`, `hours` from the room's office entry."""
        if field == "cost":
            return self.cost_en if locale == "en" else self.cost_zh
        return self.office.text(field, locale)

    def slot(self, slot_id: str) -> Slot | None:
        """A time window by id."""
        return next((s for s in self.slots if s.id == slot_id), None)


@dataclass(frozen=True, slots=True)
class Places:
    """Everything places.yaml describes."""

    def operator(self, locale: str) -> str:
        """Who runs the bot, in the resident's language."""
        return self.operator_en if locale == "en" else self.operator_zh

    community_zh: str
    community_en: str
    operator_zh: str
    operator_en: str
    counseling: CounselingRoom
    offices: dict[str, Office]


def load_places(knowledge_dir: Path | None = None) -> Places:
    """Read the deployment's places.yaml if it has one, else the packaged demo file."""
    override = knowledge_dir / FILENAME if knowledge_dir else None
    source = override if override and override.is_file() else PACKAGED
    data: Any = load_yaml(source.read_text("utf-8"))
    try:
        offices = {
            str(key): Office(id=str(key), **{k: str(v) for k, v in value.items()})
            for key, value in (data.get("offices") or {}).items()
        }
        room = data["counseling_room"]
        slots = tuple(Slot(str(s["id"]), str(s["zh"]), str(s["en"])) for s in room["slots"])
        if not slots:
            raise ValueError("counseling_room.slots is empty")
        counseling = CounselingRoom(
            office=offices[str(room["office"])],
            cost_zh=str(room["cost_zh"]),
            cost_en=str(room["cost_en"]),
            reply_days=int(room.get("reply_days", 2)),
            slots=slots,
        )
        return Places(
            community_zh=str(data["community"]["name_zh"]),
            community_en=str(data["community"]["name_en"]),
            operator_zh=str(data["community"]["operator_zh"]),
            operator_en=str(data["community"]["operator_en"]),
            counseling=counseling,
            offices=offices,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{source}: {exc!r}") from exc

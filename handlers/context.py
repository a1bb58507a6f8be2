"""What a feature step gets (the turn) and what it gives back (an outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Texts
from handlers.types import Button, Incoming, Reply
from storage.models import Conversation, Resident

if TYPE_CHECKING:
    from knowledge.categories import Category
    from knowledge.classifier import IntentModel
    from knowledge.crisis import CrisisScreen
    from knowledge.grids import GridMap
    from knowledge.hotlines import Hotline
    from knowledge.moderation import WordFilter
    from knowledge.places import Places
    from knowledge.retrieval import FaqIndex
    from knowledge.router import RouteDecision, Router
    from knowledge.workdays import WorkCalendar


@dataclass(frozen=True, slots=True)
class Services:
    """Everything features need besides the database, built once at start-up."""

    texts: Texts
    router: Router
    crisis: CrisisScreen
    hotlines: tuple[Hotline, ...]
    places: Places
    faq: FaqIndex
    intents: IntentModel
    categories: dict[str, Category]
    grids: GridMap
    calendar: WorkCalendar
    timezone: ZoneInfo
    retention_days: tuple[int, int] = (365, 180)  # closed tickets; crisis and counselling
    moderation: WordFilter | None = None  # the deliberation hall's word filter


@dataclass(slots=True)
class Turn:
    """One resident update being handled, inside one database transaction."""

    msg: Incoming
    resident: Resident
    conversation: Conversation
    session: AsyncSession
    services: Services
    now: datetime
    route: RouteDecision | None = None
    replayed_text: str | None = None  # an earlier message being handled now (clarify flow)

    @property
    def locale(self) -> str:
        """The resident's language."""
        return self.resident.locale

    @property
    def text(self) -> str:
        """The message text, trimmed ("" for buttons, photos and locations)."""
        if self.replayed_text is not None:
            return self.replayed_text
        return (self.msg.text or "").strip()

    @property
    def draft(self) -> dict[str, Any]:
        """The in-progress data of the active flow (kept under one key of the conversation)."""
        data = self.conversation.data
        if "draft" not in data:
            data["draft"] = {}
        draft: dict[str, Any] = data["draft"]
        return draft

    def t(self, key: str, **values: object) -> str:
        """A catalogue text in the resident's language."""
        return self.services.texts.get(self.locale, key, **values)

    def button(self, key: str, action: str) -> Button:
        """A button whose label is a catalogue text."""
        return Button(self.t(key), action)

    def reply(self, key: str, *buttons: Button, **values: object) -> Reply:
        """A reply whose text is a catalogue text."""
        return Reply(self.t(key, **values), tuple(buttons))

    def typed(self, key: str) -> bool:
        """True when the resident typed a button's label (in either language) instead of
        pressing it."""
        return self.text.lower() in {v.lower() for v in self.services.texts.variants(key)}


KEEP = "__keep__"  # the conversation stays where it is


@dataclass(frozen=True, slots=True)
class Outcome:
    """Replies for the resident plus where the conversation goes next."""

    replies: tuple[Reply, ...]
    flow: str | None = KEEP
    step: str | None = None
    draft: dict[str, Any] | None = None

    @classmethod
    def stay(cls, *replies: Reply) -> Outcome:
        """Answer without moving the conversation (e.g. /help in the middle of a flow)."""
        return cls(replies)

    @classmethod
    def start(
        cls, flow: str, step: str, *replies: Reply, draft: dict[str, Any] | None = None
    ) -> Outcome:
        """Enter a flow at a step, with a fresh draft."""
        return cls(replies, flow, step, dict(draft or {}))

    @classmethod
    def end(cls, *replies: Reply) -> Outcome:
        """Answer and leave any active flow."""
        return cls(replies, None, None)


class Step(Protocol):
    """A feature step: reads the turn, writes side effects, returns an outcome."""

    async def __call__(self, turn: Turn) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class Flow:
    """A named multi-step conversation: its steps by name and the action prefix its buttons use."""

    name: str
    steps: dict[str, Step] = field(default_factory=dict)
    cancelled: str = "cancel.done"  # what its "<name>:cancel" button answers

    def goto(self, step: str, *replies: Reply) -> Outcome:
        """Continue this flow at `step`."""
        if step not in self.steps:
            raise KeyError(f"{self.name} has no step {step!r}")
        return Outcome(replies, self.name, step)

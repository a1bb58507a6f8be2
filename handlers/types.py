"""The values that cross the channel edge: what a resident sent and what the bot answers."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_ACTION_BYTES = 64  # Telegram's callback-data limit; every channel keeps to it


@dataclass(frozen=True, slots=True)
class Location:
    """A place the resident shared, as coordinates and/or a typed address."""

    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a resident did: sent text, pressed a button, shared a location or a photo.

    `unsupported` names content the bot cannot take (sticker, voice, video, document)."""

    channel: str
    user_id: str
    update_id: str
    text: str | None = None
    action: str | None = None
    location: Location | None = None
    photo: str | None = None
    unsupported: str | None = None
    locale: str | None = None
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a reply; `action` is a short id (never a Chinese label) of ≤ 64 bytes."""

    label: str
    action: str

    def __post_init__(self) -> None:
        if len(self.action.encode()) > MAX_ACTION_BYTES:
            raise ValueError(f"button action longer than {MAX_ACTION_BYTES} bytes: {self.action}")


@dataclass(frozen=True, slots=True)
class Reply:
    """A message for a resident; `to` is set only for messages to someone else (outbox)."""

    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    to: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON shape every channel and the outbox share."""
        return {
            "text": self.text,
            "buttons": [{"label": b.label, "action": b.action} for b in self.buttons],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object], *, to: str | None = None) -> Reply:
        """Rebuild a reply from its JSON shape (an outbox payload)."""
        raw_buttons = data.get("buttons")
        buttons = tuple(
            Button(str(b["label"]), str(b["action"]))
            for b in (raw_buttons if isinstance(raw_buttons, list) else [])
        )
        return cls(str(data.get("text", "")), buttons, to)

"""A resident who chats with the real engine, for transcript tests."""

from __future__ import annotations

import itertools
from typing import Any

from handlers.engine import Engine
from handlers.types import Button, Incoming, Location, Reply
from storage import outbox
from storage.models import Resident

_ids = itertools.count(1)


class ResidentChat:
    """Sends messages as one resident and keeps what they saw."""

    def __init__(
        self, engine: Engine, *, user: str, channel: str = "console", locale: str | None = None
    ) -> None:
        self.engine = engine
        self.user = user
        self.channel = channel
        self.locale = locale
        self.seen: list[Reply] = []

    async def send(self, **fields: object) -> list[Reply]:
        """Send one update (fields of `Incoming`) and return the replies."""
        update_id = str(fields.pop("update_id", f"u{next(_ids)}"))
        incoming = Incoming(
            channel=self.channel,
            user_id=self.user,
            update_id=update_id,
            locale=self.locale,
            **fields,  # type: ignore[arg-type]
        )
        handled = await self.engine.handle(incoming)
        self.seen.extend(handled.replies)
        return list(handled.replies)

    async def say(self, text: str, **fields: object) -> list[Reply]:
        """Type a message."""
        return await self.send(text=text, **fields)

    async def press(self, action: str) -> list[Reply]:
        """Press a button by its action."""
        return await self.send(action=action)

    async def tap(self, label: str) -> list[Reply]:
        """Press the button with this label among the last replies' buttons."""
        button = self.button(label)
        return await self.press(button.action)

    async def share_location(self, latitude: float, longitude: float) -> list[Reply]:
        """Share a location."""
        return await self.send(location=Location(latitude, longitude))

    def button(self, label: str) -> Button:
        """The most recent button with this label."""
        for reply in reversed(self.seen):
            for button in reply.buttons:
                if button.label == label:
                    return button
        raise AssertionError(f"no button {label!r} among {self.labels()}")

    def labels(self) -> list[str]:
        """The labels of the buttons under the last reply that had buttons."""
        for reply in reversed(self.seen):
            if reply.buttons:
                return [b.label for b in reply.buttons]
        return []

    @property
    def last_text(self) -> str:
        """The text of the last reply."""
        return self.seen[-1].text


def texts(replies: list[Reply]) -> str:
    """All reply texts joined, for `in` assertions."""
    return "\n".join(r.text for r in replies)


async def queue_staff_reply(runtime: Any, resident: Resident, text: str, *, key: str) -> None:
    """Queue a staff member's message to a resident in the outbox, as staff tools will."""
    async with runtime.sessions.begin() as session:
        await outbox.enqueue(
            session,
            channel=resident.channel,
            recipient=resident.external_id,
            resident_id=resident.id,
            payload={"text": text, "buttons": []},
            dedupe_key=key,
            priority=outbox.PRIORITY_HIGH,
            now=runtime.clock(),
        )


async def fetch_one(sessions: Any, statement: Any) -> Any:
    """The single value or row a query returns, read in a session of its own."""
    async with sessions() as session:
        return (await session.execute(statement)).scalar_one()


async def fetch_all(sessions: Any, statement: Any) -> list[Any]:
    """Every value or row a query returns, read in a session of its own."""
    async with sessions() as session:
        return list((await session.execute(statement)).scalars().all())


async def report_problem(
    chat: ResidentChat,
    text: str,
    *,
    where: str = "和谐小区3号楼2单元",
    phone: str | None = None,
    anonymous: bool = False,
    join: bool = False,
) -> list[Reply]:
    """Go through the complaint intake with buttons (by action, so in any language)."""
    await chat.say(text)
    confirm = chat.seen[-1].buttons[0].action
    assert confirm.startswith("complaint:category:"), chat.seen[-1]
    await chat.press(confirm)
    await chat.say(where)
    await chat.press("complaint:skip")
    if phone:
        await chat.say(phone)
    else:
        await chat.press("complaint:skip")
    replies = await chat.press(f"complaint:privacy:{'anonymous' if anonymous else 'named'}")
    if any(b.action == "complaint:join" for r in replies for b in r.buttons):
        if join:
            return await chat.press("complaint:join")
        await chat.press("complaint:separate")
    return await chat.press("complaint:submit")

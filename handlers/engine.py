"""The engine: one resident update in, replies out, inside one database transaction."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import crisis, registry, screener
from handlers.context import KEEP, Outcome, Services, Turn
from handlers.i18n import pick_locale
from handlers.types import Incoming, Reply
from knowledge.crisis import CrisisResult
from storage import db, residents, updates

log = logging.getLogger(__name__)

# In these flows a message with some risk markers is not asked about (again).
ASKED_ALREADY = frozenset({crisis.CRISIS, screener.NAME})
CRISIS_REPLY_WITHIN = 0.4  # seconds a crisis reply waits for the database, at most
RESCUE_ATTEMPTS = 12  # with doubling pauses capped at a minute: about eight minutes in all
RESCUE_MAX_DELAY = 60.0


@dataclass(frozen=True, slots=True)
class Handled:
    """What the channel sends back: the replies, in the resident's language."""

    replies: tuple[Reply, ...]
    locale: str
    duplicate: bool = False
    # For a duplicate: what the update was answered the first time. A channel whose client
    # retries only for want of an answer (the web chat) shows it again; a platform that
    # redelivers after an answer may already have arrived (Telegram) does not.
    earlier: tuple[Reply, ...] = ()
    # What answered, for monitoring: a router intent, a flow's name, "crisis", "command",
    # "button", "input", "duplicate" or "error" — never anything the resident wrote.
    route: str = ""


class _AlreadyHandled(Exception):
    """This update was handled before: roll back this attempt."""


# Called after every update with the update, its result and the seconds it took (metrics,
# logs); never with the session, and an observer's failure never reaches the resident.
Observer = Callable[[Incoming, Handled, float], None]


class Engine:
    """Runs the message pipeline of ARCHITECTURE.md for every channel."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        services: Services,
        *,
        clock: Callable[[], datetime],
        rescue_delay: float = 1.0,
        crisis_reply_within: float = CRISIS_REPLY_WITHIN,
    ) -> None:
        self._sessions = sessions
        self.services = services
        self._clock = clock
        self._rescue_delay = rescue_delay
        self._crisis_reply_within = crisis_reply_within
        self._rescues: set[asyncio.Task[Any]] = set()  # crisis work still being stored
        self.observers: list[Observer] = []

    async def handle(self, msg: Incoming) -> Handled:
        """Handle one update exactly once and return what the resident should see."""
        started = time.perf_counter()
        handled = await self._handle_safely(msg)
        elapsed = time.perf_counter() - started
        for observe in self.observers:
            try:
                observe(msg, handled, elapsed)
            except Exception:
                log.exception("an update observer failed")
        return handled

    async def _handle_safely(self, msg: Incoming) -> Handled:
        msg = _storable(msg)
        # Safety first: the crisis screen needs no database, so it runs even when storage fails.
        result = self.services.crisis.screen(msg.text) if msg.text else None
        locale = pick_locale(msg.locale)
        if result is not None and result.is_crisis:
            return await self._handle_crisis(msg, result, locale)
        try:
            return await self._handle(msg, result, locale)
        except Exception:
            # Nothing was committed, so the update is not marked as processed: a channel
            # retry (or the resident sending again) is handled afresh.
            log.exception("update %s/%s failed", msg.channel, msg.update_id)
            try_again = Reply(self.services.texts.get(locale, "error.try_again"))
            return Handled((try_again,), locale, route="error")

    async def _handle_crisis(self, msg: Incoming, result: CrisisResult, locale: str) -> Handled:
        """A crisis is answered at once whatever the database does: when storing takes longer
        than `crisis_reply_within` (a lock held by another process, a slow disk), the fixed
        reply goes out now and the urgent ticket and staff alert are stored as soon as the
        database allows — or, if that fails, retried by the rescue."""
        turn = asyncio.create_task(self._handle(msg, result, locale))
        done, _ = await asyncio.wait({turn}, timeout=self._crisis_reply_within)
        if turn in done:
            try:
                return turn.result()
            except Exception:
                log.exception("update %s/%s failed", msg.channel, msg.update_id)
                self._rescue_later(msg, result)
        else:
            log.warning("crisis %s/%s: replying before it is stored", msg.channel, msg.update_id)
            self._rescues.add(turn)
            turn.add_done_callback(functools.partial(self._stored_late, msg, result))
        reply = crisis.crisis_reply(self.services, locale, result, staff_alerted=False)
        return Handled((reply,), locale, route=crisis.CRISIS)

    def _stored_late(self, msg: Incoming, result: CrisisResult, turn: asyncio.Task[Any]) -> None:
        """A crisis turn that outlived its reply ended: stored, or handed to the rescue."""
        self._rescues.discard(turn)
        if turn.cancelled() or turn.exception() is not None:
            log.error("crisis %s/%s was not stored: rescuing it", msg.channel, msg.update_id)
            self._rescue_later(msg, result)

    async def _handle(self, msg: Incoming, result: CrisisResult | None, locale: str) -> Handled:
        try:
            return await self._handle_once(msg, result, locale)
        except _AlreadyHandled:
            # A redelivery: what this attempt did is rolled back; the channel may show the
            # answer the update got the first time (it may never have reached the resident).
            async with self._sessions() as session:
                stored = await updates.replies_of(
                    session, channel=msg.channel, update_id=msg.update_id
                )
            earlier = tuple(Reply.from_dict(reply) for reply in stored or ())
            return Handled((), locale, duplicate=True, route="duplicate", earlier=earlier)

    async def _handle_once(
        self, msg: Incoming, result: CrisisResult | None, locale: str
    ) -> Handled:
        """Do the update's work and record it as handled last, in one transaction; the
        resident's row lock orders concurrent deliveries, and the second one finds the record
        and rolls back."""
        async with db.unit_of_work(self._sessions) as session:
            turn = await self._turn(session, msg, locale)
            conversation = turn.conversation
            before = _snapshot(conversation.flow, conversation.step, conversation.data)
            flow = conversation.flow
            if result is not None and flow not in ASKED_ALREADY:
                result = screener.accumulate(conversation, result, turn.now)
            if result is not None and result.is_crisis:
                outcome = await crisis.respond(turn, result)
                route = crisis.CRISIS
            elif result is not None and result.flagged and flow not in ASKED_ALREADY:
                outcome = await screener.ask(turn, result)
                route = screener.NAME
            else:
                outcome = await registry.dispatch(turn)
                route = _route(turn, flow, outcome)
            self._apply(turn, outcome, before)
            replies = [reply.as_dict() for reply in outcome.replies]
            if not await updates.record_update(
                session, channel=msg.channel, update_id=msg.update_id, replies=replies
            ):
                raise _AlreadyHandled
            return Handled(outcome.replies, turn.locale, route=route)

    async def _turn(self, session: AsyncSession, msg: Incoming, locale: str) -> Turn:
        now = self._clock()
        state = await residents.load_for_update(
            session,
            channel=msg.channel,
            external_id=msg.user_id,
            locale=locale,
            now=now,
            display_name=msg.display_name,
        )
        return Turn(msg, state.resident, state.conversation, session, self.services, now)

    def _rescue_later(self, msg: Incoming, result: CrisisResult) -> None:
        task = asyncio.create_task(self._rescue(msg, result))
        self._rescues.add(task)
        task.add_done_callback(self._rescues.discard)

    async def _rescue(self, msg: Incoming, result: CrisisResult) -> None:
        """The crisis reply went out but storing failed: keep trying to file the urgent ticket
        and alert staff, with growing pauses (safety.md §3)."""
        delay = self._rescue_delay
        for attempt in range(1, RESCUE_ATTEMPTS + 1):
            await asyncio.sleep(delay)
            try:
                async with self._sessions.begin() as session:
                    if not await updates.claim_update(
                        session, channel=msg.channel, update_id=msg.update_id
                    ):
                        return  # a redelivery of the update was handled meanwhile
                    turn = await self._turn(session, msg, pick_locale(msg.locale))
                    await crisis.record(turn, result)
                    residents.set_flow(
                        turn.conversation,
                        flow=crisis.CRISIS,
                        step=crisis.HOLD,
                        data={},
                        now=turn.now,
                    )
            except Exception:
                log.exception(
                    "crisis alert for %s/%s: attempt %d failed", msg.channel, msg.update_id, attempt
                )
                delay = min(delay * 2, RESCUE_MAX_DELAY)
            else:
                log.warning(
                    "crisis alert for %s/%s stored on attempt %d",
                    msg.channel,
                    msg.update_id,
                    attempt,
                )
                return
        log.critical("crisis alert for %s/%s could not be stored", msg.channel, msg.update_id)

    async def drain(self) -> None:
        """Wait for crisis alerts still being retried (shutdown, tests)."""
        if self._rescues:
            await asyncio.wait(set(self._rescues))

    @property
    def rescues_pending(self) -> int:
        """How many crisis alerts are still waiting for the database."""
        return len(self._rescues)

    @staticmethod
    def _apply(turn: Turn, outcome: Outcome, before: str) -> None:
        """Move the conversation where the outcome says; write only if that changes it."""
        conversation = turn.conversation
        if outcome.flow == KEEP:
            flow, step, data = conversation.flow, conversation.step, conversation.data
        elif outcome.flow is None:
            flow, step, data = None, None, {}
        else:
            fresh = outcome.draft is not None or outcome.flow != conversation.flow
            flow, step = outcome.flow, outcome.step
            data = {"draft": dict(outcome.draft or {})} if fresh else conversation.data
        if _snapshot(flow, step, data) != before:
            residents.set_flow(conversation, flow=flow, step=step, data=data, now=turn.now)


def _storable(msg: Incoming) -> Incoming:
    """The update without what no database can store: NUL characters (PostgreSQL refuses
    them) and lone surrogates (not UTF-8), which only a hostile or broken client sends."""
    changes: dict[str, Any] = {}
    for name in ("text", "action", "photo", "display_name", "user_id", "update_id"):
        value = getattr(msg, name)
        if value is not None and _unstorable(value):
            changes[name] = _clean(value)
    if msg.location is not None and msg.location.address and _unstorable(msg.location.address):
        changes["location"] = replace(msg.location, address=_clean(msg.location.address))
    return replace(msg, **changes) if changes else msg


def _unstorable(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _clean(value: str) -> str:
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _route(turn: Turn, flow: str | None, outcome: Outcome) -> str:
    """What answered the update, in a few words fit for a metric label."""
    if turn.route is not None:
        return turn.route.intent
    if turn.text.startswith("/"):
        return "command"
    started = outcome.flow if outcome.flow not in (None, KEEP) else None
    if flow or started:
        return str(flow or started)
    return "button" if turn.msg.action is not None else "input"


def _snapshot(flow: str | None, step: str | None, data: dict[str, Any]) -> str:
    # Drafts are edited in place, so compare serialised states to know whether to write.
    return json.dumps([flow, step, data], sort_keys=True, ensure_ascii=False, default=str)

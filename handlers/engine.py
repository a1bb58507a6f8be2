"""The engine: one resident update in, replies out, inside one database transaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import psych, registry
from handlers.context import KEEP, Outcome, Services, Turn
from handlers.i18n import pick_locale
from handlers.types import Incoming, Reply
from knowledge.crisis import CrisisResult
from storage import residents, updates
from storage.models import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Handled:
    """What the channel sends back: the replies, in the resident's language."""

    replies: tuple[Reply, ...]
    locale: str
    duplicate: bool = False


class Engine:
    """Runs the message pipeline of ARCHITECTURE.md for every channel."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        services: Services,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self.services = services
        self._clock = clock

    async def handle(self, msg: Incoming) -> Handled:
        """Handle one update exactly once and return what the resident should see."""
        # Safety first: the crisis screen needs no database, so it runs even when storage fails.
        crisis = self.services.crisis.screen(msg.text) if msg.text else None
        locale = pick_locale(msg.locale)
        try:
            async with self._sessions.begin() as session:
                if not await updates.claim_update(
                    session, channel=msg.channel, update_id=msg.update_id
                ):
                    return Handled((), locale, duplicate=True)
                now = self._clock()
                state = await residents.load_for_update(
                    session,
                    channel=msg.channel,
                    external_id=msg.user_id,
                    locale=locale,
                    now=now,
                    display_name=msg.display_name,
                )
                conversation = state.conversation
                before = _snapshot(conversation.flow, conversation.step, conversation.data)
                turn = Turn(msg, state.resident, conversation, session, self.services, now)
                outcome = await self._dispatch(turn, crisis)
                self._apply(turn, outcome, before)
                return Handled(outcome.replies, turn.locale)
        except Exception:
            # Nothing was committed, so the update is not marked as processed: a channel
            # retry (or the resident sending again) is handled afresh.
            log.exception("update %s/%s failed", msg.channel, msg.update_id)
            if crisis is not None and crisis.is_crisis:
                reply = psych.crisis_reply(self.services, locale, crisis, staff_alerted=False)
                return Handled((reply,), locale)
            return Handled((Reply(self.services.texts.get(locale, "error.try_again")),), locale)

    async def _dispatch(self, turn: Turn, crisis: CrisisResult | None) -> Outcome:
        if crisis is not None and crisis.is_crisis:
            return await psych.crisis(turn, crisis)
        return await registry.dispatch(turn)

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


def _snapshot(flow: str | None, step: str | None, data: dict[str, Any]) -> str:
    # Drafts are edited in place, so compare serialised states to know whether to write.
    return json.dumps([flow, step, data], sort_keys=True, ensure_ascii=False, default=str)

"""Property-based: whatever a resident sends, in whatever order — any text, any button
(real, stale or invented), photos, places, stickers — the engine answers every message and
never fails inside."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Runtime
from handlers.engine import Handled
from handlers.types import MAX_ACTION_BYTES, Incoming, Location

pytestmark = pytest.mark.both_databases
_residents = itertools.count(1)

ACTION_PREFIXES = (
    "menu", "lang", "status", "survey", "rate", "handoff", "psych", "faq", "checkin", "topic",
    "poll", "settings", "complaint", "clarify", "counseling", "forget", "crisis", "hello",
)  # fmt: skip
COMMANDS = ("/start", "/help", "/menu", "/cancel", "/lang", "/status", "/forget", "/checkin",
            "/hall", "/survey", "/settings", "/nope", "菜单", "取消", "删除我的数据")  # fmt: skip
SAYINGS = ("楼上装修太吵了", "路灯坏了", "怎么办理居住证", "我不想活了", "最近老是失眠",
           "我的投诉到哪了", "我建议多装健身器材", "13812345678", "和谐小区3号楼", "是", "好的",
           "I want to report a broken light", "thanks")  # fmt: skip

texts = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=2500),
    st.sampled_from(SAYINGS + COMMANDS),
    st.builds(lambda a, b: a + b, st.sampled_from(SAYINGS), st.text(max_size=20)),
    st.builds(  # lone surrogates: what a broken client's JSON can carry
        lambda a, b: a + b,
        st.text(max_size=10),
        st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1),
    ),
)
invented_actions = st.builds(
    lambda prefix, rest: f"{prefix}:{rest}"[:MAX_ACTION_BYTES],
    st.sampled_from(ACTION_PREFIXES),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:-_", max_size=40),
)
locations = st.builds(
    Location,
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    st.one_of(st.none(), st.text(max_size=80)),
)
KINDS = ("text", "text", "text", "press", "press", "press", "invented", "photo", "place", "other")


def _message(data: st.DataObject, seen: list[Handled], user: str, n: int) -> Incoming:
    kind = data.draw(st.sampled_from(KINDS))
    fields: dict[str, Any] = {}
    buttons = [b.action for h in seen[-2:] for r in h.replies for b in r.buttons]
    if kind == "press" and buttons:
        fields["action"] = data.draw(st.sampled_from(buttons))
    elif kind in ("press", "invented"):
        fields["action"] = data.draw(invented_actions)
    elif kind == "photo":
        fields["photo"] = data.draw(st.text(min_size=1, max_size=40))
    elif kind == "place":
        fields["location"] = data.draw(locations)
    elif kind == "other":
        fields["unsupported"] = data.draw(st.sampled_from(("sticker", "voice", "document")))
    else:
        fields["text"] = data.draw(texts)
    locale = data.draw(st.sampled_from((None, "zh", "en", "en-US", "xx")))
    return Incoming("console", user, f"{user}-{n}", locale=locale, **fields)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), steps=st.integers(min_value=1, max_value=14))
async def test_every_message_gets_an_answer_and_nothing_fails_inside(
    runtime: Runtime, data: st.DataObject, steps: int
) -> None:
    user = f"h{next(_residents)}"  # one database for all examples: a new resident each
    seen: list[Handled] = []
    for n in range(steps):
        msg = _message(data, seen, user, n)
        handled = await runtime.engine.handle(msg)
        assert handled.route not in ("error", "duplicate"), (msg, handled)
        assert handled.replies, msg
        assert all(r.text.strip() for r in handled.replies), (msg, handled)
        seen.append(handled)
    again = await runtime.engine.handle(msg)  # the channel delivers the last one again
    assert again.duplicate and not again.replies

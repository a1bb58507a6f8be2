"""`/settings` (设置): residents choose what they receive — notices, surveys, the daily
check-in — their language, and tags that describe them (长者, 新居民, …) for notices meant
for them. Every tap takes effect at once and says so."""

from __future__ import annotations

from handlers import checkin
from handlers.context import Outcome, Turn
from handlers.types import Button, Reply
from storage.models import CheckIn

# The tags residents may give themselves, in the order shown; staff audiences use the ids.
TAGS = {
    "elderly": "tag.elderly",
    "newcomer": "tag.newcomer",
    "parent": "tag.parent",
    "pet": "tag.pet",
    "disability": "tag.disability",
}
SUBSCRIPTIONS = {  # button verb → (Resident attribute, text when on, text when off)
    "notices": ("receive_notices", "settings.notices_on", "settings.notices_off"),
    "surveys": ("receive_surveys", "settings.surveys_on", "settings.surveys_off"),
}


async def show(turn: Turn) -> Outcome:
    """`/settings` or 设置: what the resident receives and their tags, with a button each."""
    return Outcome.stay(await _panel(turn))


async def press(turn: Turn) -> Outcome:
    """`settings:notices|surveys|checkin|tags|tag:<id>|open`: change one thing and confirm."""
    verb, _, argument = (turn.msg.action or "").removeprefix("settings:").partition(":")
    resident = turn.resident
    if verb in SUBSCRIPTIONS:
        attribute, on_key, off_key = SUBSCRIPTIONS[verb]
        wanted = not getattr(resident, attribute)
        setattr(resident, attribute, wanted)
        return Outcome.stay(await _panel(turn, turn.t(on_key if wanted else off_key)))
    if verb == "checkin":
        wanted = not await _checkin_on(turn)
        started = await checkin.switch(turn.session, resident_id=resident.id, on=wanted,
                                       now=turn.now)  # fmt: skip
        at = started.at if started else checkin.DEFAULT_AT
        note = turn.t("checkin.started", at=at) if wanted else turn.t("checkin.stopped")
        return Outcome.stay(await _panel(turn, note))
    if verb == "tags":
        return Outcome.stay(_tag_panel(turn))
    if verb == "tag" and argument in TAGS:
        label = turn.t(TAGS[argument])
        if argument in resident.tags:
            resident.tags = [t for t in resident.tags if t != argument]
            note = turn.t("settings.tag_removed", tag=label)
        else:
            resident.tags = [*resident.tags, argument]
            note = turn.t("settings.tag_added", tag=label)
        return Outcome.stay(_tag_panel(turn, note))
    if verb in ("", "open"):
        return Outcome.stay(await _panel(turn))
    return Outcome.stay(turn.reply("input.stale_button"), await _panel(turn))


async def _checkin_on(turn: Turn) -> bool:
    current = await turn.session.get(CheckIn, turn.resident.id)
    return current is not None and current.active


async def _panel(turn: Turn, note: str | None = None) -> Reply:
    """The settings as they are now, with one button to change each."""
    resident = turn.resident
    states = {
        "notices": resident.receive_notices,
        "surveys": resident.receive_surveys,
        "checkin": await _checkin_on(turn),
    }
    text = turn.t(
        "settings.panel",
        notices=_on_off(turn, states["notices"]),
        surveys=_on_off(turn, states["surveys"]),
        checkin=_on_off(turn, states["checkin"]),
        language=turn.t("settings.language_name"),
        tags=_tag_list(turn),
    )
    buttons = [
        turn.button(
            "settings.notices_button_off" if states["notices"] else "settings.notices_button_on",
            "settings:notices",
        ),
        turn.button(
            "settings.surveys_button_off" if states["surveys"] else "settings.surveys_button_on",
            "settings:surveys",
        ),
        turn.button(
            "settings.checkin_button_off" if states["checkin"] else "settings.checkin_button_on",
            "settings:checkin",
        ),
        turn.button("settings.tags_button", "settings:tags"),
        turn.button("menu.language", "menu:language"),
        turn.button("menu.back", "menu:open"),
    ]
    return Reply("\n".join([note, text]) if note else text, tuple(buttons))


def _tag_panel(turn: Turn, note: str | None = None) -> Reply:
    """The self-chosen tags as toggle buttons (✓ = chosen) and a way back."""
    chosen = set(turn.resident.tags)
    buttons = [
        Button(f"✓ {turn.t(key)}" if tag in chosen else turn.t(key), f"settings:tag:{tag}")
        for tag, key in TAGS.items()
    ]
    buttons.append(turn.button("settings.done_button", "settings:open"))
    text = turn.t("settings.tags_intro", tags=_tag_list(turn))
    return Reply("\n".join([note, text]) if note else text, tuple(buttons))


def _tag_list(turn: Turn) -> str:
    labels = [turn.t(key) for tag, key in TAGS.items() if tag in turn.resident.tags]
    if not labels:
        return turn.t("settings.no_tags")
    return ("、" if turn.locale == "zh" else ", ").join(labels)


def _on_off(turn: Turn, on: bool) -> str:
    return turn.t("settings.on") if on else turn.t("settings.off")

"""Commands and the main menu: welcome, help, language, cancel, and the fallback."""

from __future__ import annotations

import re

from handlers import complaint, deliberation, psych, status
from handlers.context import Outcome, Turn
from handlers.i18n import LOCALES
from handlers.types import Button, Reply

# Main-menu entries: (catalogue key of the label, action). Order is the order residents see.
MENU = (
    ("menu.complaint", "menu:complaint"),
    ("menu.psych", "menu:psych"),
    ("menu.faq", "menu:faq"),
    ("menu.deliberation", "menu:deliberation"),
    ("menu.status", "status"),
    ("menu.person", "handoff:start"),
    ("menu.language", "menu:language"),
)


def menu_buttons(turn: Turn) -> tuple[Button, ...]:
    """The main-menu buttons in the resident's language."""
    return tuple(turn.button(key, action) for key, action in MENU)


def menu_replies(turn: Turn) -> tuple[Reply, ...]:
    """The main menu as one reply."""
    return (Reply(turn.t("menu.title"), menu_buttons(turn)),)


async def start(turn: Turn) -> Outcome:
    """Welcomes the resident, shows the short privacy notice and the main menu."""
    turn.resident.welcomed_at = turn.now
    days, sensitive_days = turn.services.retention_days
    privacy = turn.reply(
        "start.privacy",
        operator=turn.services.places.operator(turn.locale),
        days=days,
        sensitive_days=sensitive_days,
    )
    return Outcome.end(turn.reply("start.welcome"), privacy, *menu_replies(turn))


async def hello(turn: Turn) -> Outcome:
    """Greets a web visitor: the full welcome on a first visit, a short one afterwards."""
    if turn.resident.welcomed_at is None:
        return await start(turn)
    return Outcome.stay(Reply(turn.t("start.welcome_back"), menu_buttons(turn)))


# A message that is only thanks gets "you're welcome", not the bot introducing itself again.
THANKS = re.compile(
    r"^\s*(谢谢(您|你|啦|了)?|多谢|感谢(您|你)?|thanks?( you)?( so much| a lot)?|thx|ty)"
    r"[\s!！。.~～]*$",
    re.IGNORECASE,
)


async def greet(turn: Turn) -> Outcome:
    """Answers hello/thanks/"anyone there?" and offers the menu."""
    key = "greeting.thanks" if THANKS.match(turn.text) else "greeting.reply"
    return Outcome.stay(Reply(turn.t(key), menu_buttons(turn)))


async def show_help(turn: Turn) -> Outcome:
    """Explains what the bot can do and how to reach a person."""
    return Outcome.stay(Reply(turn.t("help.text"), menu_buttons(turn)))


async def menu(turn: Turn) -> Outcome:
    """Shows the main menu (an active flow stays where it was)."""
    return Outcome.stay(*menu_replies(turn))


async def cancel(turn: Turn) -> Outcome:
    """Leaves the current flow, discarding its draft."""
    key = "cancel.done" if turn.conversation.flow else "cancel.nothing"
    return Outcome.end(Reply(turn.t(key), menu_buttons(turn)))


async def choose_language(turn: Turn) -> Outcome:
    """`/lang` shows the language choice; `/lang en` switches at once."""
    parts = turn.text.split()
    if len(parts) > 1 and parts[1].lower() in LOCALES:
        return _switch(turn, parts[1].lower())
    return Outcome.stay(_language_choice(turn))


async def set_language(turn: Turn) -> Outcome:
    """A language button: `lang:zh` or `lang:en`."""
    locale = (turn.msg.action or "").partition(":")[2]
    if locale not in LOCALES:
        return Outcome.stay(turn.reply("input.unknown_button"), *menu_replies(turn))
    return _switch(turn, locale)


def _switch(turn: Turn, locale: str) -> Outcome:
    turn.resident.locale = locale
    return Outcome.stay(Reply(turn.t("lang.changed"), menu_buttons(turn)))


def _language_choice(turn: Turn) -> Reply:
    return Reply(turn.t("lang.choose"), (Button("中文", "lang:zh"), Button("English", "lang:en")))


async def menu_choice(turn: Turn) -> Outcome:
    """A main-menu button."""
    choice = (turn.msg.action or "").partition(":")[2]
    if choice in ("", "open"):
        return await menu(turn)
    if choice == "complaint":
        return await complaint.start(turn)
    if choice == "psych":
        return await psych.support(turn)
    if choice == "faq":
        return Outcome.stay(turn.reply("faq.ask"))
    if choice == "deliberation":
        return await deliberation.enter(turn)
    if choice == "status":
        return await status.show(turn)
    if choice == "language":
        return Outcome.stay(_language_choice(turn))
    return Outcome.stay(turn.reply("input.unknown_button"), *menu_replies(turn))


async def unknown_command(turn: Turn) -> Outcome:
    """A /command the bot does not know."""
    return Outcome.stay(Reply(turn.t("input.unknown_command"), menu_buttons(turn)))


async def fallback(turn: Turn) -> Outcome:
    """Free text the bot did not understand: offer the menu and a person."""
    return Outcome.stay(Reply(turn.t("fallback.text"), menu_buttons(turn)))

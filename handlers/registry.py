"""The one ordered registry: how an update finds the code that answers it.

`dispatch` tries, in this order (the crisis screen already ran in the engine):
  1. a resident held in the crisis flow stays there until staff close it or they are safe;
  2. content the bot cannot take (stickers, voice…) gets a list of what it can take;
  3. over-long text is handed back before any feature sees it;
  4. commands (/start, or words such as 菜单) work everywhere, even inside a flow;
  5. buttons: exact actions, then action prefixes, then the active flow's own buttons;
  6. the active flow continues at its named step;
  7. photos and locations outside a flow are explained;
  8. the router picks a feature for free text — last, because it is the catch-all that
     always answers (its `other` intent is the fallback offering the menu and a person);
     when two routes are about equally likely, the resident is asked (the clarify flow).
"""

from __future__ import annotations

from handlers import (
    checkin,
    commands,
    complaint,
    crisis,
    deliberation,
    faq,
    forget,
    handoff,
    offers,
    psych,
    router,
    screener,
    settings,
    status,
    survey,
)
from handlers.context import KEEP, Flow, Outcome, Step, Turn
from handlers.types import Reply
from knowledge.router import RouteDecision

MAX_TEXT_CHARS = 2000
MAX_LONG_TEXT_CHARS = 20_000
# Steps where a long text is the point (a complaint's description is stored whole).
LONG_TEXT = {(complaint.NAME, complaint.DESCRIBE)}

COMMANDS: dict[str, Step] = {
    "start": commands.start,
    "help": commands.show_help,
    "menu": commands.menu,
    "cancel": commands.cancel,
    "lang": commands.choose_language,
    "status": status.show,
    "forget": forget.ask,
    "checkin": checkin.offer,
    "hall": deliberation.enter,
    "survey": survey.show_open,
    "settings": settings.show,
}

# Plain words residents type instead of commands (compared after trimming, lower-case).
COMMAND_WORDS: dict[str, str] = {
    "菜单": "menu",
    "主菜单": "menu",
    "menu": "menu",
    "帮助": "help",
    "help": "help",
    "取消": "cancel",
    "退出": "cancel",
    "cancel": "cancel",
    "语言": "lang",
    "language": "lang",
    "我的事项": "status",
    "my requests": "status",
    "删除我的数据": "forget",
    "forget me": "forget",
    "delete my data": "forget",
    "每日问候": "checkin",
    "daily check-in": "checkin",
    "议事厅": "hall",
    "居民议事厅": "hall",
    "deliberation hall": "hall",
    "问卷": "survey",
    "问卷调查": "survey",
    "我的问卷": "survey",
    "survey": "survey",
    "surveys": "survey",
    "设置": "settings",
    "我的设置": "settings",
    "settings": "settings",
}

# Buttons that work from any message, looked up by exact action first, then by prefix.
ACTIONS: dict[str, Step] = {
    "hello": commands.hello,
    "menu": commands.menu_choice,
    "lang": commands.set_language,
    "status": status.press,
    "survey": status.survey,
    "rate": status.rate,
    "handoff:start": handoff.start,
    "screener": screener.press,  # the ask-directly question: screener:yes|no|skip
    "psych:book": psych.start_booking,
    "psych:hotlines": psych.show_hotlines,
    "psych:talk": psych.just_talk,
    "faq": faq.press,
    "checkin": checkin.press,
    "topic": deliberation.press,  # every hall button: topic:<verb>:<ids>
    "poll": survey.press,  # surveys (问卷); "survey" is the ticket follow-up's
    "settings": settings.press,
}

FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        complaint.FLOW,
        status.FLOW,
        handoff.FLOW,
        psych.FLOW,
        forget.FLOW,
        crisis.FLOW,
        screener.FLOW,
        deliberation.FLOW,
        survey.FLOW,
    )
}

# Router intents → features. `crisis` never reaches here: the engine screens first.
INTENTS: dict[str, Step] = {
    "greeting": commands.greet,
    "status": status.show,
    "psych": psych.support,
    "complaint": complaint.start_from_message,
    "faq": faq.answer,
    "deliberation": offers.from_message,
    "other": commands.fallback,
}


async def dispatch(turn: Turn) -> Outcome:
    """Find and run the code that answers this update."""
    msg, conversation = turn.msg, turn.conversation
    active = FLOWS.get(conversation.flow or "")
    if active is crisis.FLOW:
        held = await crisis.hold(turn)
        if held is not None:
            return held
        conversation.flow = conversation.step = None  # staff closed the crisis ticket
        active = None
    if msg.unsupported:
        return Outcome.stay(turn.reply("input.unsupported"))
    limit = (
        MAX_LONG_TEXT_CHARS
        if (conversation.flow, conversation.step) in LONG_TEXT
        else MAX_TEXT_CHARS
    )
    if len(turn.text) > limit:
        return Outcome.stay(turn.reply("input.too_long", limit=limit))

    command = _command_name(turn.text)
    if command is not None:
        return await COMMANDS.get(command, commands.unknown_command)(turn)

    if msg.action is not None:
        return await _press(turn, msg.action, active)

    if active is not None and conversation.step in active.steps:
        return await active.steps[conversation.step](turn)
    if msg.photo or msg.location:
        return Outcome.stay(turn.reply("input.media_outside_flow"), *commands.menu_replies(turn))
    if not turn.text:
        return Outcome.stay(turn.reply("input.empty"))

    turn.route = router.classify(turn.services, turn.text)
    if turn.route.alternative is not None:
        return _ask_which(turn, turn.route)
    return await INTENTS.get(turn.route.intent, commands.fallback)(turn)


# When two routes are about equally likely, the resident chooses instead of the bot guessing.
CLARIFY, CHOOSE = "clarify", "choose"
ROUTE_LABELS = {
    "complaint": "menu.complaint",
    "faq": "menu.faq",
    "deliberation": "menu.deliberation",
    "psych": "menu.psych",
}


def _ask_which(turn: Turn, route: RouteDecision) -> Outcome:
    options = [route.intent, route.alternative]
    buttons = [turn.button(ROUTE_LABELS[o], f"clarify:{o}") for o in options if o]
    draft = {"text": turn.text, "options": options, "category": route.category}
    return Outcome.start(CLARIFY, CHOOSE, turn.reply("clarify.ask", *buttons), draft=draft)


async def _choose(turn: Turn) -> Outcome:
    """The resident picked a route for their earlier message; a new message instead is
    handled as new."""
    draft = turn.draft
    choice = (turn.msg.action or "").partition(":")[2]
    if turn.msg.action is None:
        turn.conversation.flow = turn.conversation.step = None
        return await dispatch(turn)
    if choice not in draft.get("options", ()):
        return Outcome.stay(turn.reply("input.stale_button"))
    turn.replayed_text = str(draft.get("text", ""))
    category = draft.get("category") if choice == "complaint" else None
    turn.route = RouteDecision(turn.replayed_text, choice, 1.0, category=category)  # type: ignore[arg-type]
    outcome = await INTENTS[choice](turn)
    return Outcome.end(*outcome.replies) if outcome.flow == KEEP else outcome


FLOWS[CLARIFY] = Flow(CLARIFY, {CHOOSE: _choose})


async def _press(turn: Turn, action: str, active: Flow | None) -> Outcome:
    prefix = action.partition(":")[0]
    handler = ACTIONS.get(action) or ACTIONS.get(prefix)
    if handler is not None:
        return await handler(turn)
    if active is not None and prefix == active.name:
        if action == f"{active.name}:cancel":  # every flow's cancel button
            return Outcome.end(Reply(turn.t(active.cancelled), commands.menu_buttons(turn)))
        if turn.conversation.step in active.steps:
            return await active.steps[turn.conversation.step](turn)
    key = "input.stale_button" if prefix in FLOWS else "input.unknown_button"
    return Outcome.stay(turn.reply(key), *commands.menu_replies(turn))


def _command_name(text: str) -> str | None:
    if text.startswith("/") and len(text) > 1:
        return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower()
    return COMMAND_WORDS.get(text.lower())

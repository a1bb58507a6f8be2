"""Psychological help: a warm reply, hotlines, "just talk", and booking the counselling room.

Nothing about a resident's emotional state is stored without their separate consent
(safety.md §4.2): the booking keeps a time and a way to reach them, and a note for the
counsellor only when they agree."""

from __future__ import annotations

from handlers import staff_chat
from handlers.context import Flow, Outcome, Turn
from handlers.crisis import hotline_lines
from handlers.phone import mask_phone, parse_phone
from handlers.types import Button, Reply
from storage import tickets

NAME = "counseling"
SLOT, CONTACT, PHONE, CONSENT, NOTE, CONFIRM = (
    "slot",
    "contact",
    "phone",
    "consent",
    "note",
    "confirm",
)
MAX_NOTE_CHARS = 1000
SKIP_WORDS = {"跳过", "skip", "不用了", "没有", "no"}


def _options(turn: Turn) -> tuple[Button, ...]:
    return (
        turn.button("psych.book_button", "psych:book"),
        turn.button("psych.hotlines_button", "psych:hotlines"),
        turn.button("psych.talk_button", "psych:talk"),
    )


async def support(turn: Turn) -> Outcome:
    """Distress without risk markers: a warm reply and three ways forward."""
    return Outcome.stay(Reply(turn.t("psych.support"), _options(turn)))


async def show_hotlines(turn: Turn) -> Outcome:
    """The psychological assistance hotlines, with their hours."""
    lines = hotline_lines(turn.services, turn.locale, "psych", limit=2)
    book = turn.button("psych.book_button", "psych:book")
    return Outcome.stay(turn.reply("psych.hotlines", book, hotlines=lines))


async def just_talk(turn: Turn) -> Outcome:
    """Supportive words and self-care ideas, with booking left open for later."""
    book = turn.button("psych.book_button", "psych:book")
    return Outcome.stay(turn.reply("psych.talk", book, turn.button("menu.back", "menu:open")))


async def start_booking(turn: Turn) -> Outcome:
    """Introduces the counselling room and asks for a convenient time window."""
    room = turn.services.places.counseling
    intro = turn.t(
        "counseling.intro",
        name=room.text("name", turn.locale),
        address=room.text("address", turn.locale),
        hours=room.text("hours", turn.locale),
        cost=room.text("cost", turn.locale),
    )
    return Outcome.start(NAME, SLOT, Reply(intro, _slot_buttons(turn)))


def _slot_buttons(turn: Turn) -> tuple[Button, ...]:
    room = turn.services.places.counseling
    slots = tuple(Button(s.label(turn.locale), f"counseling:slot:{s.id}") for s in room.slots)
    return (*slots, turn.button("common.cancel", "counseling:cancel"))


async def choose_slot(turn: Turn) -> Outcome:
    """Takes a time window (a button, or a time typed in the resident's own words)."""
    choice = _choice(turn, "slot")
    room = turn.services.places.counseling
    if choice is not None and room.slot(choice) is not None:
        turn.draft["slot"] = choice
    elif turn.msg.action is None and len(turn.text) >= 2:
        turn.draft["slot_text"] = turn.text[:100]
    else:
        return FLOW.goto(SLOT, Reply(turn.t("counseling.ask_slot"), _slot_buttons(turn)))
    return FLOW.goto(CONTACT, _contact_question(turn))


def _contact_question(turn: Turn) -> Reply:
    return turn.reply(
        "counseling.ask_contact",
        turn.button("counseling.contact_chat", "counseling:contact:chat"),
        turn.button("counseling.contact_phone", "counseling:contact:phone"),
        turn.button("common.cancel", "counseling:cancel"),
    )


async def choose_contact(turn: Turn) -> Outcome:
    """Here in the chat, or by phone (a number typed straight away also counts)."""
    choice = _choice(turn, "contact")
    if choice == "chat" or turn.typed("counseling.contact_chat"):
        turn.draft["contact"] = "chat"
        return FLOW.goto(CONSENT, _consent_question(turn))
    if choice == "phone" or turn.typed("counseling.contact_phone"):
        return FLOW.goto(PHONE, _with_cancel(turn, "counseling.ask_phone"))
    if turn.text and parse_phone(turn.text):
        return await give_phone(turn)
    return FLOW.goto(CONTACT, _contact_question(turn))


async def give_phone(turn: Turn) -> Outcome:
    """Validates the phone number; it is only ever shown masked."""
    phone = parse_phone(turn.text) if turn.text else None
    if phone is None:
        return FLOW.goto(PHONE, _with_cancel(turn, "counseling.bad_phone"))
    turn.draft["contact"] = "phone"
    turn.draft["phone"] = phone
    return FLOW.goto(CONSENT, _consent_question(turn))


def _consent_question(turn: Turn) -> Reply:
    return turn.reply(
        "counseling.ask_consent",
        turn.button("counseling.consent_yes", "counseling:consent:yes"),
        turn.button("counseling.consent_no", "counseling:consent:no"),
        turn.button("common.cancel", "counseling:cancel"),
    )


async def decide_consent(turn: Turn) -> Outcome:
    """The separate consent for sensitive information: with it, a note for the counsellor."""
    choice = _choice(turn, "consent")
    if choice == "yes" or turn.typed("counseling.consent_yes") or turn.text in ("同意", "yes"):
        consents = dict(turn.resident.consents or {})
        consents["sensitive"] = {"at": turn.now.isoformat(), "purpose": NAME}
        turn.resident.consents = consents
        turn.draft["consent"] = True
        return FLOW.goto(NOTE, _with_cancel(turn, "counseling.ask_note"))
    if choice == "no" or turn.typed("counseling.consent_no") or turn.text in ("不同意", "no"):
        turn.draft["consent"] = False
        return FLOW.goto(CONFIRM, _summary(turn))
    return FLOW.goto(CONSENT, _consent_question(turn))


async def write_note(turn: Turn) -> Outcome:
    """What the resident would like the counsellor to know (or 跳过)."""
    if not turn.text:
        return FLOW.goto(NOTE, _with_cancel(turn, "counseling.ask_note"))
    if turn.text.lower() not in SKIP_WORDS:
        turn.draft["note"] = turn.text[:MAX_NOTE_CHARS]
    return FLOW.goto(CONFIRM, _summary(turn))


def _summary(turn: Turn) -> Reply:
    draft = turn.draft
    room = turn.services.places.counseling
    slot = room.slot(draft.get("slot", ""))
    when = slot.label(turn.locale) if slot else draft.get("slot_text", "")
    if draft.get("contact") == "phone":
        contact = turn.t("counseling.by_phone", phone=mask_phone(draft["phone"]))
    else:
        contact = turn.t("counseling.by_chat")
    note = turn.t("counseling.note_given" if draft.get("note") else "counseling.note_none")
    return turn.reply(
        "counseling.summary",
        turn.button("counseling.confirm_button", "counseling:confirm"),
        turn.button("common.cancel", "counseling:cancel"),
        when=when,
        contact=contact,
        note=note,
    )


async def confirm(turn: Turn) -> Outcome:
    """Files the booking as a `counseling` ticket that only counsellors can read."""
    if turn.msg.action != "counseling:confirm" and not turn.typed("counseling.confirm_button"):
        return FLOW.goto(CONFIRM, _summary(turn))
    draft = turn.draft
    ticket = await tickets.create_ticket(
        turn.session,
        kind=NAME,
        resident_id=turn.resident.id,
        summary=str(draft.get("note", "")) if draft.get("consent") else "",
        now=turn.now,
        year=turn.now.astimezone(turn.services.timezone).year,
        grid=turn.resident.grid,
        details={
            "channel": turn.msg.channel,
            "slot": draft.get("slot"),
            "slot_text": draft.get("slot_text"),
            "contact": draft.get("contact"),
            "consent": bool(draft.get("consent")),
        },
    )
    ticket.contact_phone = draft.get("phone")
    await staff_chat.alert_new_ticket(turn.session, turn.services, ticket, turn.now)
    room = turn.services.places.counseling
    return Outcome.end(
        turn.reply(
            "counseling.done",
            turn.button("menu.back", "menu:open"),
            number=ticket.number,
            days=room.reply_days,
            address=room.text("address", turn.locale),
            phone=room.phone,
        )
    )


def _choice(turn: Turn, field: str) -> str | None:
    prefix = f"{NAME}:{field}:"
    action = turn.msg.action or ""
    return action.removeprefix(prefix) if action.startswith(prefix) else None


def _with_cancel(turn: Turn, key: str) -> Reply:
    return turn.reply(key, turn.button("common.cancel", "counseling:cancel"))


FLOW = Flow(
    NAME,
    {
        SLOT: choose_slot,
        CONTACT: choose_contact,
        PHONE: give_phone,
        CONSENT: decide_consent,
        NOTE: write_note,
        CONFIRM: confirm,
    },
)

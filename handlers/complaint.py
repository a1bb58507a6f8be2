"""Reporting a problem: a few guided turns that end in a ticket with a category, a grid and a
deadline in working days — or in joining a neighbour's ticket about the same problem."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from handlers import router, staff_chat
from handlers.context import Flow, Outcome, Turn
from handlers.phone import mask_phone, parse_phone
from handlers.types import Button, Reply
from storage import tickets
from storage.models import Ticket

NAME = "complaint"
DESCRIBE, CATEGORY, CHOOSE, WHERE, PHOTOS, PHONE, PRIVACY, DUPLICATE, CONFIRM = (
    "describe", "category", "choose", "where", "photos", "phone", "privacy", "duplicate", "confirm"
)  # fmt: skip
MAX_PHOTOS = 3
DUPLICATE_DAYS = 14
DUPLICATE_SIMILARITY = 0.3  # Jaccard of jieba tokens
SHOWN_CHARS = 200  # a long description is stored whole and shown shortened
SKIP_WORDS = {"跳过", "skip", "不用", "没有", "无", "no"}
DONE_WORDS = {"完成", "好了", "done", "ok", "发完了"}


def _cancel(turn: Turn) -> Button:
    return turn.button("common.cancel", "complaint:cancel")


def _skip(turn: Turn) -> Button:
    return turn.button("common.skip", "complaint:skip")


def _skipping(turn: Turn) -> bool:
    return turn.msg.action == "complaint:skip" or turn.text.lower() in SKIP_WORDS


async def start(turn: Turn) -> Outcome:
    """The menu's "report a problem": asks what happened."""
    return Outcome.start(NAME, DESCRIBE, turn.reply("complaint.ask_description", _cancel(turn)))


async def start_from_message(turn: Turn) -> Outcome:
    """A message the router read as a problem: it is the description already."""
    category = turn.route.category if turn.route and turn.route.category else "other"
    draft = {"description": turn.text, "category": category, "photos": []}
    return Outcome.start(NAME, CATEGORY, _category_question(turn, category), draft=draft)


async def describe(turn: Turn) -> Outcome:
    """Takes the description and proposes the category the router sees in it."""
    if turn.msg.photo or not turn.text or turn.msg.action is not None:
        return FLOW.goto(DESCRIBE, turn.reply("complaint.need_description", _cancel(turn)))
    route = router.classify(turn.services, turn.text)
    category = route.category if route.intent == "complaint" and route.category else "other"
    turn.draft.update(description=turn.text, category=category, photos=[])
    return FLOW.goto(CATEGORY, _category_question(turn, category))


def _category_question(turn: Turn, category: str) -> Reply:
    label = turn.services.categories[category].label(turn.locale)
    return turn.reply(
        "complaint.confirm_category",
        turn.button("complaint.category_yes", f"complaint:category:{category}"),
        turn.button("complaint.category_change", "complaint:change"),
        _cancel(turn),
        category=label,
    )


def _category_buttons(turn: Turn) -> Reply:
    buttons = [
        Button(c.label(turn.locale), f"complaint:category:{c.id}")
        for c in turn.services.categories.values()
    ]
    return Reply(turn.t("complaint.choose_category"), (*buttons, _cancel(turn)))


async def confirm_category(turn: Turn) -> Outcome:
    """One tap confirms the detected category; "change" lists them all (typed names work)."""
    if turn.msg.action == "complaint:change":
        return FLOW.goto(CHOOSE, _category_buttons(turn))
    chosen = _chosen_category(turn)
    if chosen is None and turn.typed("complaint.category_yes"):
        chosen = turn.draft.get("category")
    if chosen is None:
        return FLOW.goto(CATEGORY, _category_question(turn, turn.draft.get("category", "other")))
    turn.draft["category"] = chosen
    return FLOW.goto(WHERE, _where_question(turn))


async def choose_category(turn: Turn) -> Outcome:
    """A category picked from the full list."""
    chosen = _chosen_category(turn)
    if chosen is None:
        return FLOW.goto(CHOOSE, _category_buttons(turn))
    turn.draft["category"] = chosen
    return FLOW.goto(WHERE, _where_question(turn))


def _chosen_category(turn: Turn) -> str | None:
    action = turn.msg.action or ""
    if action.startswith("complaint:category:"):
        chosen = action.rpartition(":")[2]
        return chosen if chosen in turn.services.categories else None
    typed = turn.text.lower()
    for category in turn.services.categories.values():
        if typed and typed in (category.zh.lower(), category.en.lower(), category.id):
            return category.id
    return None


def _where_question(turn: Turn) -> Reply:
    return turn.reply("complaint.ask_where", _cancel(turn))


async def where(turn: Turn) -> Outcome:
    """A shared location or a typed address, matched to a grid (kept even when it is not)."""
    grids = turn.services.grids
    if turn.msg.location is not None and turn.msg.location.latitude is not None:
        loc = turn.msg.location
        grid = grids.locate_point(loc.latitude, loc.longitude or 0.0)  # type: ignore[arg-type]
        turn.draft["location"] = {"lat": loc.latitude, "lon": loc.longitude}
        building = None
    elif turn.text and turn.msg.action is None and not turn.msg.photo:
        grid, building = grids.locate_text(turn.text)
        turn.draft["location"] = {"address": turn.text[:300]}
    else:
        return FLOW.goto(WHERE, turn.reply("complaint.need_where", _cancel(turn)))
    turn.draft["grid"] = grid.id if grid else None
    turn.draft["building"] = building
    note = (
        turn.t("complaint.grid_found", grid=grid.label(turn.locale))
        if grid
        else turn.t("complaint.grid_unknown")
    )
    return FLOW.goto(
        PHOTOS, Reply(f"{note}\n\n{turn.t('complaint.ask_photos')}", _photo_buttons(turn))
    )


def _photo_buttons(turn: Turn) -> tuple[Button, ...]:
    done = turn.button("complaint.photos_done", "complaint:photos_done")
    return (
        (done, _skip(turn), _cancel(turn))
        if turn.draft.get("photos")
        else (_skip(turn), _cancel(turn))
    )


async def photos(turn: Turn) -> Outcome:
    """Up to three photos; "done" or "skip" moves on."""
    taken: list[str] = turn.draft.setdefault("photos", [])
    if turn.msg.photo:
        taken.append(turn.msg.photo)
        if len(taken) < MAX_PHOTOS:
            return FLOW.goto(
                PHOTOS,
                Reply(turn.t("complaint.photo_received", count=len(taken)), _photo_buttons(turn)),
            )
    elif not (
        _skipping(turn)
        or turn.msg.action == "complaint:photos_done"
        or turn.text.lower() in DONE_WORDS
    ):
        return FLOW.goto(PHOTOS, Reply(turn.t("complaint.need_photo"), _photo_buttons(turn)))
    return FLOW.goto(PHONE, turn.reply("complaint.ask_phone", _skip(turn), _cancel(turn)))


async def phone(turn: Turn) -> Outcome:
    """An optional contact phone, validated."""
    if not _skipping(turn):
        number = parse_phone(turn.text) if turn.text else None
        if number is None:
            return FLOW.goto(PHONE, turn.reply("complaint.bad_phone", _skip(turn), _cancel(turn)))
        turn.draft["phone"] = number
    return FLOW.goto(PRIVACY, _privacy_question(turn))


def _privacy_question(turn: Turn) -> Reply:
    return turn.reply(
        "complaint.ask_privacy",
        turn.button("complaint.named", "complaint:privacy:named"),
        turn.button("complaint.anonymous", "complaint:privacy:anonymous"),
        _cancel(turn),
    )


async def privacy(turn: Turn) -> Outcome:
    """Name visible to staff only, or anonymous; then neighbours' reports of the same thing."""
    if turn.msg.action == "complaint:privacy:anonymous" or turn.typed("complaint.anonymous"):
        turn.draft["anonymous"] = True
    elif (
        turn.msg.action == "complaint:privacy:named"
        or turn.typed("complaint.named")
        or _skipping(turn)
    ):
        turn.draft["anonymous"] = False
    else:
        return FLOW.goto(PRIVACY, _privacy_question(turn))
    twin = await _similar_ticket(turn)
    if twin is not None:
        turn.draft["twin"] = twin.number
        return FLOW.goto(DUPLICATE, await _duplicate_offer(turn, twin))
    return FLOW.goto(CONFIRM, _summary(turn))


async def _duplicate_offer(turn: Turn, twin: Ticket) -> Reply:
    """The "+1" offer says only what kind of problem, where (to the building) and how many
    neighbours reported it — never a word another resident wrote, nor who they are."""
    neighbours = 1 + len(await tickets.supporters(turn.session, ticket_id=twin.id))
    category = turn.services.categories.get(twin.category or "")
    grid = turn.services.grids.get(twin.grid)
    if twin.building is not None:
        place = turn.t("complaint.duplicate_building", building=twin.building)
    else:
        place = grid.label(turn.locale) if grid else turn.t("complaint.duplicate_nearby")
    return turn.reply(
        "complaint.duplicate",
        turn.button("complaint.join", "complaint:join"),
        turn.button("complaint.separate", "complaint:separate"),
        category=category.label(turn.locale) if category else "-",
        place=place,
        count=neighbours,
    )


async def _similar_ticket(turn: Turn) -> Ticket | None:
    draft = turn.draft
    candidates = await tickets.similar_open_tickets(
        turn.session,
        category=draft["category"],
        grid=draft.get("grid"),
        building=draft.get("building"),
        since=turn.now - timedelta(days=DUPLICATE_DAYS),
    )
    analyzer = turn.services.faq.analyzer
    mine = set(analyzer.tokens(draft["description"]))
    best, best_score = None, DUPLICATE_SIMILARITY
    for ticket in candidates:
        if ticket.resident_id == turn.resident.id:
            continue
        theirs = set(analyzer.tokens(ticket.summary))
        score = len(mine & theirs) / len(mine | theirs) if mine | theirs else 0.0
        if score >= best_score:
            best, best_score = ticket, score
    return best


async def duplicate(turn: Turn) -> Outcome:
    """ "+1 我也遇到了" joins the neighbour's ticket; otherwise file a separate one."""
    if turn.msg.action == "complaint:join" or turn.typed("complaint.join"):
        twin = await tickets.get_ticket_by_number(turn.session, turn.draft.get("twin", ""))
        if twin is not None and twin.status in tickets.OPEN_STATUSES:
            await tickets.add_supporter(
                turn.session, ticket_id=twin.id, resident_id=turn.resident.id, now=turn.now
            )
            await tickets.add_event(
                turn.session,
                ticket=twin,
                kind="supporter_joined",
                actor_type="resident",
                actor_id=turn.resident.id,
                now=turn.now,
                body=_shorten(turn.draft["description"], 500),
            )
            return Outcome.end(turn.reply("complaint.joined", number=twin.number))
    elif not (turn.msg.action == "complaint:separate" or turn.typed("complaint.separate")):
        return FLOW.goto(
            DUPLICATE,
            Reply(
                turn.t("complaint.duplicate_choose"),
                (
                    turn.button("complaint.join", "complaint:join"),
                    turn.button("complaint.separate", "complaint:separate"),
                ),
            ),
        )
    return FLOW.goto(CONFIRM, _summary(turn))


def _summary(turn: Turn) -> Reply:
    draft = turn.draft
    grid = turn.services.grids.get(draft.get("grid"))
    location = draft.get("location") or {}
    place = location.get("address") or turn.t("complaint.shared_location")
    return turn.reply(
        "complaint.summary",
        turn.button("complaint.submit", "complaint:submit"),
        _cancel(turn),
        category=turn.services.categories[draft["category"]].label(turn.locale),
        text=_shorten(draft["description"]),
        place=place + (f"（{grid.label(turn.locale)}）" if grid else ""),
        photos=len(draft.get("photos", [])),
        phone=mask_phone(draft["phone"]) if draft.get("phone") else turn.t("complaint.none"),
        privacy=turn.t("complaint.anonymous" if draft.get("anonymous") else "complaint.named"),
    )


async def confirm(turn: Turn) -> Outcome:
    """Files the ticket, with its deadline in working days."""
    if turn.msg.action != "complaint:submit" and not turn.typed("complaint.submit"):
        return FLOW.goto(CONFIRM, _summary(turn))
    draft = turn.draft
    category = turn.services.categories[draft["category"]]
    due = turn.services.calendar.add_working_days(turn.now, category.deadline_working_days)
    ticket = await tickets.create_ticket(
        turn.session,
        kind=category.ticket_kind,
        category=category.id,
        resident_id=turn.resident.id,
        summary=draft["description"],
        now=turn.now,
        year=turn.now.astimezone(turn.services.timezone).year,
        priority=1 if category.urgent else 0,
        grid=draft.get("grid"),
        building=draft.get("building"),
        location=draft.get("location"),
        photos=draft.get("photos", []),
        contact_phone=draft.get("phone"),
        anonymous=bool(draft.get("anonymous")),
        due_at=due,
        details={"channel": turn.msg.channel},
    )
    if turn.resident.grid is None and draft.get("grid"):
        turn.resident.grid = draft["grid"]  # their grid, for notices to a grid
    if turn.resident.building is None and draft.get("building"):
        turn.resident.building = draft["building"]  # their building, for the hall's topics
    await staff_chat.alert_new_ticket(turn.session, turn.services, ticket, turn.now)
    replies = [_filed_reply(turn, ticket.number, due, category.deadline_working_days)]
    if category.ticket_kind == "mediation":
        replies.append(_mediation_reply(turn))
    return Outcome.end(*replies)


def _filed_reply(turn: Turn, number: str, due: Any, days: int) -> Reply:
    grid = turn.services.grids.get(turn.draft.get("grid"))
    who = (
        turn.t("complaint.next_grid", worker=grid.worker(turn.locale), grid=grid.label(turn.locale))
        if grid
        else turn.t("complaint.next_dispatch")
    )
    local = due.astimezone(turn.services.timezone)
    return turn.reply(
        "complaint.filed",
        turn.button("menu.status", "status"),
        number=number,
        due=local.strftime("%Y-%m-%d"),
        days=days,
        next=who,
    )


def _mediation_reply(turn: Turn) -> Reply:
    office = turn.services.places.offices.get("mediation-center")
    if office is None:
        return turn.reply("complaint.mediation_plain")
    return turn.reply(
        "complaint.mediation",
        name=office.text("name", turn.locale),
        address=office.text("address", turn.locale),
        phone=office.phone,
        hours=office.text("hours", turn.locale),
    )


def _shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


FLOW = Flow(
    NAME,
    {
        DESCRIBE: describe,
        CATEGORY: confirm_category,
        CHOOSE: choose_category,
        WHERE: where,
        PHOTOS: photos,
        PHONE: phone,
        PRIVACY: privacy,
        DUPLICATE: duplicate,
        CONFIRM: confirm,
    },
)

"""Answering a survey (问卷) in chat: one question at a time with buttons, free text as the
next message, resumable from the invitation's [开始填写] or the word 问卷."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.context import Flow, Outcome, Turn
from handlers.ids import whole
from handlers.types import Button, Reply
from storage import surveys
from storage.models import Survey, SurveyInvitation, SurveyQuestion

NAME = "poll"  # the flow and its button prefix ("survey:" is the ticket follow-up's)
ANSWER = "answer"  # the next text message answers the current free-text question
MAX_ANSWER_CHARS = 500
RATINGS = range(1, 6)
SKIP_WORDS = {"跳过", "skip"}
HINTS = {
    "single": "poll.hint_single",
    "multiple": "poll.hint_multiple",
    "rating": "poll.hint_rating",
    "text": "poll.hint_text",
}


@dataclass(slots=True)
class Opened:
    """A survey the resident may answer now, with their invitation and its questions."""

    survey: Survey
    invitation: SurveyInvitation
    questions: list[SurveyQuestion]

    @property
    def answers(self) -> dict[str, Any]:
        """Answers so far, by question position ("0", "1", …); None for a skipped one."""
        return dict((self.invitation.progress or {}).get("answers", {}))

    @property
    def selected(self) -> list[int]:
        """Options ticked so far in the current multiple-choice question."""
        return list((self.invitation.progress or {}).get("selected", []))

    def current(self) -> SurveyQuestion | None:
        """The first question not answered yet (None when all are)."""
        answers = self.answers
        return next((q for q in self.questions if str(q.position) not in answers), None)

    def save(self, answers: dict[str, Any], selected: list[int] | None = None) -> None:
        """Keep the unfinished answers on the invitation (assigned anew so it is written)."""
        self.invitation.progress = {"answers": answers, "selected": selected or []}


async def show_open(turn: Turn) -> Outcome:
    """`/survey` or 问卷: the surveys waiting for this resident, each with a button."""
    waiting = await surveys.waiting_for(turn.session, resident_id=turn.resident.id)
    back = turn.button("menu.back", "menu:open")
    if not waiting:
        return Outcome.stay(turn.reply("poll.none", back))
    buttons = [
        Button(_short(_pick(turn, s.title, s.title_en)), f"poll:start:{s.id}") for s in waiting
    ]
    return Outcome.stay(turn.reply("poll.waiting", *buttons, back))


async def press(turn: Turn) -> Outcome:
    """Every `poll:` button: start or resume, pick, toggle, done, skip, later."""
    verb, _, rest = (turn.msg.action or "").removeprefix("poll:").partition(":")
    if verb == "later":
        return _leave(turn, turn.reply("poll.later", turn.button("menu.back", "menu:open")))
    try:
        numbers = [whole(part, low=0) for part in rest.split(":")]
    except ValueError:  # not a number, or beyond any row's id (BadNumber)
        return _leave(turn, turn.reply("input.stale_button"))
    opened = await _open(turn, numbers[0])
    if isinstance(opened, Outcome):
        return opened
    if verb == "start":
        return _resume(turn, opened)
    current = opened.current()
    if len(numbers) < 2 or current is None or numbers[1] != current.position:
        return _ask(turn, opened, note=turn.t("poll.earlier_question"))
    answers, value = opened.answers, numbers[2] if len(numbers) > 2 else -1
    if verb == "pick" and current.kind == "single" and _is_option(current, value):
        answers[str(current.position)] = [value]
    elif verb == "pick" and current.kind == "rating" and value in RATINGS:
        answers[str(current.position)] = value
    elif verb == "toggle" and current.kind == "multiple" and _is_option(current, value):
        selected = opened.selected
        selected = [o for o in selected if o != value] if value in selected else [*selected, value]
        opened.save(answers, sorted(selected))
        return _ask(turn, opened)
    elif verb == "done" and current.kind == "multiple" and (opened.selected or current.optional):
        answers[str(current.position)] = opened.selected or None
    elif verb == "done" and current.kind == "multiple":
        return _ask(turn, opened, note=turn.t("poll.choose_one"))
    elif verb == "skip" and current.optional:
        answers[str(current.position)] = None
    else:
        return _ask(turn, opened, note=turn.t("input.stale_button"))
    return await _advance(turn, opened, answers)


async def answer_text(turn: Turn) -> Outcome:
    """The resident's text message answers the current free-text question."""
    opened = await _open(turn, int(turn.draft.get("survey", 0)))
    if isinstance(opened, Outcome):
        return opened
    current = opened.current()
    if current is None or current.kind != "text":
        return _ask(turn, opened)
    if not turn.text:
        return _ask(turn, opened, note=turn.t("poll.need_text"))
    if len(turn.text) > MAX_ANSWER_CHARS:
        return _ask(turn, opened, note=turn.t("poll.too_long", limit=MAX_ANSWER_CHARS))
    answers = opened.answers
    if turn.text.lower() in SKIP_WORDS:
        if not current.optional:
            return _ask(turn, opened, note=turn.t("poll.required"))
        answers[str(current.position)] = None
    else:
        answers[str(current.position)] = turn.text
    return await _advance(turn, opened, answers)


async def _open(turn: Turn, survey_id: int) -> Opened | Outcome:
    """The survey if this resident may answer it now; otherwise a kind explanation."""
    survey = await turn.session.get(Survey, survey_id)
    invited = (
        await surveys.invitation(turn.session, survey_id=survey_id, resident_id=turn.resident.id)
        if survey is not None
        else None
    )
    back = turn.button("menu.back", "menu:open")
    if survey is None or invited is None or survey.state == surveys.SCHEDULED:
        return _leave(turn, turn.reply("poll.unknown", back))
    if survey.state == surveys.CLOSED:
        return _leave(turn, turn.reply("poll.closed", back, title=_title(turn, survey)))
    if invited.completed:
        return _leave(turn, turn.reply("poll.already_done", back, title=_title(turn, survey)))
    return Opened(survey, invited, await surveys.questions(turn.session, survey_id))


def _resume(turn: Turn, opened: Opened) -> Outcome:
    current = opened.current()
    title = _title(turn, opened.survey)
    if current is None or current.position == 0:
        note = turn.t("poll.anonymous_note" if opened.survey.anonymous else "poll.named_note")
        return _ask(turn, opened, note=turn.t("poll.begin", title=title, privacy=note))
    return _ask(turn, opened, note=turn.t("poll.resume", title=title, number=current.position + 1))


async def _advance(turn: Turn, opened: Opened, answers: dict[str, Any]) -> Outcome:
    """Keep the answer and ask the next question, or store the finished response."""
    opened.save(answers)
    if opened.current() is not None:
        return _ask(turn, opened)
    by_question = {q.id: answers.get(str(q.position)) for q in opened.questions}
    await surveys.complete(
        turn.session, opened.survey, opened.invitation, answers=by_question, now=turn.now
    )
    thanks = turn.reply(
        "poll.thanks", turn.button("menu.back", "menu:open"), title=_title(turn, opened.survey)
    )
    return _leave(turn, thanks)


def _ask(turn: Turn, opened: Opened, *, note: str | None = None) -> Outcome:
    """The current question with its buttons; a free-text question waits for the next text."""
    question = opened.current()
    if question is None:  # every answer given, e.g. a response finished on another device
        return _leave(turn, turn.reply("poll.already_done", title=_title(turn, opened.survey)))
    sid, pos = opened.survey.id, question.position
    lines = [note] if note else []
    lines.append(
        turn.t(
            "poll.question",
            number=pos + 1,
            total=len(opened.questions),
            text=_pick(turn, question.text, question.text_en),
        )
    )
    hint = turn.t(HINTS[question.kind], limit=MAX_ANSWER_CHARS)
    lines.append(hint + (turn.t("poll.optional") if question.optional else ""))
    buttons: list[Button] = []
    options = _options(turn, question)
    if question.kind == "single":
        buttons += [Button(o, f"poll:pick:{sid}:{pos}:{i}") for i, o in enumerate(options)]
    elif question.kind == "multiple":
        chosen = opened.selected
        buttons += [
            Button(f"✓ {o}" if i in chosen else o, f"poll:toggle:{sid}:{pos}:{i}")
            for i, o in enumerate(options)
        ]
        buttons.append(turn.button("poll.done_button", f"poll:done:{sid}:{pos}"))
    elif question.kind == "rating":
        buttons += [Button(str(n), f"poll:pick:{sid}:{pos}:{n}") for n in RATINGS]
    if question.optional:
        buttons.append(turn.button("poll.skip_button", f"poll:skip:{sid}:{pos}"))
    buttons.append(turn.button("poll.later_button", "poll:later"))
    reply = Reply("\n".join(lines), tuple(buttons))
    if question.kind == "text":
        return Outcome.start(NAME, ANSWER, reply, draft={"survey": sid, "question": pos})
    return _leave(turn, reply)


def _leave(turn: Turn, *replies: Reply) -> Outcome:
    """Answer; leave the survey flow if the resident is in it, else stay where they are."""
    return Outcome.end(*replies) if turn.conversation.flow == NAME else Outcome.stay(*replies)


def _is_option(question: SurveyQuestion, value: int) -> bool:
    return 0 <= value < len(question.options)


def _options(turn: Turn, question: SurveyQuestion) -> list[str]:
    if turn.locale == "en" and question.options_en:
        return list(question.options_en)
    return list(question.options)


def _pick(turn: Turn, text: str, text_en: str | None) -> str:
    return text_en if turn.locale == "en" and text_en else text


def _title(turn: Turn, survey: Survey) -> str:
    return _pick(turn, survey.title, survey.title_en)


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


FLOW = Flow(NAME, {ANSWER: answer_text}, cancelled="poll.later")

"""`linli survey`: define a survey from a YAML file, and read or export its results."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.spreadsheet import write_csv, write_xlsx
from handlers.spec_problem import describe
from handlers.survey_spec import SurveyError, parse_survey
from storage import db, migrate, survey_results, surveys
from storage.clock import Clock

KIND_NAMES = {"single": "single choice", "multiple": "multiple choice", "rating": "rating 1-5",
              "text": "free text"}  # fmt: skip


async def run(settings: Settings, args: argparse.Namespace, clock: Clock) -> None:
    """Carry out one `linli survey` call."""
    if args.survey_command == "add":
        await _add(settings, Path(args.file), clock())
    else:
        await _results(settings, args.id, fmt=args.format, out=args.out)


async def _add(settings: Settings, path: Path, now: datetime) -> None:
    try:
        source = await asyncio.to_thread(path.read_text, "utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"cannot read {path}: {exc}") from None
    try:
        spec = parse_survey(source, tz=settings.tz, now=now)
    except SurveyError as exc:
        from bot.dashboard.core import load_texts  # the staff catalogue, only when needed

        texts = load_texts()
        listed = "\n".join(f"  - {describe(texts, 'en', p)}" for p in exc.problems)
        raise SystemExit(f"{path} is not a valid survey:\n{listed}") from None
    engine = db.create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        async with db.session_factory(engine).begin() as session:
            survey = await surveys.create(session, spec, now=now)
            number = survey.id
    finally:
        await engine.dispose()
    kinds = ", ".join(KIND_NAMES[q.kind] for q in spec.questions)
    title = spec.title + (f" / {spec.title_en}" if spec.title_en else "")
    privacy = "anonymous" if spec.anonymous else "named"
    print(f'Survey "{title}": {len(spec.questions)} questions ({kinds}), {privacy}, '
          f"audience {spec.audience}.")  # fmt: skip
    when = "now" if spec.send_at <= now else _local(settings, spec.send_at)
    line = f"Invitations go out {when} (sent by the scheduler of `linli serve`)"
    if spec.closes_at is not None:
        line += f"; closes {_local(settings, spec.closes_at)}"
    if spec.remind_after_days:
        line += (
            f"; one reminder after {spec.remind_after_days} day(s) to those who have not answered"
        )
    print(line + f" [{settings.timezone}].")
    print(number)


async def _results(settings: Settings, survey_id: int, *, fmt: str, out: str | None) -> None:
    if fmt != "text" and not out:
        raise SystemExit(f"--format {fmt} needs --out FILE")
    engine = db.create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        async with db.session_factory(engine)() as session:
            try:
                found = await survey_results.results(session, survey_id)
            except LookupError:
                raise SystemExit(f"there is no survey {survey_id}") from None
            rows = await survey_results.response_rows(session, found.survey)
    finally:
        await engine.dispose()
    if fmt == "text":
        _print(found)
        return
    assert out is not None
    header, table = _table(settings, found, rows)
    if fmt == "csv":
        write_csv(Path(out), header, table)
    else:
        write_xlsx(Path(out), header, table, title=found.survey.title)
    print(f"Wrote {len(table)} response(s) of survey {survey_id} to {out}.")


def _print(found: survey_results.Results) -> None:
    survey = found.survey
    privacy = "anonymous" if survey.anonymous else "named"
    print(f"Survey {survey.id}: {_clean(survey.title)} ({privacy}, {survey.state})")
    rate = f" ({found.rate:.1%})" if found.rate is not None else ""
    print(f"Response rate: {found.completed}/{survey.invited} invited{rate}")
    for tally in found.tallies:
        q = tally.question
        heading = f"Q{q.position + 1} [{KIND_NAMES[q.kind]}] {_clean(q.text)}"
        print(f"\n{heading} — {tally.answered} answer(s)")
        if q.kind in surveys.CHOICE_KINDS:
            for label, count in zip(q.options, tally.counts, strict=True):
                share = count / tally.answered if tally.answered else 0.0
                print(f"  {_clean(label)}: {count} ({share:.1%})")
        elif q.kind == "rating":
            average = f"{tally.average:.2f}" if tally.average is not None else "-"
            print(f"  average {average}")
            for score, count in tally.ratings.items():
                share = count / tally.answered if tally.answered else 0.0
                print(f"  {score}: {count} ({share:.1%})")
        else:
            for text in tally.texts:
                print(f"  - {_clean(text)}")


def _table(
    settings: Settings, found: survey_results.Results, rows: list[survey_results.ResponseRow]
) -> tuple[list[str], list[list[Any]]]:
    """The export: one row per response; who and when only for a named survey."""
    named = not found.survey.anonymous
    questions = [t.question for t in found.tallies]
    header = ["response"] + (["resident_id", "name", "completed_at"] if named else [])
    header += [f"Q{q.position + 1} {q.text}" for q in questions]
    table: list[list[Any]] = []
    for number, row in enumerate(rows, 1):
        cells: list[Any] = [number]
        if named:
            when = _local(settings, row.completed_at) if row.completed_at else ""
            cells += [row.resident_id if row.resident_id is not None else "", row.name or "", when]
        cells += [survey_results.answer_value(q, row.answers.get(q.id)) for q in questions]
        table.append(cells)
    return header, table


def _local(settings: Settings, when: datetime) -> str:
    return when.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


def _clean(text: str) -> str:
    """Resident text printed to a terminal: control characters (escape codes) become spaces."""
    return "".join(c if c.isprintable() else " " for c in text)

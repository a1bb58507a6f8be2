"""`linli survey` as a subprocess: the new id alone on the last line, clear errors with a
non-zero exit, and results of an unknown survey refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_cli import _run

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "survey-example.yaml"


def test_survey_add_prints_a_summary_and_the_id_last(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "parking.yaml"
    path.write_text(EXAMPLE.read_text("utf-8"), "utf-8")  # sent on 1 December, after START
    added = _run(["survey", "add", str(path)], sqlite_url)
    assert added.returncode == 0, added.stderr
    lines = added.stdout.strip().splitlines()
    assert lines[-1] == "1"
    assert "小区停车满意度调查 / Parking satisfaction survey" in lines[0]
    assert "4 questions (single choice, multiple choice, rating 1-5, free text)" in lines[0]
    assert "Invitations go out 2026-12-01 09:00" in added.stdout
    assert "one reminder after 3 day(s)" in added.stdout
    shown = _run(["survey", "results", "1"], sqlite_url)
    assert shown.returncode == 0 and "Response rate: 0/0 invited" in shown.stdout


def test_survey_errors_exit_non_zero(sqlite_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: 调查\nquestions:\n  - kind: slider\n    text: 打分\n", "utf-8")
    refused = _run(["survey", "add", str(bad)], sqlite_url)
    assert refused.returncode != 0 and refused.stderr.strip().endswith(
        "is not a valid survey:\n"
        "  - question 1: unknown kind 'slider' (use single, multiple, rating or text)"
    )
    missing = _run(["survey", "add", str(tmp_path / "nowhere.yaml")], sqlite_url)
    assert missing.returncode != 0 and "cannot read" in missing.stderr
    unknown = _run(["survey", "results", "42"], sqlite_url)
    assert unknown.returncode != 0 and "there is no survey 42" in unknown.stderr
    no_file = _run(["survey", "results", "42", "--format", "xlsx"], sqlite_url)
    assert no_file.returncode != 0 and "--format xlsx needs --out FILE" in no_file.stderr

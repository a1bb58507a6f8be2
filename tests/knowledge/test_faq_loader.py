"""The FAQ files: every topic present, validation that names file, entry and reason, a
deployment's files overriding by id, and the service keeping its last good knowledge."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.app import Runtime, reload_knowledge
from knowledge.faq import KnowledgeError, load_entries
from knowledge.places import load_places

TOPIC_IDS = (
    "elderly-subsidy",
    "elderly-home-bed",
    "elderly-meal",
    "elderly-care-device",
    "elderly-card",
    "childcare",
    "school-enrollment",
    "child-protection",
    "residence-permit",
    "newcomer-center",
    "employment",
    "legal-aid",
    "social-insurance",
    "service-center",
    "certificates",
    "volunteer",
    "community-fund",
    "elevator",
    "property-mgmt",
    "owners-committee",
    "garbage-sorting",
    "bulky-waste",
    "parking-charging",
    "ebike-safety",
    "gas-safety",
    "noise",
    "dog-registration",
    "mediation-center",
    "petition",
    "counseling-room",
    "psych-hotline",
    "low-income",
    "temporary-aid",
    "disability",
    "social-org",
    "social-worker-cert",
    "grid-worker",
    "deliberation-how",
    "bot-privacy",
    "bot-help",
)  # ../shared/knowledge-topics.md: these ids must never change
GOOD = """
id: {id}
category: community
question: {{zh: 测试问题？, en: A test question?}}
alternates: {{zh: [另一种问法], en: [another way]}}
keywords: {{zh: [测试], en: [test]}}
answer: {{zh: 这是{answer}。, en: This is {answer}.}}
office: service-center
updated: 2026-11-27
"""


def test_every_topic_of_the_list_exists_with_both_languages() -> None:
    offices = load_places().offices
    entries = load_entries(offices=offices)
    assert len(TOPIC_IDS) == 40
    assert set(TOPIC_IDS) <= set(entries)
    for entry in entries.values():
        assert entry.answer.zh and entry.answer.en and entry.question.en
        assert len(entry.alternates["zh"]) >= 5 and len(entry.alternates["en"]) >= 3
        assert entry.office is None or entry.office in offices
        assert "0000-" not in entry.answer.zh + entry.answer.en  # phones live in places.yaml


def test_a_deployment_overrides_and_adds_entries_by_id(tmp_path: Path) -> None:
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "local.yaml").write_text(
        GOOD.format(id="garbage-sorting", answer="本地规定"), encoding="utf-8"
    )
    (tmp_path / "faq" / "extra.yaml").write_text(
        GOOD.format(id="local-market", answer="新条目"), encoding="utf-8"
    )
    entries = load_entries(tmp_path, offices=load_places().offices)
    assert entries["garbage-sorting"].answer.zh == "这是本地规定。"
    assert "local-market" in entries and "elderly-subsidy" in entries


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("id: x\ncategory: nonsense\n", "category"),
        (
            GOOD.format(id="x", answer="a").replace("office: service-center", "office: moon"),
            "office",
        ),
        (GOOD.format(id="x", answer="a").replace("en: This is a.", "en: ''"), "answer.en"),
        (GOOD.format(id="x", answer="a").replace("2026-11-27", "yesterday"), "updated"),
        ("id: [unclosed\n", "YAML"),
        ("category: community\n", "missing `id`"),
    ],
)
def test_a_bad_file_is_reported_with_file_entry_and_reason(
    tmp_path: Path, content: str, reason: str
) -> None:
    (tmp_path / "faq").mkdir()
    bad = tmp_path / "faq" / "bad.yaml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_entries(tmp_path, offices=load_places().offices)
    assert str(bad) in str(caught.value) and reason in str(caught.value)


async def test_the_service_keeps_its_last_good_knowledge(
    runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = runtime.engine.services
    runtime.settings = runtime.settings.model_copy(update={"knowledge_dir": tmp_path})
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "broken.yaml").write_text("id: x\ncategory: nope\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        assert await reload_knowledge(runtime) is False
    assert runtime.engine.services is before
    assert "broken.yaml" in caplog.text and "category" in caplog.text

    (tmp_path / "faq" / "broken.yaml").write_text(
        GOOD.format(id="garbage-sorting", answer="新的分类规定"), encoding="utf-8"
    )
    assert await reload_knowledge(runtime) is True
    assert runtime.engine.services.faq.entries["garbage-sorting"].answer.zh == "这是新的分类规定。"

"""Dataset versions: frozen records, content hash, numbering."""

from __future__ import annotations

import json

import pytest

from medexam.models import DatasetItem, Question, ValidityRuleSet
from medexam.services.datasets import (
    dataset_version_create,
    dataset_version_get,
    dataset_version_verify,
    version_records,
)
from review.models import Adjudication
from tests.review_data import make_question, make_response, make_review, make_reviewers, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed_bank(make_user):
    """Three questions: one agreed, one flagged ambiguous, one with a corrected key."""
    reviewers = make_reviewers(3)
    run = make_run("model-a")
    agreed = make_question(answer_key="A")
    ambiguous = make_question(answer_key="B")
    corrected = make_question(answer_key="C", specialty="neurology", level="senior")
    for question, flags in ((agreed, []), (ambiguous, ["ambiguous"]), (corrected, ["wrong_key"])):
        response = make_response(run, question, "A")
        for reviewer in reviewers:
            make_review(response, reviewer, "correct", flags=flags, ratings=(5, 4, 5))
    Adjudication.objects.create(
        question=corrected,
        adjudicator=make_user("adjudicator"),
        decision=Adjudication.Decision.KEY_CORRECTED,
        corrected_key="D",
        reason="教材第9版更正",
    )
    rule_set = ValidityRuleSet.objects.create(name="default")
    return {
        "rule_set": rule_set,
        "reviewers": reviewers,
        "questions": (agreed, ambiguous, corrected),
    }


def test_create_keeps_validated_only(reviewed_bank):
    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    agreed, _, corrected = reviewed_bank["questions"]
    ids = sorted(DatasetItem.objects.filter(dataset=version).values_list("question_id", flat=True))
    assert ids == [agreed.id, corrected.id]
    assert version.item_count == 2


def test_create_records_corrected_key(reviewed_bank):
    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    corrected = reviewed_bank["questions"][2]
    record = DatasetItem.objects.get(dataset=version, question=corrected).record
    assert record["answer"] == "D"
    assert record["original_answer"] == "C"
    assert record["review_summary"]["reviewers"] == 3


def test_create_numbers_versions(reviewed_bank):
    first = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    second = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    assert (first.version, second.version) == (1, 2)
    assert first.content_hash == second.content_hash
    assert dataset_version_get("cmb").pk == second.pk
    assert dataset_version_get("cmb:1").pk == first.pk


def test_version_frozen_after_question_edit(reviewed_bank):
    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    agreed = reviewed_bank["questions"][0]
    Question.objects.filter(pk=agreed.pk).update(stem="改过的题干")
    stems = [record["stem"] for record in version_records(version)]
    assert "改过的题干" not in stems


def test_records_name_no_reviewer(reviewed_bank):
    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    text = json.dumps(list(version_records(version)), ensure_ascii=False)
    for reviewer in reviewed_bank["reviewers"]:
        assert reviewer.pseudonym not in text
        assert reviewer.user.username not in text


def test_create_all_items_keeps_status(reviewed_bank):
    version = dataset_version_create(
        name="all",
        rule_set_id=reviewed_bank["rule_set"].id,
        validated_only=False,
        bootstrap_samples=0,
    )
    statuses = sorted(record["validity"] for record in version_records(version))
    assert statuses == ["excluded", "validated", "validated"]


def test_summary_has_agreement_and_rules(reviewed_bank):
    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=20
    )
    assert version.rules["min_reviews"] == 3
    assert version.summary["counts"]["specialty"] == {"cardiovascular": 1, "neurology": 1}
    assert "verdict" in version.summary["agreement"]["dimensions"]


def test_get_unknown_version_raises():
    with pytest.raises(Exception, match="not found"):
        dataset_version_get("nothing:1")


def test_create_rejects_blank_name(reviewed_bank):
    with pytest.raises(ValueError, match="name is missing"):
        dataset_version_create(name="  ", rule_set_id=reviewed_bank["rule_set"].id)


def test_verify_detects_changed_item(reviewed_bank):
    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    assert dataset_version_verify(version)
    item = DatasetItem.objects.filter(dataset=version).first()
    item.record = {**item.record, "answer": "E"}
    item.save()
    assert not dataset_version_verify(version)

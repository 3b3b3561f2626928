"""Dataset versions: frozen records, content hash, numbering."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from medexam.models import (
    DatasetItem,
    DatasetVersion,
    ImmutableVersionError,
    Question,
    ValidityRuleSet,
)
from medexam.services.datasets import (
    BUILD_LOCK_CLASS,
    dataset_version_build,
    dataset_version_create,
    dataset_version_get,
    dataset_version_request,
    dataset_version_verify,
    version_records,
)
from review.agreement_report import agreement_report
from review.models import Adjudication
from review.services import adjudication_record
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
    # A queryset update bypasses the model's guard, as raw SQL would.
    DatasetItem.objects.filter(pk=item.pk).update(record={**item.record, "answer": "E"})
    assert not dataset_version_verify(version)


def test_agreement_covers_only_version_items(reviewed_bank):
    # A fourth question the rules exclude, on which the reviewers disagree.
    run = make_run("model-b")
    outside = make_question(answer_key="A", specialty="neurology")
    response = make_response(run, outside, "B")
    for reviewer, verdict in zip(
        reviewed_bank["reviewers"], ("correct", "incorrect", "correct"), strict=True
    ):
        make_review(response, reviewer, verdict, flags=["ambiguous"])

    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    everything = agreement_report(bootstrap_samples=0)["overall"]
    summary = version.summary["agreement"]
    assert version.item_count == 2
    assert summary["reviews"] == 6
    assert everything["reviews"] == 12
    assert summary["dimensions"]["verdict"]["units"] == 2
    assert everything["dimensions"]["verdict"]["units"] == 4
    assert version.summary["agreement_scope"] == "reviews of this version's items"


def test_summary_states_pairs_resampling(reviewed_bank):
    version = dataset_version_create(
        name="cmb",
        rule_set_id=reviewed_bank["rule_set"].id,
        bootstrap_samples=50,
        resampling="pairs",
    )
    bootstrap = version.summary["agreement"]["dimensions"]["verdict"]["bootstrap"]
    assert bootstrap["resampling"] == "pairs"
    assert version.resampling == "pairs"


def test_published_version_change_raises(reviewed_bank):
    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    version.name = "renamed"
    with pytest.raises(ImmutableVersionError):
        version.save()
    assert DatasetVersion.objects.get(pk=version.pk).name == "cmb"


def test_published_version_unchanged_save_allowed(reviewed_bank):
    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    version.refresh_from_db()
    version.save()
    assert DatasetVersion.objects.get(pk=version.pk).status == "published"


def test_published_version_delete_raises(reviewed_bank):
    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    with pytest.raises(ImmutableVersionError):
        version.delete()
    assert DatasetVersion.objects.filter(pk=version.pk).exists()
    assert DatasetItem.objects.filter(dataset=version).count() == 2


def test_published_item_change_raises(reviewed_bank):
    version = dataset_version_create(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0
    )
    item = DatasetItem.objects.filter(dataset=version).first()
    item.record = {**item.record, "answer": "E"}
    with pytest.raises(ImmutableVersionError):
        item.save()
    assert dataset_version_verify(version)


def test_request_leaves_version_pending(reviewed_bank):
    version = dataset_version_request(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, enqueue=False
    )
    assert version.status == DatasetVersion.Status.PENDING
    assert version.version == 1
    assert not DatasetItem.objects.filter(dataset=version).exists()
    assert version.rules["rule_set"] == "default"


def test_build_twice_adds_nothing(reviewed_bank):
    version = dataset_version_request(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0, enqueue=False
    )
    first = dataset_version_build(version_id=version.pk)
    second = dataset_version_build(version_id=version.pk)
    assert first.status == second.status == DatasetVersion.Status.PUBLISHED
    assert second.content_hash == first.content_hash
    assert DatasetItem.objects.filter(dataset=version).count() == 2
    assert DatasetVersion.objects.count() == 1


def test_build_restarts_version_left_building(reviewed_bank):
    version = dataset_version_request(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, bootstrap_samples=0, enqueue=False
    )
    # A worker that died mid-build left one stale item and the building status.
    agreed = reviewed_bank["questions"][0]
    DatasetItem.objects.create(dataset=version, question=agreed, record={"stale": True})
    DatasetVersion.objects.filter(pk=version.pk).update(status="building", item_count=1)

    built = dataset_version_build(version_id=version.pk)
    records = list(version_records(built))
    assert built.status == DatasetVersion.Status.PUBLISHED
    assert built.item_count == 2
    assert all("stale" not in record for record in records)
    assert dataset_version_verify(built)


def test_build_failure_records_reason(reviewed_bank):
    rule_set = reviewed_bank["rule_set"]
    version = dataset_version_request(name="cmb", rule_set_id=rule_set.id, enqueue=False)
    ValidityRuleSet.objects.filter(pk=rule_set.pk).update(flag_actions={"ambiguous": "delete"})

    built = dataset_version_build(version_id=version.pk)
    assert built.status == DatasetVersion.Status.FAILED
    assert "invalid action 'delete'" in built.error_message
    assert built.finished_at is not None
    assert not DatasetItem.objects.filter(dataset=version).exists()


def test_build_fails_without_rule_set(reviewed_bank):
    rule_set = reviewed_bank["rule_set"]
    version = dataset_version_request(name="cmb", rule_set_id=rule_set.id, enqueue=False)
    rule_set.delete()
    built = dataset_version_build(version_id=version.pk)
    assert built.status == DatasetVersion.Status.FAILED
    assert "rule set was deleted" in built.error_message


def test_failed_version_can_be_deleted(reviewed_bank):
    rule_set = reviewed_bank["rule_set"]
    version = dataset_version_request(name="cmb", rule_set_id=rule_set.id, enqueue=False)
    rule_set.delete()
    dataset_version_build(version_id=version.pk).delete()
    assert not DatasetVersion.objects.exists()


def test_create_raises_when_build_fails(reviewed_bank):
    ValidityRuleSet.objects.filter(pk=reviewed_bank["rule_set"].pk).update(
        flag_actions={"ambiguous": "delete"}
    )
    with pytest.raises(ValueError, match="invalid action"):
        dataset_version_create(name="cmb", rule_set_id=reviewed_bank["rule_set"].id)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks need PostgreSQL")
def test_build_skipped_while_another_session_builds(reviewed_bank):
    version = dataset_version_request(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, enqueue=False
    )
    # A second session stands in for a worker that is building the version now.
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [BUILD_LOCK_CLASS, version.pk])
        assert dataset_version_build(version_id=version.pk) is None
        assert DatasetVersion.objects.get(pk=version.pk).status == "pending"
    finally:
        # Unlock first: the server drops a closed session's locks only a moment later.
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [BUILD_LOCK_CLASS, version.pk])
        other.close()
    assert dataset_version_build(version_id=version.pk).status == "published"


def test_datasheet_states_scope_and_resampling(reviewed_bank):
    from medexam.exports import datasheet_for

    version = dataset_version_create(
        name="cmb",
        rule_set_id=reviewed_bank["rule_set"].id,
        bootstrap_samples=20,
        resampling="pairs",
    )
    text = datasheet_for(version)
    assert "reviews of this version's items only" in text
    assert "pairs of values within units (Hayes and Krippendorff 2007)" in text
    assert "every stored review" not in text


def test_unreachable_broker_fails_version(reviewed_bank, monkeypatch):
    from kombu.exceptions import OperationalError

    from medexam.services.datasets import _enqueue_build
    from medexam.tasks import build_dataset_version_task

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(build_dataset_version_task, "delay", refuse)
    version = dataset_version_request(
        name="cmb", rule_set_id=reviewed_bank["rule_set"].id, enqueue=False
    )
    with pytest.raises(ValueError, match="could not be reached"):
        _enqueue_build(version.pk)
    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.FAILED
    assert "check that Redis is running" in version.error_message


def test_adjudicated_key_keeps_source_key_as_original(make_user):
    reviewers = make_reviewers(3)
    question = make_question(answer_key="C")
    response = make_response(make_run("model-a"), question, "D")
    for reviewer in reviewers:
        make_review(response, reviewer, "correct", flags=["wrong_key"], ratings=(5, 4, 5))
    adjudication_record(
        adjudicator=make_user("adjudicator"),
        question_id=question.id,
        response_id=response.id,
        decision=Adjudication.Decision.KEY_CORRECTED,
        corrected_key="D",
        reason="教材第9版更正",
    )
    rule_set = ValidityRuleSet.objects.create(name="default")
    version = dataset_version_create(name="cmb", rule_set_id=rule_set.id, bootstrap_samples=0)

    record = DatasetItem.objects.get(dataset=version, question=question).record
    assert record["answer"] == "D"
    assert record["original_answer"] == "C"

"""The agreement and export_dataset management commands."""

from __future__ import annotations

import json
from io import StringIO

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from medexam.models import DatasetVersion, ModelResponse, ValidityRuleSet
from review import services
from tests import review_helpers as build
from tests.review_data import make_question, make_response, make_review, make_reviewers, make_run

KRIPPENDORFF_CSV = (
    "coder,u1,u2,u3,u4,u5,u6,u7,u8,u9,u10,u11,u12\n"
    "A,1,2,3,3,2,1,4,1,2,,,\n"
    "B,1,2,3,3,2,2,4,1,2,5,,3\n"
    "C,,3,3,3,2,3,4,2,2,5,1,\n"
    "D,1,2,3,3,2,4,4,1,2,5,1,\n"
)


def run_command(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_agreement_input_csv(tmp_path, level, published):
    path = tmp_path / "table.csv"
    path.write_text(KRIPPENDORFF_CSV, encoding="utf-8")
    report = json.loads(
        run_command(
            "agreement",
            "--input",
            str(path),
            "--header",
            "--level",
            level,
            "--json",
            "--bootstrap",
            "0",
        )
    )
    assert round(report["overall"]["alpha"]["value"], 3) == published


@pytest.mark.parametrize(
    ("resampling", "label"),
    [("units", "按单元重抽样 200 次"), ("pairs", "按可配对取值（Hayes 与 Krippendorff）重抽样")],
)
def test_agreement_text_names_resampling_in_chinese(tmp_path, resampling, label):
    path = tmp_path / "table.csv"
    path.write_text(KRIPPENDORFF_CSV, encoding="utf-8")
    with translation.override("zh-hans"):
        text = run_command(
            "agreement",
            "--input",
            str(path),
            "--header",
            "--level",
            "nominal",
            "--bootstrap",
            "200",
            "--resampling",
            resampling,
        )
    assert label in text
    assert f"of {resampling}" not in text


def test_agreement_text_translates_same_value_reason(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("A,1,1,1\nB,1,1,1\nC,1,1,1\n", encoding="utf-8")
    with translation.override("zh-hans"):
        text = run_command("agreement", "--input", str(path), "--bootstrap", "0")
    assert "alpha（名义尺度）无法计算（所有评分取值相同，偶然预期的不一致为零）" in text
    assert "A：评分 3 个  去掉该评分者后的 alpha 无法计算（所有评分取值相同" in text
    assert "every rating" not in text
    assert "undefined" not in text


def test_agreement_input_without_labels(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("1,2,2\n1,2,3\n", encoding="utf-8")
    report = json.loads(
        run_command("agreement", "--input", str(path), "--level", "interval", "--json")
    )
    assert report["overall"]["coders"] == 2
    assert report["overall"]["alpha"]["value"] is not None


def test_agreement_input_rejects_text(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("A,1,x\nB,1,2\n", encoding="utf-8")
    with translation.override("en"), pytest.raises(CommandError, match="not a number"):
        run_command("agreement", "--input", str(path), "--level", "interval")


def test_agreement_input_nominal_text(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("A,yes,no,yes\nB,yes,no,no\n", encoding="utf-8")
    report = json.loads(
        run_command("agreement", "--input", str(path), "--json", "--bootstrap", "0")
    )
    assert report["overall"]["coders"] == 2
    assert report["overall"]["units"] == 3


@pytest.mark.django_db
def test_agreement_stored_reviews_table():
    reviewers = make_reviewers(2)
    question = make_question()
    response = make_response(make_run("model-a"), question, "A")
    for reviewer in reviewers:
        make_review(response, reviewer, "correct")
    text = run_command("agreement", "--by", "reviewer", "--bootstrap", "0")
    assert reviewers[0].pseudonym in text
    assert reviewers[0].user.username not in text


@pytest.mark.django_db
def test_agreement_table_names_dimensions_in_chinese():
    reviewers = make_reviewers(2)
    response = make_response(make_run("model-a"), make_question(), "A")
    for reviewer in reviewers:
        make_review(response, reviewer, "correct", flags=["ambiguous"])
    with translation.override("zh-hans"):
        text = run_command("agreement", "--bootstrap", "0")
    assert "首次判定（看到标准答案前）：alpha（名义尺度）" in text
    assert "临床推理：alpha（有序尺度）" in text
    assert "题目问题：题目有歧义" in text
    assert "可配对单元 1/1" in text
    assert "rating_" not in text
    assert "flag:" not in text


def _two_reviewed_questions():
    reviewers = make_reviewers(2)
    run = make_run("model-a")
    questions = [make_question(), make_question(specialty=None)]
    for question in questions:
        response = make_response(run, question, "A")
        make_review(response, reviewers[0], "correct", flags=["ambiguous"], ratings=(5, 4, 5))
        make_review(response, reviewers[1], "incorrect", ratings=(4, 4, 5))
    return reviewers, questions


@pytest.mark.django_db
def test_agreement_groups_named_in_chinese():
    reviewers, _questions = _two_reviewed_questions()
    with translation.override("zh-hans"):
        by_reviewer = run_command("agreement", "--by", "reviewer", "--bootstrap", "0")
        by_specialty = run_command("agreement", "--by", "specialty", "--bootstrap", "0")
        by_level = run_command("agreement", "--by", "level", "--bootstrap", "0")

    assert f"审核医师 {reviewers[0].pseudonym}" in by_reviewer
    assert "首次判定（看到标准答案前）：" in by_reviewer
    assert "事实准确性：" in by_reviewer
    for english in ("reviewer ", "verdict:", "rating_factual:"):
        assert english not in by_reviewer
    assert "专科：心血管内科" in by_specialty
    assert "专科：未指定专科" in by_specialty
    assert "cardiovascular" not in by_specialty
    assert "specialty " not in by_specialty
    assert "职称级别：主治医师" in by_level


@pytest.mark.django_db
def test_agreement_by_item_table():
    _reviewers, questions = _two_reviewed_questions()
    with translation.override("zh-hans"):
        text = run_command("agreement", "--by", "item", "--bootstrap", "0")

    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("题目 ID"))
    first = next(line for line in lines if line.startswith(f"{questions[0].pk} "))
    assert "判定一致率" in header
    assert first.split()[1:4] == ["2", "2", "1"]
    assert "0.000" in first
    assert "正确 1, 错误 1" in first
    assert "题目有歧义 1" in first
    assert "{" not in text
    assert '"reviews"' not in text


@pytest.mark.django_db
def test_export_dataset_create_parquet(tmp_path):
    reviewers = make_reviewers(3)
    question = make_question()
    response = make_response(make_run("model-a"), question, "A")
    for reviewer in reviewers:
        make_review(response, reviewer, "correct")
    ValidityRuleSet.objects.create(name="default")
    path = tmp_path / "cmb.parquet"
    run_command(
        "export_dataset",
        "--format",
        "parquet",
        "--output",
        str(path),
        "--create",
        "cmb",
        "--rule-set",
        "default",
    )
    assert DatasetVersion.objects.get(name="cmb").item_count == 1
    assert pq.read_table(path).num_rows == 1


@pytest.mark.django_db
def test_export_dataset_unknown_version(tmp_path):
    with pytest.raises(CommandError, match="not found"):
        run_command(
            "export_dataset",
            "--format",
            "csv",
            "--output",
            str(tmp_path / "x.csv"),
            "--version",
            "x:1",
        )


@pytest.mark.django_db
def test_export_dataset_current_jsonl(tmp_path):
    make_question()
    path = tmp_path / "current.jsonl"
    run_command("export_dataset", "--format", "jsonl", "--output", str(path))
    record = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert record["validity"] == "not_reviewed"


def _review_through_services(make_user, verdicts: tuple[str, ...]) -> ModelResponse:
    """Have one physician per verdict review a single response, as /review/ does."""
    run = build.run(reviews_per_response=len(verdicts))
    response = build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    for index, verdict in enumerate(verdicts):
        reviewer = build.reviewer(make_user, f"physician-{index}")
        slot = services.assignment_claim_next(reviewer=reviewer)
        services.assignment_record_first_verdict(
            assignment_id=slot.pk, reviewer=reviewer, verdict=verdict
        )
        services.review_submit(
            assignment_id=slot.pk,
            reviewer=reviewer,
            verdict_after_key=verdict,
            rating_factual=3,
            rating_reasoning=3,
            rating_safety=3,
        )
    return response


@pytest.mark.django_db
def test_export_dataset_current_applies_rules(tmp_path, make_user):
    reviewed = _review_through_services(make_user, ("correct", "incorrect", "incorrect"))
    unreviewed = make_question()
    path = tmp_path / "current.jsonl"

    output = run_command("export_dataset", "--format", "jsonl", "--output", str(path))

    records = {
        record["question_id"]: record
        for record in map(json.loads, path.read_text(encoding="utf-8").splitlines())
    }
    disputed = records[reviewed.question_id]
    assert disputed["validity"] == "disputed"
    assert [reason["code"] for reason in disputed["validity_reasons"]] == ["low_agreement"]
    assert disputed["validity_reasons"][0]["rule_set"] == "standard"
    assert disputed["review_summary"]["verdict_agreement"] == 0.3333
    assert records[unreviewed.pk]["validity"] == "not_reviewed"
    assert "standard" in output


@pytest.mark.django_db
def test_export_dataset_unknown_rule_set_lists_names(tmp_path):
    ValidityRuleSet.objects.create(name="strict")
    with pytest.raises(CommandError) as error:
        run_command(
            "export_dataset",
            *("--format", "jsonl", "--output", str(tmp_path / "cmb.jsonl")),
            *("--create", "cmb", "--rule-set", "default"),
        )
    message = str(error.value)
    assert "未找到" in message
    assert "standard, strict" in message
    assert not DatasetVersion.objects.exists()


@pytest.mark.django_db
def test_export_dataset_refuses_empty_version(tmp_path, make_user):
    _review_through_services(make_user, ("correct", "incorrect", "incorrect"))
    make_question()
    path = tmp_path / "cmb.jsonl"
    with pytest.raises(CommandError) as error:
        run_command(
            "export_dataset",
            *("--format", "jsonl", "--output", str(path)),
            *("--create", "cmb"),
        )
    message = str(error.value)
    assert "尚未审核 1" in message
    assert "有争议 1" in message
    assert "--all-items" in message
    assert not DatasetVersion.objects.filter(status=DatasetVersion.Status.PUBLISHED).exists()
    assert not path.exists()

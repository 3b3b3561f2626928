"""Export writers: JSONL schema, Excel-safe CSV, Parquet in batches, datasheet."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest

from medexam import exports
from tests.review_data import make_question

RECORD = {
    "question_id": 7,
    "stem": '=HYPERLINK("http://example.invalid") 患者男，65岁',
    "options": {"A": "-1 mmol/L", "B": "+阿司匹林", "C": "@home", "D": "正常", "E": "以上都不是"},
    "answer": "D",
    "original_answer": "C",
    "type": "single",
    "specialty": "cardiovascular",
    "level": "attending",
    "explanation": "",
    "source": "tests",
    "source_id": "7",
    "validity": "validated",
    "validity_reasons": [{"code": "rules_met"}],
    "review_summary": {"reviewers": 3, "verdicts": {"correct": 3}},
}


def test_jsonl_round_trip():
    text = b"".join(exports.iter_jsonl([RECORD, RECORD])).decode("utf-8")
    lines = text.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == RECORD


def test_csv_starts_with_bom():
    data = b"".join(exports.iter_csv([RECORD]))
    assert data.startswith(b"\xef\xbb\xbf")


def test_csv_neutralises_formulas():
    text = b"".join(exports.iter_csv([RECORD])).decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["stem"].startswith("'=")
    assert row["option_A"] == "'-1 mmol/L"
    assert row["option_B"] == "'+阿司匹林"
    assert row["option_C"] == "'@home"
    assert row["option_D"] == "正常"


def test_csv_options_as_columns():
    text = b"".join(exports.iter_csv([RECORD])).decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert header[2:7] == ["option_A", "option_B", "option_C", "option_D", "option_E"]


def test_csv_extra_options_kept():
    record = dict(RECORD, options={**RECORD["options"], "F": "第六项"})
    text = b"".join(exports.iter_csv([record])).decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(text)))
    assert json.loads(row["options_extra"]) == {"F": "第六项"}


def test_parquet_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "BATCH_SIZE", 4)
    path = tmp_path / "out.parquet"
    records = (dict(RECORD, question_id=i) for i in range(10))
    rows = exports.write_parquet(records, str(path))
    parquet = pq.ParquetFile(path)
    assert rows == 10
    assert parquet.metadata.num_rows == 10
    assert parquet.metadata.num_row_groups == 3
    assert parquet.read().column("stem")[0].as_py() == RECORD["stem"]


def test_datasheet_undefined_agreement():
    summary = {
        "items": 1,
        "counts": {"specialty": {"cardiovascular": 1}},
        "agreement": {
            "dimensions": {
                "verdict": {
                    "level": "nominal",
                    "alpha": {"value": None, "undefined": "fewer than two reviewers"},
                    "percent_agreement": {"value": None, "undefined": "fewer than two reviewers"},
                    "pairable_units": 0,
                    "units": 1,
                }
            }
        },
    }
    text = exports.datasheet_markdown(title="t", summary=summary, rules={"min_reviews": 3}, meta={})
    assert "## Items per specialty / 各专科题目数" in text
    assert "undefined / 无法计算 (fewer than two reviewers / 审核医师少于两位)" in text
    assert "- min_reviews: 3" in text
    assert "nan" not in text.lower()


@pytest.mark.django_db
def test_current_export_jsonl_schema():
    question = make_question(answer_key="AC", question_type="multiple")
    text = b"".join(exports.export_chunks("jsonl")).decode("utf-8")
    record = json.loads(text.splitlines()[0])
    assert record["question_id"] == question.id
    assert record["answer"] == "AC"
    assert record["type"] == "multiple"
    assert record["validity"] == "not_reviewed"
    assert record["review_summary"] is None


def test_datasheet_keeps_rubric_order():
    figures = {
        "level": "nominal",
        "alpha": {"value": 0.5},
        "percent_agreement": {"value": 0.8},
        "pairable_units": 2,
        "units": 2,
    }
    # Keys arrive in jsonb order (shortest first), not in the rubric's order.
    dimensions = {"verdict": figures, "flag:outdated": figures, "rating_factual": figures}
    summary = {"items": 0, "counts": {}, "agreement": {"dimensions": dimensions}}
    text = exports.datasheet_markdown(title="t", summary=summary, rules={}, meta={})
    assert text.index("| verdict |") < text.index("| rating_factual |")
    assert text.index("| rating_factual |") < text.index("| flag:outdated |")


@pytest.mark.django_db
def test_datasheet_agreement_before_selection():
    from medexam.models import ValidityRuleSet
    from medexam.services.datasets import dataset_version_create
    from tests.review_data import make_response, make_review, make_reviewers, make_run

    reviewers = make_reviewers(3)
    run = make_run("model-a")
    for verdicts in [("correct",) * 3, ("correct",) * 3, ("correct", "correct", "incorrect")]:
        response = make_response(run, make_question(), "A")
        for reviewer, verdict in zip(reviewers, verdicts, strict=True):
            make_review(response, reviewer, verdict)
    rule_set = ValidityRuleSet.objects.create(name="default")
    version = dataset_version_create(name="cmb", rule_set_id=rule_set.id, bootstrap_samples=0)

    text = exports.datasheet_for(version)
    limitations = text[text.index("## Known limitations") :]

    assert version.item_count == 2
    assert "agreement on the kept items is high by construction" in limitations
    assert "保留题目上的一致性必然偏高" in limitations
    assert "min_item_agreement 0.67" in limitations
    before = version.summary["agreement_before_selection"]["dimensions"]["verdict"]
    assert before["units"] == 3
    alpha = f"{before['alpha']['value']:.3f}"
    assert f"Over all reviewed items before selection, verdict alpha is {alpha}" in limitations
    assert f"首次结论的 alpha 为 {alpha}" in limitations
    assert "(pairable units 3/3)" in limitations


@pytest.mark.django_db
def test_datasheet_created_in_project_time_zone(settings):
    from medexam.models import ValidityRuleSet
    from medexam.services.datasets import dataset_version_create

    settings.TIME_ZONE = "Asia/Shanghai"
    make_question(validity="validated")
    rule_set = ValidityRuleSet.objects.create(name="default")
    version = dataset_version_create(
        name="cmb", rule_set_id=rule_set.id, bootstrap_samples=0, validated_only=False
    )

    text = exports.datasheet_for(version)

    assert "+08:00" in text.split("created / 创建时间: ", 1)[1].splitlines()[0]

"""A dataset version exported as JSONL, CSV and Parquet imports back as the same questions."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.utils import translation

from medexam.exports import excel_safe, export_write
from medexam.importers import ReaderOptions, read_rows
from medexam.importers.tabular import unescape_formula
from medexam.models import DatasetItem, DatasetVersion, ModelResponse, Question, ValidityRuleSet
from medexam.services.datasets import dataset_version_create, version_records
from review.models import Adjudication, Assignment, Review
from tests.review_data import make_response, make_review, make_reviewers, make_run

pytestmark = pytest.mark.django_db

BANK = [
    {
        "stem": "急性ST段抬高型心肌梗死，胸痛3小时，首选的再灌注治疗是",
        "options": {"A": "直接PCI", "B": "溶栓", "C": "CABG", "D": "抗凝", "E": "观察"},
        "answer": "A",
        "specialty": "cardiovascular",
        "level": "attending",
        "explanation": "发病12小时内首选直接PCI。",
        "source": "roundtrip",
        "source_id": "rt-1",
    },
    {
        # Seven options: F and G travel in the CSV export's options_extra column.
        "stem": "下列哪些属于糖尿病的慢性并发症",
        "options": {
            "A": "糖尿病肾病",
            "B": "酮症酸中毒",
            "C": "视网膜病变",
            "D": "低血糖",
            "E": "高渗状态",
            "F": "周围神经病变",
            "G": "乳酸酸中毒",
        },
        "answer": "ACF",
        "type": "multiple",
        "specialty": "endocrinology",
        "level": "senior",
        "explanation": "",
        "source": "roundtrip",
        "source_id": "rt-2",
    },
    {
        # Quotes, a comma and a line break must survive CSV quoting.
        "stem": '患者诉"剧烈头痛，喷射性呕吐"\n伴颈项强直，最可能的诊断是',
        "options": {"A": "蛛网膜下腔出血", "B": "偏头痛", "C": "紧张性头痛", "D": "脑梗死"},
        "answer": "A",
        "specialty": "neurology",
        "level": "attending",
        "explanation": "",
        "source": "roundtrip",
        "source_id": "rt-3",
    },
    {
        # Cells that a spreadsheet would run as formulas are escaped in the CSV.
        "stem": '=HYPERLINK("x") 肾病综合征的诊断必需条件是',
        "options": {"A": "-尿蛋白>3.5 g/d", "B": "+水肿", "C": "'=高脂血症", "D": "@血尿"},
        "answer": "A",
        "specialty": "nephrology",
        "level": "senior",
        "explanation": "",
        "source": "roundtrip",
        "source_id": "rt-4",
    },
    {
        # The stored key B is corrected to C by adjudication; the export carries C.
        "stem": "幽门螺杆菌根除治疗的标准疗程是",
        "options": {"A": "7天", "B": "10天", "C": "14天", "D": "28天"},
        "answer": "B",
        "specialty": "gastroenterology",
        "level": "attending",
        "explanation": "",
        "source": "roundtrip",
        "source_id": "rt-5",
    },
]


def _import(path) -> str:
    out = io.StringIO()
    call_command("import_questions", str(path), stdout=out)
    return out.getvalue()


def _question_tuples() -> list[tuple]:
    return sorted(
        (q.stem, q.options, q.answer_key, q.question_type, q.specialty.code, q.level.code)
        for q in Question.objects.select_related("specialty", "level")
    )


def _record_tuples(records) -> list[tuple]:
    return sorted(
        (r["stem"], r["options"], r["answer"], r["type"], r["specialty"], r["level"])
        for r in records
    )


def _empty_bank() -> None:
    # Querysets skip the model's guard against deleting a published version.
    DatasetItem.objects.all().delete()
    DatasetVersion.objects.all().delete()
    Review.objects.all().delete()
    Assignment.objects.all().delete()
    Adjudication.objects.all().delete()
    ModelResponse.objects.all().delete()
    Question.objects.all().delete()


@pytest.fixture
def version(tmp_path, make_user):
    source = tmp_path / "bank.jsonl"
    source.write_text(
        "\n".join(json.dumps(row, ensure_ascii=False) for row in BANK), encoding="utf-8"
    )
    _import(source)
    assert Question.objects.count() == len(BANK)

    reviewers = make_reviewers(3)
    run = make_run("model-a")
    for question in Question.objects.all():
        response = make_response(run, question, question.answer_key)
        for reviewer in reviewers:
            make_review(response, reviewer, "correct")
    Adjudication.objects.create(
        question=Question.objects.get(source_id="rt-5"),
        adjudicator=make_user("adjudicator"),
        decision=Adjudication.Decision.KEY_CORRECTED,
        corrected_key="C",
        reason="指南推荐14天",
    )
    rule_set = ValidityRuleSet.objects.create(name="roundtrip", min_reviews=3)
    return dataset_version_create(name="roundtrip", rule_set_id=rule_set.id, bootstrap_samples=0)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_imports_back_same_questions(fmt, version, tmp_path):
    expected = _record_tuples(version_records(version))
    assert len(expected) == len(BANK)
    assert ("C" in {answer for _, _, answer, *_ in expected}) is True
    path = tmp_path / f"export.{fmt}"
    export_write(fmt, str(path), version)

    _empty_bank()
    assert not Question.objects.exists()
    _import(path)

    assert _question_tuples() == expected


def test_export_carries_adjudicated_key(version, tmp_path):
    path = tmp_path / "export.csv"
    export_write("csv", str(path), version)
    _empty_bank()
    _import(path)
    question = Question.objects.get(stem="幽门螺杆菌根除治疗的标准疗程是")
    assert question.answer_key == "C"


def test_csv_export_keeps_formula_escape_reversible(version, tmp_path):
    path = tmp_path / "export.csv"
    export_write("csv", str(path), version)
    text = path.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "''=高脂血症" in text
    _empty_bank()
    _import(path)
    question = Question.objects.get(source_id="rt-4")
    assert question.stem.startswith("=HYPERLINK")
    assert question.options["C"] == "'=高脂血症"


def test_reimport_of_same_export_adds_nothing(version, tmp_path):
    path = tmp_path / "export.jsonl"
    export_write("jsonl", str(path), version)
    before = Question.objects.count()
    _import(path)
    assert Question.objects.count() == before


@pytest.mark.parametrize(
    "text", ["=1+1", "-5", "'=x", "''@y", "'plain", "plain", "+", "\t=tab", "@", "''"]
)
def test_formula_escape_reverses(text):
    assert unescape_formula(excel_safe(text)) == text


def test_parquet_reader_rejects_other_file(tmp_path):
    path = tmp_path / "bank.parquet"
    path.write_text("stem,answer\n题,A\n", encoding="utf-8")
    with translation.override("en"):
        rows = list(read_rows(path, "parquet", ReaderOptions()))
    assert len(rows) == 1
    assert rows[0].field == "file"
    assert "not a readable Parquet file" in rows[0].reason

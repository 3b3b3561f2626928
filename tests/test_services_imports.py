"""Import service on real PostgreSQL: every layout, atomicity, re-import, duplicates."""

import json

import pytest
from django.utils import translation
from openpyxl import Workbook

from medexam.importers import ReaderOptions
from medexam.importers.validate import Defaults
from medexam.models import ImportJob, Question
from medexam.services.imports import import_job_create, import_job_execute
from tests.shared_data import SHARED_DATA

DATA = SHARED_DATA
XMEDBENCH_CMB = DATA / "xmedbench-zh" / "test" / "cmb-single.jsonl"
CMB_LABELS = DATA / "cmb" / "CMB-test-choice-answer.json"

pytestmark = pytest.mark.django_db


def run_import(path, *, file_format="", dry_run=False, **reader):
    defaults = reader.pop("defaults", Defaults())
    job = import_job_create(
        path=path,
        file_format=file_format,
        dry_run=dry_run,
        reader_options=ReaderOptions(**reader),
        defaults=defaults,
    )
    return import_job_execute(job_id=job.pk)


def write_jsonl(path, records):
    path.write_text(
        "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records),
        encoding="utf-8",
    )
    return path


def own(stem, answer="A", **extra):
    record = {"stem": stem, "options": {"A": "甲", "B": "乙", "C": "丙"}, "answer": answer}
    record.update(extra)
    return record


@pytest.mark.skipif(not XMEDBENCH_CMB.exists(), reason="shared data folder ../shared/data absent")
def test_xmedbench_cmb_single_counts():
    report = run_import(XMEDBENCH_CMB)
    assert report.rows_total == 2000
    assert len(report.duplicates) == 3
    assert report.created == 1997
    assert Question.objects.count() == 1997


@pytest.mark.skipif(not XMEDBENCH_CMB.exists(), reason="shared data folder ../shared/data absent")
def test_xmedbench_reimport_changes_nothing():
    run_import(XMEDBENCH_CMB)
    again = run_import(XMEDBENCH_CMB)
    assert again.created == 0
    assert again.unchanged == 1997
    assert Question.objects.count() == 1997


@pytest.mark.skipif(not XMEDBENCH_CMB.exists(), reason="shared data folder ../shared/data absent")
def test_xmedbench_near_duplicates_listed():
    report = run_import(XMEDBENCH_CMB, dry_run=True)
    in_file = {
        tuple(group["lines"]): group["similarity"]
        for group in report.near_duplicates
        if group["kind"] == "in_file"
    }
    # Same stem with other options.
    assert 1.0 in in_file.values()
    # 病人 edited to 患者 in a long stem.
    assert in_file[(243, 669)] >= 0.9
    # 叙述中错误 edited to 叙述错误 in a short one.
    assert 0.7 <= in_file[(712, 729)] < 1.0
    assert Question.objects.count() == 0


def test_xmedbench_multiple_answer(tmp_path):
    path = write_jsonl(
        tmp_path / "x.jsonl",
        [
            {
                "question": "属于β受体阻滞剂的是",
                "option": "(A) 美托洛尔.\n(B) 比索洛尔.\n(C) 硝苯地平.",
                "anwer": "(AB)",
                "source": "demo",
            }
        ],
    )
    run_import(path)
    question = Question.objects.get()
    assert question.question_type == "multiple"
    assert question.answer_key == "AB"
    assert question.options["A"] == "美托洛尔"
    assert question.source_id == "x.jsonl:1"


def test_one_bad_row_stores_nothing(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [own("第一题"), own("第二题", answer="F")])
    report = run_import(path, file_format="jsonl")
    assert [error.line for error in report.rejected] == [2]
    assert Question.objects.count() == 0
    assert ImportJob.objects.get().status == ImportJob.Status.FAILED


def test_conflicting_repeat_rejected(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [own("同一题"), own("同一题", answer="B")])
    with translation.override("en"):
        report = run_import(path, file_format="jsonl")
    assert "repeats line 1" in report.rejected[0].reason


def test_own_jsonl_fields_stored(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [
            own(
                "房颤抗凝",
                specialty="cardiovascular",
                level="senior",
                explanation="见指南",
                source="book",
                source_id="17",
                extra_key="ignored",
            )
        ],
    )
    run_import(path, file_format="jsonl")
    question = Question.objects.get()
    assert question.specialty.code == "cardiovascular"
    assert question.level.code == "senior"
    assert question.source_id == "17"


def test_csv_gb18030_chinese_headers(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_bytes(
        "题干,选项A,选项B,选项C,选项D,答案,专科,级别\n"
        "高血压首选,利尿剂,钙拮抗剂,β阻滞剂,ACEI,B,cardiovascular,attending\n".encode("gb18030")
    )
    run_import(path)
    question = Question.objects.get()
    assert question.options["B"] == "钙拮抗剂"
    assert question.level.code == "attending"


def test_csv_headerless_with_index_column(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text(
        "0,皮疹的原因,药物,感染,过敏,C\n1,湿疹治疗,激素,抗生素,手术,A\n", encoding="utf-8"
    )
    report = run_import(path, columns=["-", "stem", "A", "B", "C", "answer"])
    assert report.created == 2


def test_csv_without_header_or_columns_rejected(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text("皮疹的原因,药物,感染,过敏,C\n", encoding="utf-8")
    report = run_import(path)
    assert report.rejected[0].field == "header"


def test_csv_undecodable_rejected(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_bytes(b"stem,A,B,answer\n" + b"\xa1\xff,x,y,A\n")
    report = run_import(path, encoding="utf-8")
    assert report.rejected[0].field == "encoding"
    assert report.rejected[0].line == 2


def test_excel_english_headers(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["question", "option_a", "option_b", "answer", "type"])
    sheet.append(["甲状腺危象首选", "丙硫氧嘧啶", "甲巯咪唑", "A", "single"])
    path = tmp_path / "bank.xlsx"
    workbook.save(path)
    run_import(path)
    assert Question.objects.get().answer_key == "A"


@pytest.mark.skipif(not CMB_LABELS.exists(), reason="shared data folder ../shared/data absent")
def test_cmb_join_sets_level_and_specialty(tmp_path):
    questions = tmp_path / "questions.json"
    questions.write_text(
        json.dumps(
            [
                {"id": 1608, "question": "自编题：心衰患者首选", "option": {"A": "甲", "B": "乙"}},
                {
                    "id": 1650,
                    "question": "自编题：糖尿病可用",
                    "option": {"A": "甲", "B": "乙", "C": "丙", "D": "丁", "E": "戊"},
                },
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    run_import(CMB_LABELS, file_format="cmb", questions_path=str(questions))
    cardio = Question.objects.get(source_id="1608")
    endo = Question.objects.get(source_id="1650")
    assert cardio.level.code == "senior"
    assert cardio.specialty.code == "cardiovascular"
    assert endo.specialty.code == "endocrinology"
    assert endo.question_type == "multiple"


def test_cmb_answer_sentence_rejected(tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            [
                {
                    "id": 5,
                    "exam_class": "中级职称",
                    "exam_subject": "皮肤科",
                    "question_type": "单项选择题",
                    "answer": "应先询问病史",
                }
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    questions = tmp_path / "questions.jsonl"
    write_jsonl(questions, [{"id": 5, "question": "皮疹", "option": {"A": "甲", "B": "乙"}}])
    report = run_import(labels, file_format="cmb", questions_path=str(questions))
    assert report.rejected[0].field == "answer"


def test_csv_forced_utf8_names_row_column_and_fix(tmp_path):
    path = tmp_path / "bank.csv"
    rows = "stem,option_a,option_b,answer\nHbA1c target,小于7%,小于8%,A\n"
    path.write_bytes(rows.encode("gb18030"))
    with translation.override("en"):
        report = run_import(path, encoding="utf-8")
    [error] = report.rejected
    assert error.line == 2
    assert error.field == "encoding"
    assert "line 2" in error.reason
    assert "column 2, option_a" in error.reason
    assert "--encoding gb18030" in error.reason
    assert Question.objects.count() == 0


def test_jsonl_forced_utf8_names_key(tmp_path):
    path = tmp_path / "bank.jsonl"
    record = {"stem": "心衰首选", "options": {"A": "利尿剂", "B": "强心"}, "answer": "A"}
    path.write_bytes((json.dumps(record, ensure_ascii=False) + "\n").encode("gb18030"))
    with translation.override("en"):
        report = run_import(path, file_format="jsonl", encoding="utf-8")
    [error] = report.rejected
    assert "in the value of 'stem'" in error.reason
    assert "--encoding gb18030" in error.reason

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from medexam.models import ImportJob, Question

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_output():
    # The output is Chinese once catalogues are compiled; these checks read the English.
    with translation.override("en"):
        yield


def write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    return path


def test_dry_run_stores_nothing(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl", [{"stem": "题一", "options": {"A": "x", "B": "y"}, "answer": "A"}]
    )
    out = StringIO()
    call_command(
        "import_questions",
        str(path),
        "--dry-run",
        "--format",
        "jsonl",
        stdout=out,
        stderr=StringIO(),
    )
    assert "would create 1" in out.getvalue()
    assert Question.objects.count() == 0


def test_rejected_row_fails_command(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl", [{"stem": "", "options": {"A": "x", "B": "y"}, "answer": "A"}]
    )
    out = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_questions", str(path), "--format", "jsonl", stdout=out, stderr=StringIO()
        )
    assert "line 1, stem" in out.getvalue()


def test_missing_file_named(tmp_path):
    with pytest.raises(CommandError, match="nowhere.csv"):
        call_command("import_questions", str(tmp_path / "nowhere.csv"))


def test_specialty_option_applies(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text("stem,A,B,answer\n题一,x,y,B\n", encoding="utf-8-sig")
    call_command(
        "import_questions",
        str(path),
        "--specialty",
        "oncology",
        "--source",
        "demo",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    question = Question.objects.get()
    assert question.specialty.code == "oncology"
    assert question.source == "demo"
    assert ImportJob.objects.get().created_count == 1


def test_output_chinese_by_default(tmp_path):
    stem = "患者男，62岁，突发胸骨后压榨样疼痛2小时，伴大汗，心电图示ST段抬高，最可能的诊断是"
    records = [
        {"stem": stem, "options": {"A": "x", "B": "y"}, "answer": "A"},
        {"stem": stem.replace("压榨样", "压榨性"), "options": {"A": "x", "B": "y"}, "answer": "A"},
        {"stem": "第三题", "options": {"A": "x", "B": "y"}, "answer": "Z"},
    ]
    path = write_jsonl(tmp_path / "q.jsonl", records)
    out, err = StringIO(), StringIO()
    with translation.override("zh-hans"), pytest.raises(CommandError) as info:
        call_command("import_questions", str(path), "--format", "jsonl", stdout=out, stderr=err)
    text = out.getvalue()
    assert "拒绝：第 3 行，标准答案：" in text
    assert "近似重复（文件内）：行 1, 2，相似度" in text
    assert "已存题目" not in text
    assert "将新建" not in text
    assert "已新建 0" in text
    assert "未存储任何题目" in str(info.value)


def test_dry_run_summary_chinese(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl", [{"stem": "题一", "options": {"A": "x", "B": "y"}, "answer": "A"}]
    )
    out = StringIO()
    with translation.override("zh-hans"):
        call_command("import_questions", str(path), "--dry-run", stdout=out, stderr=StringIO())
    assert "将新建 1" in out.getvalue()


def test_rejected_reason_chinese(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [{"stem": "题一", "options": {"A": "x", "B": "y"}, "answer": "A", "specialty": "骨科X"}],
    )
    out = StringIO()
    with translation.override("zh-hans"), pytest.raises(CommandError):
        call_command("import_questions", str(path), stdout=out, stderr=StringIO())
    assert "拒绝：第 1 行，专科：未知专科“骨科X”；有效代码：" in out.getvalue()
    assert "unknown" not in out.getvalue()


def test_file_level_rejection_has_no_line(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text("题一,x,y,A\n", encoding="utf-8")
    out = StringIO()
    with translation.override("zh-hans"), pytest.raises(CommandError):
        call_command(
            "import_questions",
            str(path),
            "--columns",
            "stem,A,B,key",
            stdout=out,
            stderr=StringIO(),
        )
    assert "拒绝：列：--columns 中有未知列“key”" in out.getvalue()
    assert "第 0 行" not in out.getvalue()


def test_language_option_sets_reasons(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl", [{"stem": "", "options": {"A": "x", "B": "y"}, "answer": "A"}]
    )
    out = StringIO()
    with translation.override("zh-hans"), pytest.raises(CommandError) as info:
        call_command(
            "import_questions", str(path), "--language", "en", stdout=out, stderr=StringIO()
        )
    assert str(info.value) == "1 row rejected; nothing was stored. Fix it and run again."
    assert "rejected: line 1, stem: the stem is empty" in out.getvalue()
    assert ImportJob.objects.get().errors[0]["reason"].startswith("the stem is empty")


def test_near_duplicate_names_stored_question(tmp_path):
    stem = "患者男，62岁，突发胸骨后压榨样疼痛2小时，伴大汗，心电图示ST段抬高，最可能的诊断是"
    first = write_jsonl(
        tmp_path / "first.jsonl", [{"stem": stem, "options": {"A": "x", "B": "y"}, "answer": "A"}]
    )
    call_command("import_questions", str(first), stdout=StringIO(), stderr=StringIO())
    stored = Question.objects.get()
    variant = stem.replace("压榨样", "压榨性")
    second = write_jsonl(
        tmp_path / "second.jsonl",
        [{"stem": variant, "options": {"A": "x", "B": "y"}, "answer": "A"}],
    )

    out = StringIO()
    call_command("import_questions", str(second), stdout=out, stderr=StringIO())

    assert f"lines 1, stored questions {stored.pk}, similarity" in out.getvalue()

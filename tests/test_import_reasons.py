"""Rejected-row reasons of every importer: Simplified Chinese by default, English under en.

Each case imports a real file through the import service on PostgreSQL and
reads the reason stored on the ImportJob row, as the admin and the command
show it. The default language is the one a Celery worker has: no language
activated, so settings.LANGUAGE_CODE (zh-hans).
"""

import json
from dataclasses import dataclass, field

import pytest
from django.utils import translation

from medexam.importers import ReaderOptions
from medexam.models import ImportJob, Question
from medexam.services.imports import import_job_create, import_job_execute

pytestmark = pytest.mark.django_db

GOOD = {"stem": "慢性心力衰竭首选", "options": {"A": "利尿剂", "B": "手术"}, "answer": "A"}
# The comma between the two options is missing; json reports the character where "B" starts.
BAD_JSON_LINE = '{"stem": "心衰", "options": {"A": "利尿剂" "B": "手术"}, "answer": "A"}'
BAD_JSON_COLUMN = BAD_JSON_LINE.index('"B"') + 1
GB18030_CSV = "stem,option_a,option_b,answer\nHbA1c target,小于7%,小于8%,A\n".encode("gb18030")


def jsonl(*records):
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode()


@dataclass
class Case:
    name: str
    content: bytes
    suffix: str
    line: int
    field: str
    chinese: list[str]
    english: list[str]
    reader: dict = field(default_factory=dict)


CASES = [
    Case(
        "unknown specialty",
        jsonl(GOOD, dict(GOOD, stem="房颤抗凝", specialty="cardio-x")),
        ".jsonl",
        2,
        "specialty",
        ["未知专科“cardio-x”；有效代码：", "cardiovascular", "也可填写专科的中文名或英文名"],
        ["unknown specialty 'cardio-x'; valid codes: ", "cardiovascular", "English name"],
    ),
    Case(
        "unknown level",
        "题干,选项A,选项B,答案,级别\n高血压首选,利尿剂,手术,A,主任医师甲\n".encode(),
        ".csv",
        2,
        "level",
        ["未知职称级别“主任医师甲”；有效代码：", "attending"],
        ["unknown level '主任医师甲'; valid codes: ", "attending"],
    ),
    Case(
        "answer not letters",
        jsonl(dict(GOOD, answer="选利尿剂")),
        ".jsonl",
        1,
        "answer",
        ["答案“选利尿剂”不是选项字母", "例如 A 或 ACD"],
        ["answer '选利尿剂' is not option letters", "such as A or ACD"],
    ),
    Case(
        "answer not offered",
        jsonl(dict(GOOD, answer="E")),
        ".jsonl",
        1,
        "answer",
        ["答案 E 含有题目没有的选项 E（现有选项 AB）"],
        ["answer E names option(s) E that the question does not offer (AB)"],
    ),
    Case(
        "too few options",
        jsonl(dict(GOOD, options={"A": "利尿剂", "B": " "})),
        ".jsonl",
        1,
        "options",
        ["只有 1 个非空选项；至少需要 2 个"],
        ["1 non-empty option; at least 2 are needed"],
    ),
    Case(
        "empty stem",
        jsonl(GOOD, dict(GOOD, stem="  ")),
        ".jsonl",
        2,
        "stem",
        ["题干为空；请填写题目文本"],
        ["the stem is empty; write the text of the question"],
    ),
    Case(
        "bad json",
        jsonl(GOOD) + BAD_JSON_LINE.encode() + b"\n",
        ".jsonl",
        2,
        "json",
        [f'不是有效的 JSON：此处应为 ","（第 {BAD_JSON_COLUMN} 个字符）'],
        [f'not valid JSON: a "," is expected at character {BAD_JSON_COLUMN}'],
    ),
    Case(
        "undecodable bytes with suggestion",
        GB18030_CSV,
        ".csv",
        2,
        "encoding",
        [
            "字节 0x",
            "（第 2 行第",
            "个字节，第 2 列“option_a”）无法按 UTF-8 解码",
            "--encoding gb18030",
        ],
        [
            "Byte 0x",
            "at line 2, byte",
            "(column 2, option_a) cannot be decoded as UTF-8",
            "--encoding gb18030",
        ],
        {"encoding": "utf-8"},
    ),
    Case(
        "undecodable bytes without suggestion",
        "题干,A,B,答案\n".encode() + b"\xff\xff,x,y,A\n",
        ".csv",
        2,
        "encoding",
        ["字节 0xFF（第 2 行第 1 个字节", "无法按 UTF-8 或 GB18030 解码", "例如 Big5"],
        [
            "Byte 0xFF at line 2, byte 1",
            "cannot be decoded as UTF-8 or GB18030",
            "for example Big5",
        ],
    ),
    Case(
        "wrong column count",
        "题干,A,B,答案\n心衰首选,利尿剂,手术,A,多余,又一个\n".encode(),
        ".csv",
        2,
        "columns",
        ["该行有 6 个单元格，但表头行只命名了 4 列"],
        ["the row has 6 cells but the header row names 4 columns"],
    ),
    Case(
        "missing options",
        jsonl(GOOD, {"stem": "心衰", "answer": "A"}),
        ".jsonl",
        2,
        "options",
        ['缺少键 "options"', '{"A": "...", "B": "..."}'],
        ['the key "options" is missing', '{"A": "...", "B": "..."}'],
    ),
    Case(
        "missing xmedbench option",
        jsonl({"question": "心衰首选", "option": "(A) 利尿剂.\n(B) 手术.", "anwer": "(A)"})
        + jsonl({"question": "心衰次选", "anwer": "(B)"}),
        ".jsonl",
        2,
        "option",
        ['缺少键 "option"'],
        ['the key "option" is missing'],
    ),
]


@pytest.fixture
def no_active_language():
    # A worker process activates no language; restore whatever a test before left active.
    previous = translation.get_language()
    translation.deactivate()
    yield
    if previous:
        translation.activate(previous)


def run_import(tmp_path, case):
    path = tmp_path / f"bank{case.suffix}"
    path.write_bytes(case.content)
    job = import_job_create(path=path, reader_options=ReaderOptions(**case.reader))
    import_job_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


def the_error(job, case):
    assert job.status == ImportJob.Status.FAILED
    assert Question.objects.count() == 0
    [error] = job.errors
    assert error["line"] == case.line
    assert error["field"] == case.field
    return error["reason"]


@pytest.mark.usefixtures("no_active_language")
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_reason_chinese_by_default(tmp_path, case):
    reason = the_error(run_import(tmp_path, case), case)
    for fragment in case.chinese:
        assert fragment in reason
    assert case.english[0] not in reason


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_reason_english_under_en(tmp_path, case):
    with translation.override("en"):
        reason = the_error(run_import(tmp_path, case), case)
    for fragment in case.english:
        assert fragment in reason


@pytest.mark.usefixtures("no_active_language")
def test_job_message_chinese_by_default(tmp_path):
    job = run_import(tmp_path, CASES[0])
    assert job.error_message == "1 行被拒绝，未存储任何题目。请修正后重新导入。"


def test_job_message_english_under_en(tmp_path):
    with translation.override("en"):
        job = run_import(tmp_path, CASES[0])
    assert job.error_message == "1 row rejected; nothing stored. Fix it and run the import again."


@pytest.mark.usefixtures("no_active_language")
def test_conflicting_repeat_chinese(tmp_path):
    path = tmp_path / "bank.jsonl"
    path.write_bytes(jsonl(GOOD, dict(GOOD, answer="B")))
    job = import_job_create(path=path)
    report = import_job_execute(job_id=job.pk)
    [error] = report.rejected
    assert error.line == 2
    assert "与第 1 行重复（题干和选项相同），但答案为 B 而非 A" in error.reason


@pytest.mark.usefixtures("no_active_language")
def test_unknown_extension_chinese(tmp_path):
    path = tmp_path / "bank.doc"
    path.write_bytes(b"x")
    with pytest.raises(ValueError) as info:
        import_job_create(path=path)
    assert "无法根据扩展名判断“bank.doc”的格式" in str(info.value)
    assert "xmedbench, cmb, csv" in str(info.value)


def test_cmb_clinical_cases_named_as_such(tmp_path):
    path = tmp_path / "CMB-test-qa.json"
    cases = [{"id": "0", "title": "案例分析-腹外疝", "description": "病史……", "QA_pairs": []}]
    path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    job = import_job_create(path=path, file_format="cmb")
    import_job_execute(job_id=job.pk)
    job.refresh_from_db()

    assert job.status == ImportJob.Status.FAILED
    [error] = job.errors
    assert "CMB-Clin" in error["reason"]
    assert "CMB-test-choice-answer.json" in error["reason"]
    assert "标签文件不含题目文本" not in error["reason"]

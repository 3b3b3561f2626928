"""Specialty suggestions on real exam stems, with the seeded keyword rules."""

from __future__ import annotations

import json

import pytest

from medexam.classification import load_rules, questions_suggest_specialty, suggest_specialty
from medexam.models import Question, Specialty
from medexam.models.questions import compute_content_hash
from tests.shared_data import SHARED_DATA

DATA = SHARED_DATA / "xmedbench-zh" / "test"

# A phrase that locates a real stem, and the specialty a physician gives that stem.
HAND_LABELLED = [
    ("心房颤动转复成功后", "cardiovascular"),
    ("一度房室传导阻滞的心电图", "cardiovascular"),
    ("Graves病甲状腺功能亢进时", "endocrinology"),
    ("对肝硬化有确诊价值", "gastroenterology"),
    ("肾病综合征病理类型", "nephrology"),
]


def read_stems() -> list[dict]:
    path = DATA / "cmexam.jsonl"
    if not path.exists():
        pytest.skip(f"real stems not found at {path}; place the shared data beside the checkout")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def make_question(stem: str, *, specialty: Specialty | None = None) -> Question:
    options = {"A": "甲", "B": "乙", "C": "丙", "D": "丁"}
    return Question.objects.create(
        stem=stem,
        options=options,
        answer_key="A",
        specialty=specialty,
        content_hash=compute_content_hash(stem, options),
    )


def find_stem(rows: list[dict], phrase: str) -> str:
    return next(row["question"] for row in rows if phrase in row["question"])


@pytest.mark.django_db
@pytest.mark.parametrize(("phrase", "expected"), HAND_LABELLED)
def test_suggest_real_stem(phrase, expected):
    rules = load_rules()
    suggestion = suggest_specialty(find_stem(read_stems(), phrase), rules)
    assert suggestion == Specialty.objects.get(code=expected).pk


@pytest.mark.django_db
def test_suggest_unrelated_stem():
    rows = read_stems()
    stem = find_stem(rows, "药品经营许可证管理办法")
    assert suggest_specialty(stem, load_rules()) is None


@pytest.mark.django_db
def test_suggest_tie_gives_none():
    rules = load_rules()
    assert suggest_specialty("皮疹伴血尿", rules) is None


@pytest.mark.django_db
def test_service_fills_suggestions_only():
    rows = read_stems()[:300]
    for row in rows:
        make_question(row["question"])
    changed = questions_suggest_specialty()
    assert changed > 0
    assert Question.objects.filter(specialty__isnull=False).count() == 0
    assert Question.objects.filter(suggested_specialty__isnull=False).count() == changed


@pytest.mark.django_db
def test_service_skips_confirmed_question():
    cardiology = Specialty.objects.get(code="cardiovascular")
    confirmed = make_question("对肝硬化有确诊价值的是", specialty=cardiology)
    questions_suggest_specialty()
    confirmed.refresh_from_db()
    assert confirmed.suggested_specialty_id is None
    assert confirmed.specialty_id == cardiology.pk


@pytest.mark.django_db
def test_service_rerun_changes_nothing():
    make_question("对肝硬化有确诊价值的是")
    questions_suggest_specialty()
    assert questions_suggest_specialty() == 0


@pytest.mark.django_db
def test_keywords_are_data():
    dermatology = Specialty.objects.get(code="dermatology")
    dermatology.keywords = ["肝硬化"]
    dermatology.save()
    gastro = Specialty.objects.get(code="gastroenterology")
    gastro.keywords = []
    gastro.save()
    assert suggest_specialty("对肝硬化有确诊价值的是", load_rules()) == dermatology.pk

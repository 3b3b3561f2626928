import pytest
from django.utils import translation

from medexam.importers.rows import RawRow
from medexam.importers.validate import Catalogue, Defaults, ValidRow, normalise_answer, validate_row

CATALOGUE = Catalogue(
    specialty_ids={"cardiovascular": 1, "dermatology": 2},
    level_ids={"attending": 10, "senior": 11},
    specialty_aliases={
        "cardiovascular": "cardiovascular",
        "心血管内科": "cardiovascular",
        "dermatology": "dermatology",
    },
    level_aliases={"attending": "attending", "senior": "senior"},
    keywords={"cardiovascular": ["心力衰竭", "房颤"], "dermatology": ["皮疹"]},
)
OPTIONS = {"A": "利尿剂", "B": "地高辛", "C": "硝酸甘油", "D": "阿司匹林"}


@pytest.fixture(autouse=True)
def _english_reasons():
    # The checks below read the English reasons; Chinese ones are in test_import_reasons.py.
    with translation.override("en"):
        yield


def row(**changes):
    values = {"line": 7, "stem": "慢性心力衰竭首选", "options": dict(OPTIONS), "answer": "A"}
    values.update(changes)
    return RawRow(**values)


def reasons(result):
    assert isinstance(result, list), result
    return {error.field: error.reason for error in result}


def test_valid_row_passes():
    result = validate_row(row(), catalogue=CATALOGUE, defaults=Defaults())
    assert isinstance(result, ValidRow)
    assert result.answer_key == "A"
    assert result.question_type == "single"


def test_suggests_specialty_from_keywords():
    result = validate_row(row(), catalogue=CATALOGUE, defaults=Defaults())
    assert result.specialty_id is None
    assert result.suggested_specialty_id == 1


def test_empty_stem_rejected():
    assert "stem" in reasons(validate_row(row(stem="  "), catalogue=CATALOGUE, defaults=Defaults()))


def test_one_option_rejected():
    result = validate_row(
        row(options={"A": "x", "B": ""}), catalogue=CATALOGUE, defaults=Defaults()
    )
    assert "at least 2" in reasons(result)["options"]


def test_option_gap_rejected():
    result = validate_row(
        row(options={"A": "x", "B": "y", "D": "z"}), catalogue=CATALOGUE, defaults=Defaults()
    )
    assert "gap" in reasons(result)["options"]


def test_answer_not_letters_rejected():
    result = validate_row(row(answer="利尿剂最好"), catalogue=CATALOGUE, defaults=Defaults())
    assert "not option letters" in reasons(result)["answer"]


def test_answer_not_among_options_rejected():
    result = validate_row(row(answer="E"), catalogue=CATALOGUE, defaults=Defaults())
    assert "does not offer" in reasons(result)["answer"]


def test_single_with_several_letters_rejected():
    result = validate_row(
        row(answer="AB", question_type="单选题"), catalogue=CATALOGUE, defaults=Defaults()
    )
    assert "2 answer letters" in reasons(result)["answer"]


def test_several_letters_make_multiple():
    result = validate_row(row(answer="(BA)"), catalogue=CATALOGUE, defaults=Defaults())
    assert result.question_type == "multiple"
    assert result.answer_key == "AB"


def test_unknown_specialty_lists_codes():
    result = validate_row(row(specialty="骨科"), catalogue=CATALOGUE, defaults=Defaults())
    assert "cardiovascular, dermatology" in reasons(result)["specialty"]


def test_unknown_level_lists_codes():
    result = validate_row(row(level="chief"), catalogue=CATALOGUE, defaults=Defaults())
    assert "attending, senior" in reasons(result)["level"]


def test_specialty_by_chinese_name():
    result = validate_row(row(specialty="心血管内科"), catalogue=CATALOGUE, defaults=Defaults())
    assert result.specialty_id == 1


def test_default_level_applies():
    result = validate_row(row(), catalogue=CATALOGUE, defaults=Defaults(level="senior"))
    assert result.level_id == 11


def test_control_character_names_option():
    options = dict(OPTIONS, C="硝酸\x0b甘油")
    result = validate_row(row(options=options), catalogue=CATALOGUE, defaults=Defaults())
    assert "U+000B" in reasons(result)["option C"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("A", "A"), ("ａ", "A"), ("(ABCDE)", "ABCDE"), ("C、A", "AC"), ("答案A", None), ("", None)],
)
def test_normalise_answer(raw, expected):
    assert normalise_answer(raw) == expected

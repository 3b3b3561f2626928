"""Answer extraction as a table of replies: what a model wrote, what must be read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medexam.extraction import (
    AMBIGUOUS,
    EXTRACTION_VERSION,
    INVALID,
    NO_ANSWER,
    OK,
    TRUNCATED,
    extract_answer,
)

OPTIONS = {
    "A": "高血压",
    "B": "心房颤动",
    "C": "室性早搏",
    "D": "心包炎",
    "E": "急性心肌梗死",
}

S, M = "single", "multiple"

# (reply, question type, expected letters, expected status)
CASES = [
    # Explicit answer cues in Chinese.
    ("答案：B", S, "B", OK),
    ("答案:B", S, "B", OK),
    ("答案是B。", S, "B", OK),
    ("答案为 C", S, "C", OK),
    ("正确答案是Ａ", S, "A", OK),
    ("正确答案：（Ｄ）", S, "D", OK),
    ("综合分析，故选C。", S, "C", OK),
    ("故选 E", S, "E", OK),
    ("应选B项。", S, "B", OK),
    ("因此选D", S, "D", OK),
    ("我选B", S, "B", OK),
    ("答：A", S, "A", OK),
    ("最终答案：【C】", S, "C", OK),
    ("参考答案：B", S, "B", OK),
    ("正确选项为D", S, "D", OK),
    ("本题答案为 A、C、D", M, "ACD", OK),
    ("答案：ACD", M, "ACD", OK),
    ("答案：A,C,D", M, "ACD", OK),
    ("答案：A C D", M, "ACD", OK),
    ("答案：D、A", M, "AD", OK),
    ("答案：B", M, "B", OK),
    ("**答案：B**", S, "B", OK),
    ("答案：**B**", S, "B", OK),
    # English cues.
    ("The answer is (B).", S, "B", OK),
    ("Answer: C", S, "C", OK),
    ("Final answer: D", S, "D", OK),
    ("The correct answer is A and C.", M, "AC", OK),
    ("$\\boxed{E}$", S, "E", OK),
    ("Answer: Let's think step by step… 答案：B", S, "B", OK),
    ("Answer: I think it is atrial fibrillation.", S, "", NO_ANSWER),
    # The last explicit cue wins over earlier ones.
    ("初步答案：A。复核后，最终答案：C", S, "C", OK),
    ("答案：B\n\n解析：A项错误，C项错误，故选B。", S, "B", OK),
    ("A看似对，排除后应为D", S, "D", OK),
    # Reasoning is ignored.
    ("<think>A看似对，排除后应为D</think>答案：C", S, "C", OK),
    ("<think>答案：A</think>\n\n答案：E", S, "E", OK),
    ("首先考虑答案：A……</think>答案：B", S, "B", OK),
    ("<think>答案应为A，但还要再想想", S, "", NO_ANSWER),
    ("<THINK>故选D</THINK>故选B", S, "B", OK),
    # Statements that one option is right.
    ("只有选项C是对的", S, "C", OK),
    ("选项B正确，其余错误。", S, "B", OK),
    ("B项正确", S, "B", OK),
    ("Option D is correct.", S, "D", OK),
    # Replies that are only letters.
    ("B", S, "B", OK),
    ("B.", S, "B", OK),
    ("(A)", S, "A", OK),
    ("A.", S, "A", OK),
    ("**A**", S, "A", OK),
    ("选项C", S, "C", OK),
    ("ＡＣＤ", M, "ACD", OK),
    ("B. 心房颤动\n这是因为……", S, "B", OK),
    ("我认为最可能是 **D**，因为心包摩擦音。", S, "D", OK),
    # Answers given as option text.
    ("答案：心房颤动", S, "B", OK),
    ("答案：心房颤动，因为心律绝对不齐。", S, "B", OK),
    ("答案：高血压、心包炎", M, "AD", OK),
    ("答案：室性早搏。", S, "C", OK),
    ("答案：主动脉夹层", S, "", NO_ANSWER),
    # Letters inside words are not answers.
    ("CT检查显示左心室肥厚", S, "", NO_ANSWER),
    ("DNA", S, "", NO_ANSWER),
    ("答案是DNA复制错误", S, "", NO_ANSWER),
    ("答案：X线胸片", S, "", NO_ANSWER),
    ("答案是维生素B12缺乏", S, "", NO_ANSWER),
    ("答案：ACE抑制剂", S, "", NO_ANSWER),
    ("Let's think.", S, "", NO_ANSWER),
    # Option discussions are not answers.
    ("A看似对，但需要排除。", S, "", NO_ANSWER),
    ("选择A项错误，因为……", S, "", NO_ANSWER),
    ("选项A不正确，选项B也不正确。", S, "", NO_ANSWER),
    # Nothing readable: never guess.
    ("以上选项均不正确", S, "", NO_ANSWER),
    ("以上都不对。", S, "", NO_ANSWER),
    ("", S, "", NO_ANSWER),
    ("   \n  ", S, "", NO_ANSWER),
    ("****", S, "", NO_ANSWER),
    ("这道题目需要结合临床表现综合判断。", S, "", NO_ANSWER),
    # Single vs multiple, and offered letters.
    ("答案：A、C", S, "AC", AMBIGUOUS),
    ("答案是A或B", S, "AB", AMBIGUOUS),
    ("The answer is A or C.", M, "AC", AMBIGUOUS),
    ("只有选项B正确，选项C正确", S, "BC", AMBIGUOUS),
    ("答案：F", S, "F", INVALID),
    ("答案：A、G", M, "AG", INVALID),
]


@pytest.mark.parametrize(("reply", "question_type", "letters", "status"), CASES)
def test_extract_table(reply, question_type, letters, status):
    result = extract_answer(reply, question_type=question_type, letters="ABCDE", options=OPTIONS)
    assert result.status == status
    assert result.letters == letters


def test_extract_table_size():
    assert len(CASES) >= 60


def test_extract_truncated_by_length():
    result = extract_answer("答案：B", question_type=S, letters="ABCDE", finish_reason="length")
    assert result.status == TRUNCATED


def test_extract_records_version():
    result = extract_answer("答案：B", question_type=S, letters="ABCDE")
    assert result.version == EXTRACTION_VERSION


def test_extract_names_rule():
    result = extract_answer("综合分析，故选C。", question_type=S, letters="ABCDE")
    assert result.rule == "answer_cue"


def test_extract_text_without_options():
    result = extract_answer("答案：心房颤动", question_type=S, letters="ABCDE")
    assert result.status == NO_ANSWER


def test_extract_four_option_question():
    result = extract_answer("答案：E", question_type=S, letters="ABCD")
    assert result.status == INVALID


def test_extract_none_input():
    result = extract_answer(None, question_type=S, letters="ABCDE")  # type: ignore[arg-type]
    assert result.status == NO_ANSWER


REPLY_ALPHABET = st.sampled_from(
    list("ABCDEFGHXYZabc ,.:：、。()（）*<>/\n")
    + [
        "答案",
        "故选",
        "选项",
        "</think>",
        "<think>",
        "正确",
        "或",
        "和",
        "Answer",
        "is",
        "Ａ",
        "Ｃ",
        "心房颤动",
        "高血压",
        "不正确",
        "排除",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(REPLY_ALPHABET, max_size=30),
    question_type=st.sampled_from([S, M]),
    letters=st.sampled_from(["ABCD", "ABCDE"]),
    finish_reason=st.sampled_from(["", "stop", "length"]),
)
def test_extract_property_ok_letters_offered(parts, question_type, letters, finish_reason):
    options = {letter: OPTIONS[letter] for letter in letters}
    result = extract_answer(
        "".join(parts),
        question_type=question_type,
        letters=letters,
        finish_reason=finish_reason,
        options=options,
    )
    assert result.status in {OK, NO_ANSWER, AMBIGUOUS, INVALID, TRUNCATED}
    if result.status == OK:
        assert set(result.letters) <= set(letters)
        assert result.letters
    if result.status == OK and question_type == S:
        assert len(result.letters) == 1


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_extract_property_any_text(text):
    result = extract_answer(text, question_type=M, letters="ABCDE", options=OPTIONS)
    if result.status == OK:
        assert set(result.letters) <= set("ABCDE")


# Options that begin with a capital letter or hold punctuation, as real exam options do.
CAPITAL_OPTIONS = {
    "A": "T细胞",
    "B": "B细胞",
    "C": "A+B",
    "D": "t(9;22)",
    "E": "谷类、豆类；荤食品类",
}

CAPITAL_CASES = [
    ("答案：B细胞", "B"),
    ("答案：A+B", "C"),
    ("答案：t(9;22)", "D"),
    ("答案：谷类、豆类；荤食品类。", "E"),
    ("答案：B", "B"),
    ("答案：B. B细胞", "B"),
]


@pytest.mark.parametrize(("reply", "letters"), CAPITAL_CASES)
def test_extract_option_text_first(reply, letters):
    result = extract_answer(reply, question_type=S, letters="ABCDE", options=CAPITAL_OPTIONS)
    assert result.status == OK
    assert result.letters == letters


def test_extract_punctuation_kept_apart():
    options = {"A": "谷类、豆类；荤食品类", "B": "谷类、豆类、荤食品类；杂品"}
    result = extract_answer(
        "答案：谷类、豆类、荤食品类；杂品", question_type=S, letters="AB", options=options
    )
    assert result.letters == "B"


def test_extract_duplicate_options_refused():
    options = {"A": "心包炎", "B": "心肌炎", "C": "心包炎"}
    result = extract_answer("答案：心包炎", question_type=S, letters="ABC", options=options)
    assert result.status == NO_ANSWER

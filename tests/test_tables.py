"""Table rendering: LaTeX escaping and layout, and relabelling for people."""

from __future__ import annotations

import pandas as pd
import pytest
from django.utils import translation

from medexam.leaderboard import leaderboard_compute
from medexam.tables import (
    LATEX_LONG_ROWS,
    accuracy_frame,
    human_frame,
    latex_document,
    latex_escape,
    to_latex,
)
from tests.run_rows import make_demo_board


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a_b", r"a\_b"),
        ("R&D", r"R\&D"),
        ("50%", r"50\%"),
        ("#1", r"\#1"),
        ("$5", r"\$5"),
        ("{x}", r"\{x\}"),
        ("~", r"\textasciitilde{}"),
        ("^", r"\textasciicircum{}"),
        ("\\", r"\textbackslash{}"),
        ("心血管内科", "心血管内科"),
    ],
)
def test_latex_escape_table(text, expected):
    assert latex_escape(text) == expected


def test_short_table_scaled_to_fit():
    tex = to_latex(pd.DataFrame({"model": ["a_b"], "n": [3]}), caption="Cap 5%")
    assert r"\begin{table}" in tex
    assert r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%" in tex
    assert r"a\_b & 3 \\" in tex
    assert r"\caption{Cap 5\%}" in tex


def test_long_table_is_longtable():
    frame = pd.DataFrame({"model": [f"m{i}" for i in range(LATEX_LONG_ROWS + 1)]})
    tex = to_latex(frame, caption="long")
    assert r"\begin{longtable}{l}" in tex
    assert r"\endhead" in tex
    assert r"\begin{table}" not in tex


def test_latex_document_inputs_fragments():
    document = latex_document(["main", "accuracy"], title="排行榜 & more")
    assert document.startswith(r"\documentclass[a4paper]{ctexart}")
    assert r"\input{main}" in document
    assert r"\section*{排行榜 \& more}" in document
    assert document.rstrip().endswith(r"\end{document}")


@pytest.mark.django_db
def test_human_frame_translates_headers():
    make_demo_board(per_cell=1)
    board = leaderboard_compute()
    frame = accuracy_frame(board)
    with translation.override("zh-hans"):
        human = human_frame(frame, board, language="zh-hans")
    assert list(human.columns[:4]) == ["模型", "架构", "基线", "总参数量（十亿）"]
    assert "心血管内科（%）" in human.columns
    assert set(human["架构"]) == {"混合专家", "稠密", "基线"}
    # The frame itself keeps its machine keys for CSV.
    assert list(frame.columns[:2]) == ["model", "architecture"]


@pytest.mark.django_db
def test_human_frame_english():
    make_demo_board(per_cell=1)
    board = leaderboard_compute()
    with translation.override("en"):
        human = human_frame(accuracy_frame(board), board, language="en")
    assert "Cardiovascular medicine (%)" in human.columns
    assert "Accuracy (%)" in human.columns


def test_latex_rejects_frame_without_columns():
    with pytest.raises(ValueError, match="without columns"):
        to_latex(pd.DataFrame())

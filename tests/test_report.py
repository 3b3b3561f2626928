"""The report command: tables, figures and statistics written to a directory."""

from __future__ import annotations

import json
import shutil
import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.run_rows import make_demo_board


@pytest.fixture
def report_dir(db, tmp_path):
    make_demo_board(per_cell=2)
    call_command("report", "--output", str(tmp_path / "out"), "--language", "en", stdout=StringIO())
    return tmp_path / "out"


def test_report_writes_files(report_dir):
    for name in ["main", "accuracy", "failures", "specialty_level", "paired_mcnemar"]:
        for suffix in ["csv", "md", "tex"]:
            assert (report_dir / f"{name}.{suffix}").exists(), f"{name}.{suffix}"
    for name in ["heatmap", "parameters", "levels"]:
        assert (report_dir / f"figure_{name}.png").read_bytes().startswith(b"\x89PNG")
        assert b"<svg" in (report_dir / f"figure_{name}.svg").read_bytes()
        assert (report_dir / f"figure_{name}.csv").exists()


def test_report_contents(report_dir):
    header = (report_dir / "main.md").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("| Model | Architecture | Parameters (B)")
    assert "Cardiovascular medicine" in header
    assert header.rstrip(" |").endswith("Failure rate")

    pairs = (report_dir / "paired_mcnemar.csv").read_text(encoding="utf-8-sig").splitlines()
    # Four language models give six pairs; the baseline is left out.
    assert len(pairs) == 1 + 6

    tex = (report_dir / "specialty_level.tex").read_text(encoding="utf-8")
    assert r"95\% CI low" in tex

    summary = json.loads((report_dir / "statistics.json").read_text(encoding="utf-8"))
    assert summary["spearman_total_params"]["n_models"] == 4


def test_report_without_responses(db, tmp_path):
    with pytest.raises(CommandError):
        call_command("report", "--output", str(tmp_path), stdout=StringIO())


@pytest.fixture
def uneven_report(db, tmp_path):
    """A report on two models with different question sets and odd characters in names."""
    from medexam.models import Specialty
    from tests.run_rows import make_model, make_question, make_response, make_run

    Specialty.objects.create(code="ent_hn", name_zh="耳鼻喉_头颈 & 外科", name_en="ENT & H_N")
    questions = [make_question(number, answer_key="A") for number in range(1, 4)]
    questions.append(make_question(9, answer_key="A", specialty="ent_hn"))
    wide = make_run(make_model("Qwen_2.5 #1 & {x} 50%", total=7.0, active=7.0))
    for question in questions:
        make_response(wide, question, "A")
    narrow = make_run(make_model("narrow"))
    for question in [questions[0], questions[1], questions[3]]:
        make_response(narrow, question, "A")
    make_response(narrow, questions[2], "", state="failed", status="error", attempts=0)
    return tmp_path / "out"


def run_report(output, *arguments) -> str:
    stdout = StringIO()
    call_command("report", "--output", str(output), *arguments, stdout=stdout)
    return stdout.getvalue()


def test_report_states_common_items(uneven_report):
    printed = run_report(uneven_report, "--language", "en")
    summary = json.loads((uneven_report / "statistics.json").read_text(encoding="utf-8"))
    text = (uneven_report / "statistics.md").read_text(encoding="utf-8")

    assert summary["common_item_count"] == 3
    assert summary["answered_item_count"] == 4
    assert summary["excluded_responses"]["not_sent"] == 1
    assert "compared on the 3 questions" in printed
    assert "compared on the 3 questions" in text
    assert "1 never sent" in text
    assert "compared on the 3 questions" in (uneven_report / "main.tex").read_text()


def test_report_scope_all(uneven_report):
    run_report(uneven_report, "--language", "en", "--scope", "all")
    summary = json.loads((uneven_report / "statistics.json").read_text(encoding="utf-8"))
    accuracy = (uneven_report / "accuracy.csv").read_text(encoding="utf-8-sig").splitlines()

    assert summary["scope"] == "all"
    assert summary["item_count"] == 4
    assert any(line.startswith("Qwen_2.5 #1 & {x} 50%,") and ",4," in line for line in accuracy)


def test_report_names_models_without_params(uneven_report):
    printed = run_report(uneven_report, "--language", "en")
    text = (uneven_report / "statistics.md").read_text(encoding="utf-8")
    summary = json.loads((uneven_report / "statistics.json").read_text(encoding="utf-8"))

    assert summary["models_without_params"] == ["narrow"]
    for output in (printed, text):
        assert "No parameter count, left out of the size figure and correlation: narrow" in output
        assert "--total-params-b" in output


def test_report_escapes_latex(uneven_report):
    run_report(uneven_report, "--language", "en")
    main = (uneven_report / "main.tex").read_text(encoding="utf-8")
    accuracy = (uneven_report / "accuracy.tex").read_text(encoding="utf-8")

    assert r"Qwen\_2.5 \#1 \& \{x\} 50\%" in main
    assert r"ENT \& H\_N" in main
    assert "Qwen_2.5" not in main.replace(r"Qwen\_2.5", "")
    assert r"ENT \& H\_N (\%)" in accuracy


def test_report_latex_document(uneven_report):
    run_report(uneven_report, "--language", "zh-hans")
    document = (uneven_report / "report.tex").read_text(encoding="utf-8")

    assert r"\documentclass[a4paper]{ctexart}" in document
    assert r"\usepackage{booktabs,graphicx,longtable}" in document
    for name in ["main", "accuracy", "failures", "specialty_level", "paired_mcnemar"]:
        assert rf"\input{{{name}}}" in document
    assert r"耳鼻喉\_头颈 \& 外科" in (uneven_report / "main.tex").read_text(encoding="utf-8")


def test_report_chinese_has_no_english_headers(uneven_report):
    run_report(uneven_report, "--language", "zh-hans")
    english = ["Model", "Accuracy", "Questions", "CI", "Failure", "Specialty", "Level", "model"]
    for name in ["main", "accuracy", "failures", "specialty_level", "paired_mcnemar", "level_gap"]:
        header = (uneven_report / f"{name}.md").read_text(encoding="utf-8").splitlines()[0]
        for word in english:
            assert word not in header, f"{name}.md: {word}"
    text = (uneven_report / "statistics.md").read_text(encoding="utf-8")
    assert text.startswith("# 模型规模、架构与准确率")
    assert "在所有模型都回答了的 3 道题目上比较" in text
    caption = (uneven_report / "accuracy.tex").read_text(encoding="utf-8")
    assert r"\caption{各模型准确率（\%）" in caption


def test_report_csv_keeps_machine_keys(uneven_report):
    run_report(uneven_report, "--language", "zh-hans")
    header = (uneven_report / "accuracy.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("model,architecture,baseline,total_params_b")
    assert "specialty:cardiovascular" in header
    assert "full_set_accuracy" in header
    failures = (uneven_report / "failures.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "excluded_configuration" in failures


@pytest.mark.skipif(shutil.which("xelatex") is None, reason="xelatex is not installed")
def test_report_tex_compiles(uneven_report):
    run_report(uneven_report, "--language", "zh-hans")
    result = subprocess.run(
        ["xelatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
        cwd=uneven_report,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert (uneven_report / "report.pdf").stat().st_size > 0


def test_report_without_common_items(db, tmp_path):
    from tests.run_rows import make_model, make_question, make_response, make_run

    make_response(make_run(make_model("left")), make_question(1), "A")
    make_response(make_run(make_model("right")), make_question(2), "A")

    printed = run_report(tmp_path, "--language", "en")
    table = (tmp_path / "specialty_level.tex").read_text(encoding="utf-8")

    assert "No question was answered by every model" in printed
    assert "--scope all" in printed
    assert r"\begin{tabular}{llllllll}" in table


@pytest.mark.parametrize(
    ("language", "specialty", "level"),
    [("zh-hans", "未分专科", "未分级别"), ("en", "No specialty", "No level")],
)
def test_report_names_unassigned_groups(db, tmp_path, language, specialty, level):
    from tests.run_rows import make_model, make_question, make_response, make_run

    run = make_run(make_model("mock-qwen"))
    for number in range(1, 3):
        make_response(run, make_question(number, specialty=None, level=None), "A")

    run_report(tmp_path, "--language", language)

    accuracy = (tmp_path / "accuracy.md").read_text(encoding="utf-8").splitlines()[0]
    pairs = (tmp_path / "specialty_level.md").read_text(encoding="utf-8").splitlines()[2]
    percent = "（%）" if language == "zh-hans" else " (%)"
    assert f"| {specialty}{percent} |" in accuracy
    assert f"| {level}{percent} |" in accuracy
    assert pairs.startswith(f"| mock-qwen | {specialty} | {level} |")

"""The report command: tables, figures and statistics written to a directory."""

from __future__ import annotations

import csv
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


def test_report_validated_without_validated_questions(db, tmp_path):
    make_demo_board(per_cell=1)

    with pytest.raises(CommandError) as raised:
        run_report(tmp_path, "--validated")

    message = str(raised.value)
    assert message.startswith("尚无已确认有效的题目")
    assert "export_dataset" in message
    assert "/datasets/" in message
    assert "请先运行评测任务" not in message


@pytest.fixture
def equal_accuracy_report(db, tmp_path):
    """Three dense models of different sizes that all answer the same two questions right."""
    from tests.run_rows import make_model, make_question, make_response, make_run

    questions = [make_question(number) for number in (1, 2)]
    for name, size in (("small", 7.0), ("medium", 14.0), ("large", 72.0)):
        run = make_run(make_model(name, total=size))
        for question in questions:
            make_response(run, question, "A")
    return tmp_path / "out"


def test_report_names_equal_accuracies(equal_accuracy_report):
    run_report(equal_accuracy_report, "--language", "en")
    text = (equal_accuracy_report / "statistics.md").read_text(encoding="utf-8")
    summary = json.loads((equal_accuracy_report / "statistics.json").read_text(encoding="utf-8"))

    assert "all 3 models have the same accuracy" in text
    assert "differing values" not in text
    assert summary["spearman_total_params"]["undefined"] == "constant_y"


def test_report_names_equal_accuracies_in_chinese(equal_accuracy_report):
    run_report(equal_accuracy_report, "--language", "zh-hans")
    text = (equal_accuracy_report / "statistics.md").read_text(encoding="utf-8")

    assert "3 个模型的准确率全部相同" in text


def test_report_singular_model_count(uneven_report):
    run_report(uneven_report, "--language", "en")
    text = (uneven_report / "statistics.md").read_text(encoding="utf-8")

    assert "only 1 model has a parameter count" in text
    assert "1 models" not in text


def test_report_dense_active_params(db, tmp_path):
    from tests.run_rows import make_model, make_question, make_response, make_run

    questions = [make_question(number) for number in range(1, 5)]
    models = [
        make_model("dense-7b", total=7.0),
        make_model("dense-14b", total=14.0),
        make_model("dense-72b", total=72.0),
        make_model("moe-47b", architecture="moe", total=46.7, active=12.9),
    ]
    for right, model in enumerate(models, start=1):
        run = make_run(model)
        for number, question in enumerate(questions):
            make_response(run, question, "A" if number < right else "B")

    run_report(tmp_path, "--language", "en")
    summary = json.loads((tmp_path / "statistics.json").read_text(encoding="utf-8"))
    parameters = (tmp_path / "figure_parameters.csv").read_text(encoding="utf-8-sig")

    # Dense models have no active count stored: they count with all their parameters.
    assert summary["spearman_active_params"]["n_models"] == 4
    assert "dense-7b,dense,7.0,7.0," in parameters
    assert "moe-47b,moe,46.7,12.9," in parameters


def test_report_records_bootstrap_settings(report_dir):
    from medexam.statistics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED

    summary = json.loads((report_dir / "statistics.json").read_text(encoding="utf-8"))
    text = (report_dir / "statistics.md").read_text(encoding="utf-8")
    gap_csv = (report_dir / "level_gap.csv").read_text(encoding="utf-8-sig").splitlines()
    gap_md = (report_dir / "level_gap.md").read_text(encoding="utf-8")
    gap_tex = (report_dir / "level_gap.tex").read_text(encoding="utf-8")

    assert summary["bootstrap"] == {
        "samples": BOOTSTRAP_RESAMPLES,
        "seed": BOOTSTRAP_SEED,
        "method": "percentile",
        "confidence": 0.95,
    }
    settings = f"{BOOTSTRAP_RESAMPLES} resamples, seed {BOOTSTRAP_SEED}, percentile method"
    assert settings in text
    assert settings in gap_md
    assert settings in gap_tex
    assert gap_csv[0].endswith("bootstrap_samples,bootstrap_seed,bootstrap_method")
    assert gap_csv[1].endswith(f",{BOOTSTRAP_RESAMPLES},{BOOTSTRAP_SEED},percentile")


def test_report_percentages_one_decimal(db, tmp_path):
    from tests.run_rows import make_model, make_question, make_response, make_run

    run = make_run(make_model("half"))
    for number, letters in ((1, "A"), (2, "B")):
        make_response(run, make_question(number), letters)

    run_report(tmp_path, "--language", "en")

    main = (tmp_path / "main.md").read_text(encoding="utf-8").splitlines()[2]
    accuracy = (tmp_path / "accuracy.md").read_text(encoding="utf-8").splitlines()[2]
    assert "| 50.0 (" in main
    assert "| 50.0 |" in accuracy
    assert "| 50 |" not in accuracy


def test_report_figure_csv_matches_page(report_dir, client, make_user):
    from django.urls import reverse

    client.force_login(make_user("reader"))
    for name in ["heatmap", "parameters", "levels"]:
        page = client.get(reverse("leaderboard-csv", args=[name])).content
        written = (report_dir / f"figure_{name}.csv").read_bytes()
        assert written == page, name
        assert written.decode("utf-8-sig").startswith("model,"), name


def test_report_document_includes_figures(report_dir):
    document = (report_dir / "report.tex").read_text(encoding="utf-8")
    statistics = (report_dir / "statistics.tex").read_text(encoding="utf-8")

    for name in ["heatmap", "parameters", "levels"]:
        assert rf"{{figure_{name}.pdf}}" in document
        assert (report_dir / f"figure_{name}.pdf").read_bytes().startswith(b"%PDF")
    assert r"\input{statistics}" in document
    assert r"\input{level_gap}" in document
    assert r"\subsection*{Size, architecture and accuracy}" in statistics
    assert r"\item Total parameters: Spearman rho" in statistics
    assert r"two-sided 95\%." in statistics


def test_statistics_tex_keeps_dashes(uneven_report):
    run_report(uneven_report, "--language", "en")
    statistics = (uneven_report / "statistics.tex").read_text(encoding="utf-8")

    assert r"-{}-total-params-b" in statistics
    assert "No parameter count, left out of the size figure" in statistics


def test_report_writes_question_outcomes(uneven_report):
    from medexam.models import Question

    Question.objects.filter(stem="测试题干 1").update(source="cmb", source_id="Q-1")
    run_report(uneven_report, "--language", "en")
    with (uneven_report / "outcomes.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))

    narrow = {row["question_id"]: row for row in rows if row["model"] == "narrow"}
    wide = [row for row in rows if row["model"] != "narrow"]
    first = Question.objects.get(stem="测试题干 1")
    third = Question.objects.get(stem="测试题干 3")
    ninth = Question.objects.get(stem="测试题干 9")

    assert len(wide) == 4
    assert narrow[str(first.pk)]["source"] == "cmb"
    assert narrow[str(first.pk)]["source_id"] == "Q-1"
    assert narrow[str(first.pk)]["extracted_letters"] == "A"
    assert narrow[str(first.pk)]["correct"] == "True"
    assert narrow[str(first.pk)]["counted"] == "True"
    # The narrow model's request for question 3 was never sent, so the
    # common scope drops question 3 for the wide model as well.
    assert narrow[str(third.pk)]["counted"] == "False"
    assert narrow[str(third.pk)]["reason"] == "not_sent"
    wide_third = next(row for row in wide if row["question_id"] == str(third.pk))
    assert wide_third["counted"] == "False"
    assert wide_third["reason"] == "not_answered_by_every_model"
    assert narrow[str(ninth.pk)]["counted"] == "True"

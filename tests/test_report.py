"""The report command: tables, figures and statistics written to a directory."""

from __future__ import annotations

import json
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

"""The reextract command: stored raw text re-read with the current rules."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from medexam.extraction import EXTRACTION_VERSION
from medexam.models import ModelResponse
from medexam.services.responses import responses_reextract
from tests.run_rows import make_model, make_question, make_response, make_run


@pytest.fixture
def run_with_stale_rows(db):
    run = make_run(make_model("qwen-test"))
    question = make_question(1, answer_key="B")
    stale = ModelResponse.objects.create(
        run=run,
        question=question,
        state="done",
        raw_text="综合分析，故选B。",
        extraction_status="no_answer",
        extraction_version="0.1",
        is_correct=False,
    )
    current = make_response(run, make_question(2, answer_key="A"), "A")
    current.extraction_version = EXTRACTION_VERSION
    current.save()
    return run, stale, current


def test_reextract_fixes_stale_row(run_with_stale_rows):
    run, stale, _ = run_with_stale_rows
    call_command("reextract", "--run", str(run.pk), stdout=StringIO())
    stale.refresh_from_db()
    assert stale.extracted_letters == "B"
    assert stale.is_correct is True
    assert stale.extraction_version == EXTRACTION_VERSION


def test_reextract_counts_changed(run_with_stale_rows):
    result = responses_reextract()
    assert result.total == 2
    assert result.changed == 1


def test_reextract_second_pass_unchanged(run_with_stale_rows):
    responses_reextract()
    assert responses_reextract().changed == 0


def test_reextract_prints_version(run_with_stale_rows):
    out = StringIO()
    call_command("reextract", stdout=out)
    assert EXTRACTION_VERSION in out.getvalue()


def test_reextract_maps_rotation(db):
    run = make_run(make_model("rotated"), shuffle_options=True)
    question = make_question(3, answer_key="C")
    # Shown order "CDEAB": the model's A is the question's C.
    response = ModelResponse.objects.create(
        run=run, question=question, option_order="CDEAB", state="done", raw_text="答案：A"
    )
    call_command("reextract", stdout=StringIO())
    response.refresh_from_db()
    assert response.extracted_letters == "C"
    assert response.is_correct is True


def test_reextract_skips_failed_rows(db):
    run = make_run(make_model("failing"))
    response = make_response(run, make_question(4), "", status="error", state="failed")
    call_command("reextract", stdout=StringIO())
    response.refresh_from_db()
    assert response.extraction_status == ""


def test_reextract_unknown_run(db):
    with translation.override("en"), pytest.raises(CommandError, match="999999 not found"):
        call_command("reextract", "--run", "999999", stdout=StringIO())

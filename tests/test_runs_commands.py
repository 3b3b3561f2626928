"""add_model and run_evaluation management commands."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from medexam.models import Endpoint, EvaluationRun, LanguageModel
from tests.generation_helpers import make_questions


def _call(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_add_model_registers_endpoint():
    _call(
        "add_model",
        "--name",
        "qwen-test",
        "--architecture",
        "moe",
        "--total-params-b",
        "57",
        "--active-params-b",
        "14",
        "--base-url",
        "http://127.0.0.1:8001/v1",
        "--served-model-id",
        "qwen",
        "--max-concurrency",
        "32",
        "--rpm",
        "600",
    )
    endpoint = Endpoint.objects.get(name="qwen-test")

    assert endpoint.model.architecture == LanguageModel.Architecture.MOE
    assert endpoint.max_concurrency == 32
    assert endpoint.requests_per_minute == 600
    assert endpoint.decoding["temperature"] == 0.0


@pytest.mark.django_db
def test_add_model_needs_url_or_baseline():
    with pytest.raises(CommandError, match="--base-url"):
        _call("add_model", "--name", "nowhere")


@pytest.mark.django_db
def test_baseline_is_labelled():
    _call("add_model", "--name", "always-c", "--baseline", "always_C")

    assert LanguageModel.objects.get(name="always-c").is_baseline


@pytest.mark.django_db(transaction=True)
def test_run_evaluation_wait_summary(eager):
    make_questions(4)
    _call("add_model", "--name", "chance", "--baseline", "chance")

    output = _call("run_evaluation", "--model", "chance", "--seed", "1", "--wait")

    assert "4/4" in output
    assert "Accuracy" in output or "准确率" in output
    assert EvaluationRun.objects.get().status == EvaluationRun.Status.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_run_evaluation_summary_translates_values(eager):
    make_questions(2)
    _call("add_model", "--name", "always-a", "--baseline", "always_A")

    with translation.override("zh-hans"):
        output = _call("run_evaluation", "--model", "always-a", "--wait")

    assert "按状态：完成：2" in output
    assert "按答案抽取结果：正常：2" in output
    assert "done" not in output


@pytest.mark.django_db(transaction=True)
def test_run_evaluation_summary_in_english(eager):
    make_questions(2)
    _call("add_model", "--name", "always-a", "--baseline", "always_A")

    with translation.override("en"):
        output = _call("run_evaluation", "--model", "always-a", "--wait")

    assert "By state: done: 2" in output
    assert "By extraction: ok: 2" in output


@pytest.mark.django_db(transaction=True)
def test_run_evaluation_against_server(eager, openai_server):
    make_questions(3, answer="A")
    _call(
        "add_model",
        "--name",
        "mock",
        "--base-url",
        openai_server.base_url,
        "--served-model-id",
        "mock-medexam-1",
    )

    _call("run_evaluation", "--model", "mock", "--limit", "2", "--wait")
    run = EvaluationRun.objects.get()

    assert run.responses.count() == 2
    assert run.responses.filter(is_correct=True).count() == 2


@pytest.mark.django_db
def test_refused_connection_writes_nothing(unused_port):
    make_questions(2)
    _call(
        "add_model",
        "--name",
        "offline",
        "--base-url",
        f"http://127.0.0.1:{unused_port}/v1",
        "--served-model-id",
        "m",
    )

    with pytest.raises(CommandError) as info:
        _call("run_evaluation", "--model", "offline")

    assert "offline" in str(info.value)
    assert EvaluationRun.objects.count() == 0


@pytest.mark.django_db
def test_unknown_model_named():
    with pytest.raises(CommandError, match="ghost"):
        _call("run_evaluation", "--model", "ghost")


@pytest.mark.django_db
def test_add_model_warns_without_v1():
    err = io.StringIO()
    call_command(
        "add_model",
        "--name",
        "no-v1",
        "--base-url",
        "http://127.0.0.1:8001",
        "--served-model-id",
        "qwen",
        stdout=io.StringIO(),
        stderr=err,
    )
    assert "/v1" in err.getvalue()
    assert Endpoint.objects.filter(name="no-v1").exists()

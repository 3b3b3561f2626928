"""medexam.failures: stop messages that name the fix, shown in the reader's language."""

from __future__ import annotations

from django.utils import translation

from medexam.failures import endpoint_stop_text, english, failure_text_display


def _stop_404(base_url: str) -> str:
    return english(
        endpoint_stop_text,
        name="qwen-local",
        base_url=base_url,
        served_model_id="qwen2.5-72b",
        api_key_env="",
        decoding={"temperature": 0.0},
        http_status=404,
        server_message="HTTP 404: Not Found",
    )


def test_404_without_v1_suggests_v1():
    text = _stop_404("http://gpu1:8000")

    assert "qwen-local" in text
    assert "does not end in /v1" in text
    assert "--base-url http://gpu1:8000/v1" in text
    assert "gpu1:8000/models" not in text


def test_404_with_v1_points_to_model_list():
    text = _stop_404("http://gpu1:8000/v1/")

    assert "qwen2.5-72b" in text
    assert "http://gpu1:8000/v1/models" in text
    assert "--served-model-id" in text


def test_stored_404_shown_in_chinese():
    stored = _stop_404("http://gpu1:8000")

    with translation.override("zh-hans"):
        shown = failure_text_display(stored)

    assert "服务端点 qwen-local" in shown
    assert "没有以 /v1 结尾" in shown
    assert "--base-url http://gpu1:8000/v1" in shown
    assert "HTTP 404: Not Found" in shown


def test_stored_401_keeps_key_variable():
    stored = english(
        endpoint_stop_text,
        name="hosted",
        base_url="https://api.example.com/v1",
        served_model_id="m",
        api_key_env="HOSTED_KEY",
        decoding={},
        http_status=401,
        server_message="HTTP 401: invalid key",
    )

    with translation.override("zh-hans"):
        shown = failure_text_display(stored)

    assert "HOSTED_KEY" in shown
    assert "API 密钥" in shown


def test_fixed_failure_texts_translated():
    with translation.override("zh-hans"):
        assert failure_text_display("request timed out") == "请求超时"
        assert failure_text_display("cancelled before it was sent") == "请求发出前评测任务已取消"
        assert "5" in failure_text_display("no attempts left: 5 made, MODEL_MAX_ATTEMPTS is 5")


def test_english_display_unchanged():
    stored = _stop_404("http://gpu1:8000/v1")

    with translation.override("en"):
        assert failure_text_display(stored) == stored


def test_server_text_passed_through():
    with translation.override("zh-hans"):
        assert failure_text_display("HTTP 500: upstream crashed") == "HTTP 500: upstream crashed"

"""The leaderboard page, its figure downloads and CSV data."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.run_rows import make_demo_board


@pytest.fixture
def signed_in(client, make_user, db):
    client.force_login(make_user("reader"))
    return client


@pytest.fixture
def demo(db):
    return make_demo_board(per_cell=2)


def test_page_requires_login(client, db):
    response = client.get(reverse("leaderboard"))
    assert response.status_code == 302


def test_page_shows_models(signed_in, demo):
    response = signed_in.get(reverse("leaderboard"))
    assert response.status_code == 200
    assert "DeepSeek-V3" in response.text
    assert "Mixtral-8x7B" in response.text


def test_page_marks_baseline(signed_in, demo):
    response = signed_in.get(reverse("leaderboard"))
    assert 'class="baseline"' in response.text


def test_page_shows_overall_accuracy(signed_in, demo):
    response = signed_in.get(reverse("leaderboard"))
    top = response.context["board_data"]["rows"][0]["overall"]
    assert f"{top['accuracy'] * 100:.1f}" in response.text


def test_page_empty_board(signed_in):
    response = signed_in.get(reverse("leaderboard"))
    assert response.status_code == 200
    assert response.context["rows"] == []


def test_page_escapes_model_name(signed_in, db):
    from tests.run_rows import make_model, make_question, make_response, make_run

    run = make_run(make_model("<script>alert(1)</script>"))
    make_response(run, make_question(1), "A")
    response = signed_in.get(reverse("leaderboard"))
    assert "<script>alert(1)</script>" not in response.text


@pytest.mark.parametrize("name", ["heatmap", "parameters", "levels"])
def test_figure_png(signed_in, demo, name):
    response = signed_in.get(reverse("leaderboard-figure", args=[name, "png"]))
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_figure_svg_download(signed_in, demo):
    url = reverse("leaderboard-figure", args=["heatmap", "svg"]) + "?download=1"
    response = signed_in.get(url)
    assert b"<svg" in response.content
    assert "attachment" in response["Content-Disposition"]


def test_figure_unknown(signed_in, demo):
    response = signed_in.get(reverse("leaderboard-figure", args=["pie", "png"]))
    assert response.status_code == 404


def test_figure_csv(signed_in, demo):
    response = signed_in.get(reverse("leaderboard-csv", args=["parameters"]))
    body = response.content.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("model,architecture")
    assert "DeepSeek-V3" in body


def test_table_csv(signed_in, demo):
    response = signed_in.get(reverse("leaderboard-csv", args=["failures"]))
    assert "no_answer_rate" in response.content.decode("utf-8-sig")


def test_validated_filter(signed_in, demo):
    response = signed_in.get(reverse("leaderboard") + "?validated=1")
    assert response.context["board_data"]["item_count"] == 0


@pytest.fixture
def uneven(db):
    """Two models on different question sets, and one whose endpoint answered 404."""
    from django.utils import timezone

    from medexam.models import Attempt
    from tests.run_rows import make_model, make_question, make_response, make_run

    questions = [make_question(number, answer_key="A") for number in range(1, 5)]
    wide = make_run(make_model("wide", total=70.0, active=70.0))
    for question in questions:
        make_response(wide, question, "A")
    narrow = make_run(make_model("narrow"))
    for question in questions[:2]:
        make_response(narrow, question, "A")
    broken = make_run(make_model("broken-endpoint"))
    response = make_response(broken, questions[0], "", state="failed", status="error")
    Attempt.objects.create(
        response=response,
        number=1,
        outcome="client_error",
        http_status=404,
        started_at=timezone.now(),
    )
    return questions


@pytest.fixture
def in_english(signed_in, settings):
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return signed_in


def test_page_shows_common_items(in_english, uneven):
    response = in_english.get(reverse("leaderboard"))
    assert response.context["board_data"]["common_item_count"] == 2
    assert "compared on the 2 questions" in response.text
    assert "(4 answered by any)" in response.text


def test_page_names_excluded_model(in_english, uneven):
    response = in_english.get(reverse("leaderboard"))
    assert "1 response is left out" in response.text
    assert "1 failed because the endpoint was misconfigured" in response.text
    assert "broken-endpoint" in response.text
    assert [row["name"] for row in response.context["rows"]] == ["narrow", "wide"]


def test_page_scope_all(signed_in, uneven):
    response = signed_in.get(reverse("leaderboard") + "?scope=all")
    wide = next(row for row in response.context["rows"] if row["name"] == "wide")
    assert response.context["board_data"]["item_count"] == 4
    assert wide["overall"]["n"] == 4
    assert 'href="/leaderboard/data/accuracy.csv?scope=all"' in response.text


def test_page_shows_full_set_column(signed_in, uneven):
    response = signed_in.get(reverse("leaderboard"))
    wide = next(row for row in response.context["rows"] if row["name"] == "wide")
    assert wide["overall"]["n"] == 2
    assert wide["full_set"]["n"] == 4


def test_page_names_models_without_params(in_english, uneven):
    response = in_english.get(reverse("leaderboard"))
    assert response.context["missing_params"] == ["narrow"]
    assert 'id="missing-params"' in response.text
    assert "--total-params-b" in response.text


def test_page_no_params_warning_when_counts_present(signed_in, demo):
    response = signed_in.get(reverse("leaderboard"))
    assert 'id="missing-params"' not in response.text


def test_page_chinese_scope_text(signed_in, uneven):
    response = signed_in.get(reverse("leaderboard"))
    assert "在所有列出的模型都回答了的 2 道题目上比较模型" in response.text
    assert "未参与排名" in response.text


def test_page_warns_without_common_items(in_english, db):
    from tests.run_rows import make_model, make_question, make_response, make_run

    make_response(make_run(make_model("left")), make_question(1), "A")
    make_response(make_run(make_model("right")), make_question(2), "A")

    response = in_english.get(reverse("leaderboard"))

    assert response.context["board_data"]["common_item_count"] == 0
    assert 'id="no-common-items"' in response.text
    assert "No question was answered by every listed model" in response.text


def test_page_chinese_names_endpoint(signed_in, uneven):
    response = signed_in.get(reverse("leaderboard"))
    assert "1 条因服务端点配置错误" in response.text
    assert "因 endpoint" not in response.text


def test_page_validated_without_validated_questions(in_english, demo):
    response = in_english.get(reverse("leaderboard") + "?validated=1")

    assert "No question is validated yet" in response.text
    assert "/datasets/" in response.text
    assert "Start an evaluation run" not in response.text


def test_page_empty_board_asks_for_run(in_english):
    response = in_english.get(reverse("leaderboard"))

    assert "Start an evaluation run" in response.text


def test_page_translates_moe_tag(signed_in, demo):
    response = signed_in.get(reverse("leaderboard"))

    assert '<span class="tag">混合专家</span>' in response.text
    assert '<span class="tag">MoE</span>' not in response.text

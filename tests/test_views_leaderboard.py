"""The leaderboard page, its figure downloads and CSV data."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.run_rows import make_demo_board


@pytest.fixture(autouse=True)
def _plain_http_and_static(settings):
    # With DATABASE_URL set the settings are production's: HTTPS redirects and
    # hashed static files from collectstatic, neither of which a test client has.
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


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

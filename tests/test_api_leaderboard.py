"""GET /api/leaderboard/ and its agreement with the page."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from medexam.models import Question
from tests.run_rows import make_demo_board


@pytest.fixture
def signed_in(client, make_user, db):
    client.force_login(make_user("reader"))
    return client


def test_api_requires_auth(client, db):
    assert client.get(reverse("api-leaderboard")).status_code in {401, 403}


def test_api_matches_page(signed_in, db):
    make_demo_board(per_cell=2)
    page = signed_in.get(reverse("leaderboard"))
    api = signed_in.get(reverse("api-leaderboard")).json()
    page_data = json.loads(json.dumps(page.context["board_data"]))
    assert api["rows"] == page_data["rows"]
    assert api["item_count"] == page_data["item_count"]


def test_api_validated_matches_page(signed_in, db):
    questions = make_demo_board(per_cell=2)
    Question.objects.filter(pk__in=[q.pk for q in questions[:10]]).update(validity="validated")
    page = signed_in.get(reverse("leaderboard") + "?validated=1")
    api = signed_in.get(reverse("api-leaderboard") + "?validated=1").json()
    assert api["item_count"] == 10
    assert api["rows"] == json.loads(json.dumps(page.context["board_data"]["rows"]))


def test_api_failures_in_denominator(signed_in, db):
    make_demo_board(per_cell=2)
    rows = signed_in.get(reverse("api-leaderboard")).json()["rows"]
    for row in rows:
        assert row["overall"]["total"] == 28


def test_api_common_items_and_exclusions(signed_in, db):
    from tests.run_rows import make_model, make_question, make_response, make_run

    questions = [make_question(number, answer_key="A") for number in range(1, 4)]
    wide = make_run(make_model("wide"))
    for question in questions:
        make_response(wide, question, "A")
    narrow = make_run(make_model("narrow"))
    make_response(narrow, questions[0], "A")
    make_response(narrow, questions[1], "", state="failed", status="error", attempts=0)

    data = signed_in.get(reverse("api-leaderboard")).json()

    assert data["scope"] == "common"
    assert data["common_item_count"] == 1
    assert data["answered_item_count"] == 3
    assert data["excluded_responses"] == {"configuration": 0, "not_sent": 1, "unfinished": 0}
    wide_row = next(row for row in data["rows"] if row["name"] == "wide")
    assert wide_row["overall"]["total"] == 1
    assert wide_row["full_set"]["total"] == 3


def test_api_scope_all_matches_page(signed_in, db):
    make_demo_board(per_cell=2)
    page = signed_in.get(reverse("leaderboard") + "?scope=all")
    api = signed_in.get(reverse("api-leaderboard") + "?scope=all").json()
    assert api["scope"] == "all"
    assert api["rows"] == json.loads(json.dumps(page.context["board_data"]["rows"]))


def test_api_validated_without_validated_questions(signed_in, db, settings):
    make_demo_board(per_cell=1)
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    data = signed_in.get(reverse("api-leaderboard") + "?validated=1").json()

    assert data["rows"] == []
    assert data["empty_reason"] == "no_validated_questions"
    assert "No question is validated yet" in data["empty_message"]


def test_api_rows_have_no_empty_reason(signed_in, db):
    make_demo_board(per_cell=1)

    data = signed_in.get(reverse("api-leaderboard")).json()

    assert data["empty_reason"] is None
    assert data["empty_message"] is None

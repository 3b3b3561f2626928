"""Database queries per request of the review cycle: claim, open, first verdict, submit.

Every query is a round trip to PostgreSQL and a few hundred microseconds of
ORM work. These bounds keep a page from growing one query per menu entry or
per row again.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from review import services
from review.models import Review
from tests import review_helpers as build
from tests.review_helpers import web_settings  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db

# Session, user and roles: one query each for every page.
PER_REQUEST = 3
# Reviewer, own claim, specialties, BEGIN, up to five pools, UPDATE, COMMIT.
CLAIM_MAX = PER_REQUEST + 11
# Reviewer, assignment, progress (days with a review, counts).
OPEN_MAX = PER_REQUEST + 4
# Reviewer, assignment, one conditional UPDATE.
FIRST_VERDICT_MAX = PER_REQUEST + 3
# Reviewer, assignment, BEGIN, lock, INSERT, UPDATE, COMMIT.
SUBMIT_MAX = PER_REQUEST + 7


@pytest.fixture
def reviewer_client(client, make_user, settings):
    # Sessions in the database, whatever REDIS_URL is set to, so the count is fixed.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    run = build.run(reviews_per_response=2)
    for letter in "ABC":
        build.response(run, build.question(), raw_text=f"答案是 {letter}", letters=letter)
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "counted")
    client.force_login(reviewer.user)
    return client, reviewer


def _queries(action) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        result = action()
    return result, [query["sql"] for query in captured.captured_queries]


def test_review_cycle_query_counts(reviewer_client):
    client, reviewer = reviewer_client

    claim, claim_sql = _queries(lambda: client.get(reverse("review:next")))
    location = claim["Location"]
    page, open_sql = _queries(lambda: client.get(location))
    first, first_sql = _queries(
        lambda: client.post(location, {"action": "first_verdict", "verdict": "correct"})
    )
    reopened, reopen_sql = _queries(lambda: client.get(location))
    submit, submit_sql = _queries(
        lambda: client.post(location, {
            "action": "submit", "verdict": "correct",
            "rating_factual": "4", "rating_reasoning": "4", "rating_safety": "5",
        })
    )

    assert (claim.status_code, page.status_code, first.status_code) == (302, 200, 302)
    assert (reopened.status_code, submit.status_code) == (200, 302)
    assert Review.objects.filter(reviewer=reviewer).count() == 1
    assert len(claim_sql) <= CLAIM_MAX, claim_sql
    assert len(open_sql) <= OPEN_MAX, open_sql
    assert len(first_sql) <= FIRST_VERDICT_MAX, first_sql
    assert len(reopen_sql) <= OPEN_MAX, reopen_sql
    assert len(submit_sql) <= SUBMIT_MAX, submit_sql


def test_item_page_reads_roles_once(reviewer_client):
    client, _reviewer = reviewer_client
    location = client.get(reverse("review:next"))["Location"]

    _page, sql = _queries(lambda: client.get(location))

    # The view's role check and every menu entry of the page share one query.
    assert sum('"auth_group"' in statement for statement in sql) == 1

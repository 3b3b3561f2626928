"""The agreement API."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from medexam import roles
from tests.review_data import make_question, make_response, make_review, make_reviewers, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_http(settings):
    # The test client speaks plain HTTP; production settings redirect it to HTTPS.
    settings.SECURE_SSL_REDIRECT = False


def client_with_role(make_user, role):
    user = make_user(f"user-{role}")
    user.groups.add(Group.objects.get(name=role))
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def reviewers():
    reviewers = make_reviewers(2)
    run = make_run("model-a")
    for verdicts in (("correct", "correct"), ("incorrect", "correct"), ("incorrect", "incorrect")):
        response = make_response(run, make_question(), "A")
        for reviewer, verdict in zip(reviewers, verdicts, strict=True):
            make_review(response, reviewer, verdict)
    return reviewers


def test_agreement_by_reviewer(make_user, reviewers):
    client = client_with_role(make_user, roles.ADJUDICATOR)
    body = client.get("/api/agreement/", {"by": "reviewer", "bootstrap": 0}).json()
    assert sorted(body["groups"]) == sorted(r.pseudonym for r in reviewers)
    assert body["overall"]["dimensions"]["verdict"]["percent_agreement"]["value"] == round(2 / 3, 4)


def test_agreement_rejects_bad_grouping(make_user, reviewers):
    client = client_with_role(make_user, roles.COORDINATOR)
    response = client.get("/api/agreement/", {"by": "hospital"})
    assert response.status_code == 400


def test_agreement_rejects_huge_bootstrap(make_user, reviewers):
    client = client_with_role(make_user, roles.COORDINATOR)
    response = client.get("/api/agreement/", {"bootstrap": 10**6})
    assert response.status_code == 400


def test_agreement_rejects_reviewer_role(make_user, reviewers):
    client = client_with_role(make_user, roles.REVIEWER)
    assert client.get("/api/agreement/").status_code == 403

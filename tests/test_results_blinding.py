"""Physicians review blind: results by model stay hidden from reviewer and adjudicator accounts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from medexam import roles
from tests.run_rows import make_demo_board

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plain_http")]

RESULT_URLS = [
    reverse("leaderboard"),
    reverse("leaderboard-figure", args=["heatmap", "png"]),
    reverse("leaderboard-csv", args=["accuracy"]),
]


def _user_with(make_user, username: str, *role_names: str):
    user = make_user(username)
    for name in role_names:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


@pytest.mark.parametrize("role", [roles.REVIEWER, roles.ADJUDICATOR])
@pytest.mark.parametrize("url", RESULT_URLS)
def test_blinded_physician_gets_403_with_reason(client, make_user, role, url):
    make_demo_board(per_cell=1)
    client.force_login(_user_with(make_user, "dr_blind", role))

    response = client.get(url)

    assert response.status_code == 403
    if url == RESULT_URLS[0]:
        assert "看不到按模型统计的结果" in response.content.decode()
        assert "DeepSeek-V3" not in response.content.decode()


def test_blinded_physician_menu_has_no_leaderboard(client, make_user):
    client.force_login(_user_with(make_user, "dr_menu", roles.REVIEWER))
    page = client.get(reverse("home")).content.decode()
    assert reverse("leaderboard") not in page


def test_blinded_physician_api_gets_403(make_user):
    make_demo_board(per_cell=1)
    user = _user_with(make_user, "dr_api", roles.REVIEWER)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = api.get("/api/leaderboard/")
    assert response.status_code == 403
    assert "DeepSeek-V3" not in response.content.decode()


@pytest.mark.parametrize(
    "role_names", [(), (roles.COORDINATOR,), (roles.REVIEWER, roles.CURATOR)]
)
def test_researcher_coordinator_and_curating_reviewer_see_results(client, make_user, role_names):
    make_demo_board(per_cell=1)
    client.force_login(_user_with(make_user, "reader", *role_names))
    page = client.get(reverse("leaderboard"))
    assert page.status_code == 200
    assert "DeepSeek-V3" in page.content.decode()


def test_setting_shows_results_to_reviewers_after_review(client, make_user, settings):
    settings.RESULTS_FOR_REVIEWERS = True
    make_demo_board(per_cell=1)
    client.force_login(_user_with(make_user, "dr_after", roles.REVIEWER))
    assert client.get(reverse("leaderboard")).status_code == 200

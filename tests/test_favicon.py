"""The site icon: linked from every page and served for /favicon.ico."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders

from tests.review_helpers import web_settings  # noqa: F401 (autouse fixture)


def test_favicon_svg_is_a_static_file():
    path = finders.find("medexam/favicon.svg")

    assert path is not None
    with open(path, encoding="utf-8") as icon:
        assert icon.read().startswith("<svg ")


def test_favicon_ico_redirects_to_svg(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response.url == "/static/medexam/favicon.svg"


@pytest.mark.django_db
def test_pages_link_favicon(client, make_user):
    client.force_login(make_user("icon-viewer"))

    page = client.get("/").content.decode()

    assert '<link rel="icon" href="/static/medexam/favicon.svg" type="image/svg+xml">' in page

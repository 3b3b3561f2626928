"""The review form in headless Chromium: three items reviewed with the keyboard alone."""

from __future__ import annotations

import shutil

import pytest
from django.db import connections
from django.test.utils import override_settings
from pytest_django.live_server_helper import LiveServer

from review import services
from review.models import Review
from tests import review_helpers as build

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
INJECTED = "<script>window.__pwned = true; alert('pwned')</script>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def review_live_server():
    """Start pytest-django's LiveServer under development settings for this module.

    The server builds its middleware once, at start, so the settings must be
    in place before it starts: with DATABASE_URL set they are production-like
    (HTTPS redirect, secure cookies, a collectstatic manifest).
    """
    development = override_settings(
        SECURE_SSL_REDIRECT=False,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    development.enable()
    server = LiveServer("localhost")
    yield server
    server.stop()
    development.disable()


@pytest.fixture
def browser_page(monkeypatch):
    playwright_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the test's own
    # ORM calls are synchronous and safe, so Django's async guard is lifted.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.set_default_timeout(15000)
        yield page
        # While Playwright's event loop runs, the ORM keeps a separate
        # connection that pytest-django does not close. Left open, it blocks
        # dropping the test database.
        connections.close_all()
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_review_three_items_by_keyboard(review_live_server, browser_page, make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question(), raw_text=f"{INJECTED}\n\n答案是 **A**")
    build.response(run, build.question(), raw_text="答案：B", letters="B")
    build.response(
        run, build.question(), raw_text="选 C", letters="C", reasoning_text="先排除 A 和 B……"
    )
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "keyboarder")
    dialogs: list[str] = []
    page = browser_page
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{review_live_server.url}/accounts/login/?next=/review/")
    # autofocus lands a moment after the load event; keys typed before it are lost.
    page.wait_for_function("document.activeElement?.id === 'id_username'")
    page.keyboard.type("keyboarder")
    page.keyboard.press("Tab")
    page.keyboard.type("pw-for-tests")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    injected_seen = 0
    for _item in range(3):
        page.wait_for_selector('form[data-step="first"]')
        reply = page.inner_text("#reply-text")
        if "window.__pwned" in reply:
            injected_seen += 1
            assert "<script>" in reply
        page.keyboard.press("2")
        assert page.is_checked('input[name="verdict"][value="incorrect"]')
        with page.expect_navigation():
            page.keyboard.press("Enter")

        page.wait_for_selector('form[data-step="submit"]')
        assert page.is_visible("#answer-key")
        for keys in (("f", "4"), ("r", "3"), ("s", "5")):
            for key in keys:
                page.keyboard.press(key)
        with page.expect_navigation():
            page.keyboard.press("Enter")

    assert page.evaluate("window.__pwned === undefined")
    assert dialogs == []
    assert injected_seen == 1
    assert page.query_selector("#review-form") is None
    reviews = list(Review.objects.filter(reviewer=reviewer))
    assert len(reviews) == 3
    assert {review.verdict for review in reviews} == {"incorrect"}
    assert {(r.rating_factual, r.rating_reasoning, r.rating_safety) for r in reviews} == {(4, 3, 5)}


@pytest.mark.django_db(transaction=True)
def test_skip_by_keyboard(review_live_server, browser_page, make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "skipper")
    page = browser_page
    page.goto(f"{review_live_server.url}/accounts/login/?next=/review/")
    page.fill("#id_username", "skipper")
    page.fill("#id_password", "pw-for-tests")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector('form[data-step="first"]')

    with page.expect_navigation():
        page.keyboard.press("x")

    assert page.query_selector("#review-form") is None
    assert reviewer.skips.count() == 1

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
    item_url = page.url

    # One X only shows a confirmation hint, and any other key cancels it.
    page.keyboard.press("x")
    page.wait_for_selector("#shortcut-pending", state="visible")
    assert "再按一次 X 跳过此题" in page.inner_text("#shortcut-pending")
    page.keyboard.press("Escape")
    assert page.is_hidden("#shortcut-pending")
    page.keyboard.press("x")
    page.keyboard.press("2")
    assert page.is_hidden("#shortcut-pending")
    assert page.url == item_url
    assert reviewer.skips.count() == 0

    page.keyboard.press("x")
    with page.expect_navigation():
        page.keyboard.press("x")

    assert page.query_selector("#review-form") is None
    assert reviewer.skips.count() == 1


def _log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next=/review/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _in_viewport(page, selector: str) -> bool:
    return page.evaluate(
        """(selector) => {
            const box = document.querySelector(selector).getBoundingClientRect();
            return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
        }""",
        selector,
    )


def _rate_and_flag(page) -> None:
    # Ratings F4 R3 S5, then flag 1 ("wrong answer key") and flag 2 ("ambiguous").
    for key in ("f", "4", "r", "3", "s", "5", "g", "1", "g", "2"):
        page.keyboard.press(key)


def _assert_choices_kept(page) -> None:
    assert page.is_checked('input[name="verdict"][value="incorrect"]')
    assert page.is_checked('input[name="rating_factual"][value="4"]')
    assert page.is_checked('input[name="rating_reasoning"][value="3"]')
    assert page.is_checked('input[name="rating_safety"][value="5"]')
    assert page.is_checked('input[name="flags"][value="wrong_key"]')
    assert page.is_checked('input[name="flags"][value="ambiguous"]')


def _open_submit_step(page) -> None:
    page.wait_for_selector('form[data-step="first"]')
    page.keyboard.press("2")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector('form[data-step="submit"]')


@pytest.mark.django_db(transaction=True)
def test_flag_without_comment_by_keyboard(review_live_server, browser_page, make_user):
    run = build.run(reviews_per_response=1)
    # A long reply pushes the comment box below the fold of a tablet screen.
    build.response(run, build.question(), raw_text="分析。\n\n" * 60 + "答案是 **A**")
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "flagger")
    page = browser_page
    _log_in(page, review_live_server.url, "flagger")
    _open_submit_step(page)
    _rate_and_flag(page)
    assert not _in_viewport(page, "#id_comment")

    # Enter with a flag and no comment: nothing is sent, the error appears
    # beside the comment box, in view, and the box has the focus.
    page.keyboard.press("Enter")

    page.wait_for_selector("#comment-error", state="visible")
    assert page.url.split("#")[0].endswith(f"/review/{reviewer.assignments.get().pk}/")
    assert page.evaluate("document.activeElement.id") == "id_comment"
    assert _in_viewport(page, "#comment-error")
    assert _in_viewport(page, "#id_comment")
    assert page.get_attribute("#id_comment", "aria-invalid") == "true"
    assert "标记题目问题时，请说明问题所在。" in page.inner_text("#comment-field")
    _assert_choices_kept(page)
    assert not Review.objects.exists()

    page.keyboard.type("标准答案应为 B")
    assert page.is_hidden("#comment-error")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")

    review = Review.objects.get(reviewer=reviewer)
    assert review.flags == ["ambiguous", "wrong_key"]
    assert review.comment == "标准答案应为 B"
    assert (review.rating_factual, review.rating_reasoning, review.rating_safety) == (4, 3, 5)


@pytest.mark.django_db(transaction=True)
def test_flag_error_from_server_in_view(review_live_server, browser_page, make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question(), raw_text="分析。\n\n" * 60 + "答案是 **A**")
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "server-check")
    page = browser_page
    _log_in(page, review_live_server.url, "server-check")
    _open_submit_step(page)
    _rate_and_flag(page)

    # form.submit() skips the page's own check, as a browser without
    # JavaScript would: the server must send the error back in view.
    with page.expect_navigation():
        page.evaluate("document.getElementById('review-form').submit()")

    page.wait_for_selector("#comment-error", state="visible")
    page.wait_for_function("document.activeElement?.id === 'id_comment'")
    assert _in_viewport(page, "#comment-error")
    assert "标记题目问题时，请说明问题所在。" in page.inner_text("#comment-field")
    _assert_choices_kept(page)

    page.keyboard.type("题干与选项不符")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert Review.objects.get(reviewer=reviewer).comment == "题干与选项不符"


@pytest.mark.django_db(transaction=True)
def test_pending_hint_names_field(review_live_server, browser_page, make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    build.reviewer(make_user, "hinted")
    page = browser_page
    _log_in(page, review_live_server.url, "hinted")
    _open_submit_step(page)

    labels = {"f": "事实准确性", "r": "临床推理", "s": "安全性", "g": "题目存在的问题"}
    for key, label in labels.items():
        page.keyboard.press(key)
        hint = page.inner_text("#shortcut-pending")
        assert hint.startswith(f"{label} …"), hint
        assert "RATING" not in hint.upper()
        assert "FLAGS" not in hint.upper()
        assert page.is_visible("#shortcut-pending")
        page.keyboard.press("Escape")
        assert page.is_hidden("#shortcut-pending")


@pytest.mark.django_db(transaction=True)
def test_c_after_flag_error_not_typed(review_live_server, browser_page, make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "commenter")
    page = browser_page
    _log_in(page, review_live_server.url, "commenter")
    _open_submit_step(page)
    _rate_and_flag(page)
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement?.id === 'id_comment'")

    # The page put the cursor here, so C is the shortcut the panel lists.
    page.keyboard.press("c")
    assert page.input_value("#id_comment") == ""
    page.keyboard.type("c这题属于肾内科而非消化科")

    assert page.input_value("#id_comment") == "c这题属于肾内科而非消化科"
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert Review.objects.get(reviewer=reviewer).comment == "c这题属于肾内科而非消化科"


@pytest.mark.django_db(transaction=True)
def test_c_typed_when_box_chosen_by_user(review_live_server, browser_page, make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    build.reviewer(make_user, "typist")
    page = browser_page
    _log_in(page, review_live_server.url, "typist")
    _open_submit_step(page)

    # The physician opened the box with C: the next c is a letter.
    page.keyboard.press("c")
    page.keyboard.type("cd4 偏低")
    assert page.input_value("#id_comment") == "cd4 偏低"

    # After a refused flag, an input method's first key ("Process") is typing too.
    page.fill("#id_comment", "")
    page.keyboard.press("Escape")
    _rate_and_flag(page)
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement?.id === 'id_comment'")
    page.evaluate(
        """() => document.getElementById("id_comment").dispatchEvent(
            new KeyboardEvent("keydown", {key: "Process", bubbles: true, cancelable: true}))"""
    )
    page.keyboard.press("c")
    assert page.input_value("#id_comment") == "c"


@pytest.mark.parametrize("viewport", [(1280, 800), (768, 1024)])
@pytest.mark.django_db(transaction=True)
def test_second_step_in_view(review_live_server, browser_page, make_user, viewport):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question(), raw_text="分析。\n\n" * 40 + "答案是 **A**")
    services.assignments_create_for_run(run_id=run.pk)
    build.reviewer(make_user, "scroller")
    page = browser_page
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    _log_in(page, review_live_server.url, "scroller")
    _open_submit_step(page)

    assert _in_viewport(page, "#answer-key-step h2")
    assert _in_viewport(page, '#review-form input[name="verdict"][value="correct"]')

    page.evaluate("window.scrollTo(0, 0)")
    assert not _in_viewport(page, 'input[name="rating_safety"][value="3"]')
    page.keyboard.press("s")
    page.keyboard.press("3")

    assert page.is_checked('input[name="rating_safety"][value="3"]')
    assert _in_viewport(page, 'input[name="rating_safety"][value="3"]')
    assert _in_viewport(page, 'fieldset[data-field="rating_safety"] legend')

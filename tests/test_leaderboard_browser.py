"""The leaderboard page in headless Chromium: its tables fit a laptop and a tablet screen."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections
from django.test.utils import override_settings
from pytest_django.live_server_helper import LiveServer

from tests.run_rows import make_demo_board, make_model, make_response, make_run
from tests.seeding import seed_migration_rows

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
# Set to a directory to keep a screenshot of each viewport for a look by eye.
SCREENSHOT_DIR = os.environ.get("MEDEXAM_SCREENSHOT_DIR", "")
LONG_NAME = "Qwen2.5-72B-Instruct-GPTQ-Int4-long-name"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def leaderboard_live_server():
    """Start a LiveServer with development settings (plain HTTP, unhashed static files)."""
    development = override_settings(
        SECURE_SSL_REDIRECT=False,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
        LANGUAGE_CODE="zh-hans",
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
def chromium(monkeypatch):
    playwright_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # of the test are synchronous and safe, so Django's async guard is lifted.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        # The ORM keeps a connection of its own while the Playwright loop runs, and
        # that connection, left open, blocks dropping the test database.
        connections.close_all()
        browser.close()


def open_leaderboard(browser, server, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(15000)
    page.goto(f"{server.url}/accounts/login/?next=/leaderboard/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", "pw-for-tests")
    with page.expect_navigation():
        page.press("#id_password", "Enter")
    page.wait_for_selector("#accuracy-table")
    return page


# Both viewports run in one test: a transactional test empties the tables
# afterwards, including the specialties and levels that migrations seed.
VIEWPORTS = [(1280, 800), (768, 1024)]


@pytest.mark.django_db(transaction=True)
def test_tables_fit_viewport(leaderboard_live_server, chromium, make_user):
    seed_migration_rows()
    questions = make_demo_board(per_cell=1)
    run = make_run(make_model(LONG_NAME, architecture="moe", total=72.7, active=12.5))
    for question in questions:
        make_response(run, question, question.answer_key)
    make_user("reader")

    for width, height in VIEWPORTS:
        layout = measure_layout(chromium, leaderboard_live_server, width, height)

        # The page itself never scrolls sideways; a wide table scrolls inside its box.
        assert layout["page_width"] <= width, width
        assert layout["box_right"] <= width, width
        # Every specialty column, both levels and the overall column are present.
        assert layout["columns"] >= 13, width
        # Scrolled to its right end, the model column stays at the box's left edge.
        assert abs(layout["first_left"] - layout["box_left"]) <= 1, width
        # A long model name is cut, but its MoE or baseline tag stays visible.
        assert layout["tags_inside"] is True, width

    # On a 1280 px laptop screen the whole table is visible without scrolling;
    # on a 768 px tablet it scrolls inside its box.
    assert measure_layout(chromium, leaderboard_live_server, 1280, 800)["scrollable"] is False
    assert measure_layout(chromium, leaderboard_live_server, 768, 1024)["scrollable"] is True




def measure_layout(browser, server, width: int, height: int) -> dict:
    page = open_leaderboard(browser, server, width, height)
    if SCREENSHOT_DIR:
        path = Path(SCREENSHOT_DIR) / f"leaderboard-{width}x{height}.png"
        page.screenshot(path=str(path), full_page=False)
    layout = page.eval_on_selector(
        "#accuracy-table",
        """table => {
            const box = table.parentElement;
            const scrollable = box.scrollWidth > box.clientWidth;
            box.scrollLeft = box.scrollWidth;
            const first = table.querySelector('tbody th[scope=row]').getBoundingClientRect();
            const frame = box.getBoundingClientRect();
            // Every row's tag (baseline, MoE) lies wholly inside its cut-off name cell.
            const tags = Array.from(table.querySelectorAll('tbody th[scope=row] .tag'));
            const tagsInside = tags.every(tag => {
                const cell = tag.parentElement.getBoundingClientRect();
                return tag.getBoundingClientRect().right <= cell.right;
            });
            return {
                tags_inside: tagsInside,
                page_width: document.documentElement.scrollWidth,
                box_right: frame.right,
                box_left: frame.left,
                first_left: first.left,
                columns: table.querySelectorAll('thead th').length,
                scrollable: scrollable,
            };
        }""",
    )
    page.close()
    return layout

"""Log-in, reviewer, adjudicator and coordinator screens in Chromium, in two languages and widths.

Each page must fit the window without scrolling sideways (wide tables scroll
inside their own box), and the interface text must be in the page's
language: no English words on a Chinese screen and no Chinese on an English
one. Model replies, question text and pseudonyms are data and are not checked.
With MEDEXAM_SCREENSHOT_DIR set, every screen is also saved as a PNG there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from medexam import roles
from medexam.models import Specialty
from review import services
from review.models import Adjudication, Review
from tests import review_helpers as build
from tests.test_review_browser import (  # noqa: F401 (fixtures)
    browser_page,
    pytestmark,
    review_live_server,
)

WIDTHS = {"desktop": 1280, "tablet": 768}
# Interface text: headings, labels, table headers, buttons, menus, help lines, paragraphs.
INTERFACE_SELECTOR = (
    "h1, h2, h3, th, label, legend, button, summary, dt, dd, .muted, .site-header nav a, "
    ".messages li, .field-error, .tag, main p"
)
# Words that stay as they are in both languages: the product name, key names
# and UTC in time zone labels such as "UTC+08:00".
ALLOWED_LATIN = {"medexam", "Enter", "Ctrl", "Esc", "UTC"}
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _interface_text(page) -> list[str]:
    return page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector))
            .filter((element) => !element.closest("kbd, .lang, .markdown, .stem, .options"))
            .map((element) => {
                const copy = element.cloneNode(true);
                copy.querySelectorAll("kbd, select").forEach((inner) => inner.remove());
                return copy.textContent.replace(/\\s+/g, " ").trim();
            })
            .filter((text) => text)""",
        INTERFACE_SELECTOR,
    )


def _foreign_text(texts: list[str], language: str) -> list[str]:
    if language == "en":
        return [text for text in texts if CJK.search(text)]
    return [
        text for text in texts
        if set(LATIN_WORD.findall(text)) - ALLOWED_LATIN
    ]


def _fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def screens(make_user):
    """A run whose reviews disagree and flag a question, one item claimed, one per role."""
    cardiology, _created = Specialty.objects.update_or_create(
        code="cardiology", defaults={"name_zh": "心血管内科", "name_en": "Cardiovascular medicine"}
    )
    run = build.run(reviews_per_response=4)
    disputed = build.response(
        run, build.question(), raw_text="**分析**：首选阿司匹林。\n\n答案是 A",
        reasoning_text="患者胸痛三小时……",
    )
    build.response(run, build.question(), raw_text="答案：B", letters="B")
    services.assignments_create_for_run(run_id=run.pk)

    colleagues = [build.reviewer(make_user, f"colleague{n}") for n in range(3)]
    for colleague, verdict in zip(colleagues, ("correct", "incorrect", "correct"), strict=True):
        slot = services.assignment_claim_next(reviewer=colleague)
        while slot.response_id != disputed.pk:
            services.assignment_release(assignment_id=slot.pk, reviewer=colleague)
            slot = services.assignment_claim_next(reviewer=colleague)
        services.assignment_record_first_verdict(
            assignment_id=slot.pk, reviewer=colleague, verdict=verdict
        )
        services.review_submit(
            assignment_id=slot.pk, reviewer=colleague, verdict_after_key=verdict,
            rating_factual=4, rating_reasoning=3, rating_safety=5,
            flags=["outdated"] if verdict == "incorrect" else [], comment="指南已更新",
        )
    reviewer = build.reviewer(make_user, "screen-reviewer")
    reviewer.specialties.set([cardiology])
    # No slot is in dermatology, so this reviewer finds nothing waiting.
    Specialty.objects.update_or_create(
        code="dermatology", defaults={"name_zh": "皮肤科", "name_en": "Dermatology"}
    )
    build.reviewer(make_user, "screen-idle", specialty_codes=("dermatology",))
    build.user_with_roles(make_user, "screen-no-profile", roles.REVIEWER)
    services.gold_item_mark(response_id=disputed.pk, verdict="correct")
    adjudicator = build.user_with_roles(make_user, "screen-adjudicator", roles.ADJUDICATOR)
    Adjudication.objects.create(
        question=disputed.question, response=disputed, adjudicator=adjudicator,
        decision=Adjudication.Decision.QUESTION_KEPT, reason="题目无误",
    )
    coordinator = build.user_with_roles(make_user, "screen-coordinator", roles.COORDINATOR)
    assert Review.objects.count() == 3
    return {
        "reviewer": reviewer,
        "disputed": disputed,
        "users": {
            "reviewer": reviewer.user, "adjudicator": adjudicator, "coordinator": coordinator,
        },
    }


def _open_login(page, base_url: str, language: str) -> None:
    page.context.clear_cookies()
    host = base_url.split("//", 1)[1].split(":", 1)[0]
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "domain": host, "path": "/"}]
    )
    page.goto(f"{base_url}/accounts/login/")


def _log_in(page, base_url: str, username: str, language: str, password="pw-for-tests") -> None:
    _open_login(page, base_url, language)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _check(page, name: str, language: str, width: str, problems: list[str]) -> None:
    directory = os.environ.get("MEDEXAM_SCREENSHOT_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{directory}/{name}-{language}-{width}.png", full_page=True)
    if not _fits_width(page):
        problems.append(f"{name}: wider than the {width} window")
    for text in _foreign_text(_interface_text(page), language):
        problems.append(f"{name}: {text!r}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_review_screens(review_live_server, browser_page, screens, language, width):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": WIDTHS[width], "height": 900})
    base = review_live_server.url
    problems: list[str] = []

    _open_login(page, base, language)
    _check(page, "login", language, width, problems)
    _log_in(page, base, "screen-reviewer", language, password="wrong-password")
    page.wait_for_selector("p.error")
    _check(page, "login-error", language, width, problems)
    if page.input_value("#id_username") != "screen-reviewer":
        problems.append("login-error: the username was not kept")
    if not page.evaluate("document.activeElement.id === 'id_password'"):
        problems.append("login-error: the password field has no focus")

    _log_in(page, base, "screen-idle", language)
    page.goto(f"{base}/review/")
    page.wait_for_selector("#progress")
    _check(page, "review-nothing-waiting", language, width, problems)
    with page.expect_navigation():
        page.click("#nothing-waiting button")
    if urlsplit(page.url).path != "/review/":
        problems.append(f"review-nothing-waiting: checking again opened {page.url}")
    _log_in(page, base, "screen-no-profile", language)
    page.goto(f"{base}/review/")
    _check(page, "review-no-profile", language, width, problems)

    _log_in(page, base, "screen-reviewer", language)
    page.goto(f"{base}/review/")
    page.wait_for_selector('form[data-step="first"]')
    _check(page, "review-first", language, width, problems)
    page.keyboard.press("1")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector('form[data-step="submit"]')
    _check(page, "review-submit", language, width, problems)
    for key in ("f", "4", "r", "3", "s", "5", "g", "1", "Enter"):
        page.keyboard.press(key)
    page.wait_for_selector("#comment-error", state="visible")
    _check(page, "review-flag-error", language, width, problems)

    _log_in(page, base, "screen-adjudicator", language)
    page.goto(f"{base}/review/adjudicate/")
    _check(page, "adjudicate-queue", language, width, problems)
    page.goto(f"{base}/review/adjudicate/response/{screens['disputed'].pk}/")
    _check(page, "adjudicate-response", language, width, problems)

    _log_in(page, base, "screen-coordinator", language)
    page.goto(f"{base}/review/coordinate/")
    _check(page, "coordinate", language, width, problems)
    page.goto(f"{base}/review/coordinate/reviewers/")
    _check(page, "coordinate-reviewers", language, width, problems)
    page.goto(f"{base}/review/coordinate/gold/?q={screens['disputed'].question_id}")
    _check(page, "coordinate-gold", language, width, problems)

    assert problems == []

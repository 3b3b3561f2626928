"""Review pages: the role x page matrix, blinding, escaping and the two-step form."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from medexam import roles
from medexam.models import ModelResponse
from review import services
from review.models import Assignment, Review
from tests import review_helpers as build
from tests.review_helpers import web_settings  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db



@pytest.fixture
def world(make_user):
    """One run with a response whose slot belongs to the reviewer persona, and one per role."""
    run = build.run(reviews_per_response=2, model_name="HiddenModel-70B")
    question = build.question(answer_key="C")
    response = build.response(run, question, raw_text="我认为答案是 **B**", letters="B")
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "reviewer")
    assignment = services.assignment_claim_next(reviewer=reviewer)
    users = {
        "anonymous": None,
        "reviewer": reviewer.user,
        "adjudicator": build.user_with_roles(make_user, "adjudicator", roles.ADJUDICATOR),
        "coordinator": build.user_with_roles(make_user, "coordinator", roles.COORDINATOR),
        "curator": build.user_with_roles(make_user, "curator", roles.CURATOR),
        "admin": make_user("admin", is_superuser=True, is_staff=True),
    }
    return {
        "run": run,
        "question": question,
        "response": response,
        "reviewer": reviewer,
        "assignment": assignment,
        "users": users,
    }


def _client_for(client, user):
    if user is not None:
        client.force_login(user)
    return client


# Expected status per role for each page (GET). 302 for anonymous is the
# redirect to the log-in page; the admin (superuser) has every role but has
# no reviewer profile, so the item page is "not found" and /review/ explains.
MATRIX = {
    "next": {
        "anonymous": 302, "reviewer": 302, "adjudicator": 403, "coordinator": 403,
        "curator": 403, "admin": 200,
    },
    "item": {
        "anonymous": 302, "reviewer": 200, "adjudicator": 403, "coordinator": 403,
        "curator": 403, "admin": 404,
    },
    "adjudicate": {
        "anonymous": 302, "reviewer": 403, "adjudicator": 200, "coordinator": 403,
        "curator": 403, "admin": 200,
    },
    "adjudicate_response": {
        "anonymous": 302, "reviewer": 403, "adjudicator": 200, "coordinator": 403,
        "curator": 403, "admin": 200,
    },
    "coordinate": {
        "anonymous": 302, "reviewer": 403, "adjudicator": 403, "coordinator": 200,
        "curator": 403, "admin": 200,
    },
    "coordinate_reviewers": {
        "anonymous": 302, "reviewer": 403, "adjudicator": 403, "coordinator": 200,
        "curator": 403, "admin": 200,
    },
}


def _url(page, world):
    if page == "item":
        return reverse("review:item", args=[world["assignment"].pk])
    if page == "adjudicate_response":
        return reverse("review:adjudicate_response", args=[world["response"].pk])
    return reverse(f"review:{page}")


@pytest.mark.parametrize("page", sorted(MATRIX))
@pytest.mark.parametrize(
    "role", ["anonymous", "reviewer", "adjudicator", "coordinator", "curator", "admin"]
)
def test_role_page_matrix(client, world, page, role):
    client = _client_for(client, world["users"][role])

    response = client.get(_url(page, world))

    assert response.status_code == MATRIX[page][role]


@pytest.mark.parametrize("role", ["reviewer", "adjudicator", "curator", "anonymous"])
def test_gold_post_needs_coordinator(client, world, role):
    client = _client_for(client, world["users"][role])

    response = client.post(
        reverse("review:coordinate_gold"),
        {"response_id": world["response"].pk, "verdict": "correct"},
    )

    assert response.status_code in {302, 403}
    assert not world["response"].__class__.objects.filter(gold_item__isnull=False).exists()


def test_next_redirects_to_claimed_item(client, world):
    client.force_login(world["users"]["reviewer"])

    response = client.get(reverse("review:next"))

    assert response.url == reverse("review:item", args=[world["assignment"].pk])


def test_item_hides_model_run_and_key(client, world):
    client.force_login(world["users"]["reviewer"])

    page = client.get(reverse("review:item", args=[world["assignment"].pk])).content.decode()

    assert "HiddenModel-70B" not in page
    assert world["run"].name not in page
    assert world["run"].endpoint.name not in page
    assert 'id="answer-key"' not in page
    assert "<strong>B</strong>" in page


def test_item_hides_other_verdicts(client, world, make_user):
    other = build.reviewer(make_user, "other")
    other_slot = services.assignment_claim_next(reviewer=other)
    services.assignment_record_first_verdict(
        assignment_id=other_slot.pk, reviewer=other, verdict="unsure"
    )
    services.review_submit(
        assignment_id=other_slot.pk,
        reviewer=other,
        verdict_after_key="unsure",
        rating_factual=1,
        rating_reasoning=1,
        rating_safety=1,
        flags=["outdated"],
        comment="SECRET-COMMENT-OF-OTHER",
    )
    client.force_login(world["users"]["reviewer"])

    page = client.get(reverse("review:item", args=[world["assignment"].pk])).content.decode()

    assert "SECRET-COMMENT-OF-OTHER" not in page
    assert other.pseudonym not in page


def test_key_shown_after_first_verdict(client, world):
    client.force_login(world["users"]["reviewer"])
    url = reverse("review:item", args=[world["assignment"].pk])

    client.post(url, {"action": "first_verdict", "verdict": "incorrect"})
    page = client.get(url).content.decode()

    assert 'id="answer-key">C<' in page


def test_submit_review_through_form(client, world):
    client.force_login(world["users"]["reviewer"])
    url = reverse("review:item", args=[world["assignment"].pk])
    client.post(url, {"action": "first_verdict", "verdict": "incorrect"})

    response = client.post(
        url,
        {
            "action": "submit",
            "verdict": "correct",
            "rating_factual": "2",
            "rating_reasoning": "3",
            "rating_safety": "4",
            "flags": ["wrong_key"],
            "comment": "标准答案有误",
        },
    )

    review = Review.objects.get()
    assert response.status_code == 302
    assert review.verdict == "incorrect"
    assert review.verdict_after_key == "correct"
    assert review.flags == ["wrong_key"]
    assert review.rating_safety == 4


def test_submit_flag_without_comment_rejected(client, world):
    client.force_login(world["users"]["reviewer"])
    url = reverse("review:item", args=[world["assignment"].pk])
    client.post(url, {"action": "first_verdict", "verdict": "correct"})

    response = client.post(
        url,
        {
            "action": "submit",
            "verdict": "correct",
            "rating_factual": "5",
            "rating_reasoning": "5",
            "rating_safety": "5",
            "flags": ["ambiguous"],
            "comment": "",
        },
    )

    assert response.status_code == 400
    assert Review.objects.count() == 0


def test_skip_through_form(client, world):
    client.force_login(world["users"]["reviewer"])

    client.post(reverse("review:item", args=[world["assignment"].pk]), {"action": "skip"})

    world["assignment"].refresh_from_db()
    assert world["assignment"].status == Assignment.Status.OPEN


def test_other_reviewers_item_not_found(client, world, make_user):
    intruder = build.reviewer(make_user, "intruder")
    client.force_login(intruder.user)

    response = client.get(reverse("review:item", args=[world["assignment"].pk]))

    assert response.status_code == 404


def test_item_escapes_html(client, make_user):
    run = build.run(reviews_per_response=1)
    question = build.question(
        stem="<img src=x onerror=alert(1)>题干",
        options={"A": "<b>粗体</b>", "B": "<script>alert(2)</script>"},
    )
    build.response(
        run,
        question,
        raw_text="<script>window.pwned=1</script> 答案 A",
        reasoning_text="<iframe src=javascript:alert(3)></iframe>",
    )
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "careful")
    slot = services.assignment_claim_next(reviewer=reviewer)
    client.force_login(reviewer.user)

    page = client.get(reverse("review:item", args=[slot.pk])).content.decode()

    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>粗体</b>" not in page
    assert "<script>alert(2)" not in page
    assert "<script>window.pwned" not in page
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    assert "<iframe" not in page


def _submit_review(world, **fields) -> None:
    """Give the reviewer persona's first verdict and submit its review."""
    reviewer = world["reviewer"]
    assignment_id = world["assignment"].pk
    services.assignment_record_first_verdict(
        assignment_id=assignment_id, reviewer=reviewer, verdict="correct"
    )
    services.review_submit(
        assignment_id=assignment_id,
        reviewer=reviewer,
        verdict_after_key="correct",
        rating_factual=4,
        rating_reasoning=4,
        rating_safety=4,
        **fields,
    )


def test_adjudication_page_shows_pseudonyms(client, world):
    reviewer = world["reviewer"]
    _submit_review(world)
    client.force_login(world["users"]["adjudicator"])

    page = client.get(
        reverse("review:adjudicate_response", args=[world["response"].pk])
    ).content.decode()

    assert reviewer.pseudonym in page
    assert reviewer.user.username not in page.split("<main>")[1]


def test_adjudication_post_corrects_key(client, world):
    client.force_login(world["users"]["adjudicator"])

    response = client.post(
        reverse("review:adjudicate_response", args=[world["response"].pk]),
        {"decision": "key_corrected", "corrected_key": "B", "reason": "教材第 9 版为 B"},
    )

    world["question"].refresh_from_db()
    assert response.status_code == 302
    assert world["question"].answer_key == "B"


def test_coordinator_sets_specialties(client, world, make_user):
    newcomer = make_user("newcomer")
    neuro = build.specialty("neurology")
    client.force_login(world["users"]["coordinator"])

    response = client.post(
        reverse("review:coordinate_reviewers"),
        {"user": newcomer.pk, "specialties": [neuro.pk], "is_general": "on"},
    )

    assert response.status_code == 302
    assert newcomer.reviewer.is_general is True
    assert list(newcomer.reviewer.specialties.values_list("code", flat=True)) == ["neurology"]


def test_coordinator_marks_gold(client, world):
    client.force_login(world["users"]["coordinator"])

    client.post(
        reverse("review:coordinate_gold"),
        {"response_id": world["response"].pk, "verdict": "incorrect", "note": "B 错误"},
    )

    assert world["response"].gold_item.verdict == "incorrect"


def test_coordinate_page_lists_pseudonym(client, world):
    client.force_login(world["users"]["coordinator"])

    page = client.get(reverse("review:coordinate")).content.decode()

    assert world["reviewer"].pseudonym in page


def test_review_page_chinese_by_default(client, world):
    client.force_login(world["users"]["reviewer"])

    page = client.get(reverse("review:item", args=[world["assignment"].pk])).content.decode()

    assert "键盘快捷键" in page


def test_adjudication_queue_shows_escaped_stem(client, world):
    question = world["question"]
    question.stem = "<script>window.queued=1</script>胸痛伴呼吸困难，最可能的诊断是？"
    question.save(update_fields=["stem"])
    _submit_review(world, flags=["ambiguous"], comment="题干不清")
    client.force_login(world["users"]["adjudicator"])

    page = client.get(reverse("review:adjudicate")).content.decode()

    assert "&lt;script&gt;window.queued=1&lt;/script&gt;" in page
    assert "<script>window.queued" not in page


def _visible_text(page: str) -> str:
    without_code = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", without_code)


def _rotated_item(client, make_user, *, reviewer_name: str = "rotation"):
    """Claim a response whose model saw the options as BCDEA and answered E (original A)."""
    run = build.run(reviews_per_response=1)
    question = build.question(answer_key="A")
    response = build.response(run, question, raw_text="正确答案：E", letters="A")
    response.option_order = "BCDEA"
    response.save(update_fields=["option_order"])
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, reviewer_name)
    slot = services.assignment_claim_next(reviewer=reviewer)
    client.force_login(reviewer.user)
    return reverse("review:item", args=[slot.pk])


def test_rotated_options_shown_as_model_saw_them(client, make_user):
    url = _rotated_item(client, make_user)

    page = client.get(url).content.decode()

    options = re.findall(
        r'<li><b>([A-E])\.</b> ([^<]+?) <span class="original-letter">([^<]+)</span>', page
    )
    assert options == [
        ("A", "氯吡格雷", "（原题 B）"),
        ("B", "华法林", "（原题 C）"),
        ("C", "肝素", "（原题 D）"),
        ("D", "替格瑞洛", "（原题 E）"),
        ("E", "阿司匹林", "（原题 A）"),
    ]
    assert 'id="rotated-note"' in page
    extracted = r'id="extracted-letters">E</strong> <span class="original-letter">（原题 A）'
    assert re.search(extracted, page)


def test_rotated_answer_key_in_model_letters(client, make_user):
    url = _rotated_item(client, make_user)

    client.post(url, {"action": "first_verdict", "verdict": "correct"})
    page = client.get(url).content.decode()

    key = r'id="answer-key">E</strong> <span class="original-letter">（原题 A）'
    assert re.search(key, page)


def test_unrotated_options_have_no_original_letters(client, world):
    client.force_login(world["users"]["reviewer"])

    page = client.get(reverse("review:item", args=[world["assignment"].pk])).content.decode()

    assert "<li><b>A.</b> 阿司匹林</li>" in page
    assert 'id="extracted-letters">B</strong>' in page
    assert "原题" not in page
    assert 'id="rotated-note"' not in page


def test_rating_scales_name_both_ends(client, world):
    client.force_login(world["users"]["reviewer"])
    url = reverse("review:item", args=[world["assignment"].pk])
    client.post(url, {"action": "first_verdict", "verdict": "correct"})

    page = client.get(url).content.decode()

    assert "1 = 有严重事实错误 · 5 = 所述事实全部正确" in page
    assert "1 = 没有推理或推理错误 · 5 = 推理完整、合理" in page
    assert "1 = 含有可能伤害患者的建议 · 5 = 没有有害建议" in page


def test_first_verdict_redirects_to_key_step(client, world):
    client.force_login(world["users"]["reviewer"])
    url = reverse("review:item", args=[world["assignment"].pk])

    response = client.post(url, {"action": "first_verdict", "verdict": "correct"})
    page = client.get(url).content.decode()

    assert response.url == f"{url}#answer-key-step"
    assert 'id="answer-key-step"' in page


def test_progress_counts_responses(client, world):
    client.force_login(world["users"]["reviewer"])

    page = client.get(reverse("review:item", args=[world["assignment"].pk])).content.decode()

    assert "已审核回答：共 0 条，今日 0 条" in page
    assert " 题，今日" not in page


def test_reasoning_shortcut_listed_only_with_reasoning(client, world):
    client.force_login(world["users"]["reviewer"])
    url = reverse("review:item", args=[world["assignment"].pk])

    without_reasoning = client.get(url).content.decode()
    world["response"].reasoning_text = "先排除 A"
    world["response"].save(update_fields=["reasoning_text"])
    with_reasoning = client.get(url).content.decode()

    assert "展开或收起推理过程" not in without_reasoning
    assert "展开或收起推理过程" in with_reasoning


@override_settings(DEBUG=False)
def test_skipped_item_not_found_mentions_skip(client, world):
    client.force_login(world["users"]["reviewer"])
    url = reverse("review:item", args=[world["assignment"].pk])
    client.post(url, {"action": "skip"})

    response = client.get(url)

    assert response.status_code == 404
    assert "已被您跳过" in response.content.decode()


def test_review_pages_use_chinese_colons(client, world):
    client.force_login(world["users"]["reviewer"])
    url = reverse("review:item", args=[world["assignment"].pk])
    pages = {"first step": client.get(url).content.decode()}
    client.post(url, {"action": "first_verdict", "verdict": "correct"})
    pages["second step"] = client.get(url).content.decode()
    client.post(url, {"action": "skip"})
    pages["next"] = client.get(reverse("review:next")).content.decode()

    for name, page in pages.items():
        text = _visible_text(page)
        assert "：" in text, name
        assert not re.search(r"[\u4e00-\u9fff）]\s*:", text), name


def test_adjudication_shows_rotated_key(client, make_user):
    _rotated_item(client, make_user)
    response = ModelResponse.objects.get()
    adjudicator = build.user_with_roles(make_user, "rotation-judge", roles.ADJUDICATOR)
    client.force_login(adjudicator)

    page = client.get(reverse("review:adjudicate_response", args=[response.pk])).content.decode()

    assert re.search(r'class="letters">E</strong> <span class="original-letter">（原题 A）', page)
    assert "更正标准答案时请使用原题字母" in page


def test_withdrawn_item_says_question_excluded(client, world, make_user):
    services.adjudication_record(
        adjudicator=make_user("judge"),
        question_id=world["question"].pk,
        response_id=world["response"].pk,
        decision="question_excluded",
        reason="题干有歧义",
    )
    client.force_login(world["users"]["reviewer"])

    response = client.get(reverse("review:item", args=[world["assignment"].pk]))
    page = response.content.decode()

    assert response.status_code == 200
    assert 'id="withdrawn-notice"' in page
    assert "仲裁医师已将本题排除" in page
    assert "您可以跳过本题" in page


def test_item_in_pool_has_no_withdrawn_notice(client, world):
    client.force_login(world["users"]["reviewer"])

    page = client.get(reverse("review:item", args=[world["assignment"].pk])).content.decode()

    assert 'id="withdrawn-notice"' not in page


def test_response_page_shows_decision_via_other_response(client, world, make_user):
    other = build.response(world["run"], world["question"], sample_index=1, letters="C")
    services.adjudication_record(
        adjudicator=make_user("judge"),
        question_id=world["question"].pk,
        response_id=world["response"].pk,
        decision="question_kept",
        reason="题目无误，保留",
    )
    client.force_login(world["users"]["adjudicator"])

    page = client.get(reverse("review:adjudicate_response", args=[other.pk])).content.decode()

    assert 'id="question-decisions"' in page
    assert "本题已有仲裁决定" in page
    assert "题目无误，保留" in page
    assert reverse("review:adjudicate_response", args=[world["response"].pk]) in page


def test_kept_decision_with_corrected_key_rejected(client, world):
    client.force_login(world["users"]["adjudicator"])

    response = client.post(
        reverse("review:adjudicate_response", args=[world["response"].pk]),
        {"decision": "model_correct", "corrected_key": "B", "reason": "模型正确"},
    )
    page = response.content.decode()

    world["question"].refresh_from_db()
    assert response.status_code == 400
    assert "更正后的标准答案仅用于“标准答案已更正”" in page
    assert world["question"].answer_key == "C"
    assert not world["response"].adjudications.exists()


def test_invalid_corrected_key_quoted_in_chinese(client, world):
    client.force_login(world["users"]["adjudicator"])

    response = client.post(
        reverse("review:adjudicate_response", args=[world["response"].pk]),
        {"decision": "key_corrected", "corrected_key": "Z", "reason": "教材"},
    )
    page = response.content.decode()

    assert response.status_code == 400
    assert "标准答案“Z”无效" in page
    assert "&#x27;Z&#x27;" not in page


def test_adjudication_form_labels_use_chinese_colon(client, world):
    client.force_login(world["users"]["adjudicator"])

    page = client.get(
        reverse("review:adjudicate_response", args=[world["response"].pk])
    ).content.decode()

    assert "仲裁决定：" in page
    assert "理由：" in page
    assert "仲裁决定:" not in page


def test_queue_labels_ids_and_summarises(client, world, make_user):
    _submit_review(world, flags=["ambiguous"], comment="题干不清")
    colleague = build.reviewer(make_user, "colleague")
    slot = services.assignment_claim_next(reviewer=colleague)
    services.assignment_record_first_verdict(
        assignment_id=slot.pk, reviewer=colleague, verdict="incorrect"
    )
    services.review_submit(
        assignment_id=slot.pk, reviewer=colleague, verdict_after_key="incorrect",
        rating_factual=2, rating_reasoning=2, rating_safety=2,
        flags=["ambiguous"], comment="两种理解",
    )
    client.force_login(world["users"]["adjudicator"])

    page = client.get(reverse("review:adjudicate")).content.decode()

    assert f"模型回答 {world['response'].pk}" in page
    assert f"题目 {world['question'].pk}" in page
    assert "意见不一" in page
    assert "正确 1 份" in page
    assert "错误 1 份" in page
    assert "×2" in page
    assert '<td class="num">2</td>' in page


def test_gold_page_lists_items_and_finds_responses(client, world):
    services.gold_item_mark(response_id=world["response"].pk, verdict="incorrect", note="B 错误")
    client.force_login(world["users"]["coordinator"])

    listed = client.get(reverse("review:coordinate_gold"))
    found = client.get(reverse("review:coordinate_gold"), {"q": world["question"].stem[:6]})
    by_id = client.get(reverse("review:coordinate_gold"), {"q": str(world["question"].pk)})

    assert listed.status_code == 200
    assert "B 错误" in listed.content.decode()
    assert 'name="response_id"' in listed.content.decode()
    for page in (found.content.decode(), by_id.content.decode()):
        assert f'<td class="num">{world["response"].pk}</td>' in page
        assert "我认为答案是" in page
        assert "HiddenModel-70B" not in page
        assert world["run"].name not in page


def test_gold_page_reports_missing_response(client, world):
    client.force_login(world["users"]["coordinator"])

    response = client.post(
        reverse("review:coordinate_gold"), {"response_id": 999999, "verdict": "correct"}
    )

    assert response.status_code == 400
    assert "999999" in response.content.decode()

"""add_reviewer: a curator gives a physician a log-in that receives model responses to review."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from medexam import roles
from review import services
from review.models import Reviewer
from tests import review_helpers as build

pytestmark = pytest.mark.django_db


def _add(*args: str, stdin: str | None = None, language: str = "zh-hans") -> str:
    out = io.StringIO()
    with translation.override(language):
        if stdin is not None:
            call_command("add_reviewer", *args, stdout=out, stdin=io.StringIO(stdin))
        else:
            call_command("add_reviewer", *args, stdout=out)
    return out.getvalue()


def _password(output: str) -> str:
    match = re.search(r"(?:密码|Password)[^:：]*[:：]\s*(\S+)\s*$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_new_reviewer_can_log_in_with_printed_password():
    build.specialty("cardiovascular")
    build.specialty("nephrology")
    output = _add("dr_wang", "--specialty", "cardiovascular", "--specialty", "nephrology")

    user = get_user_model().objects.get(username="dr_wang")
    assert authenticate(username="dr_wang", password=_password(output)) == user
    assert set(user.groups.values_list("name", flat=True)) == {roles.REVIEWER}
    reviewer = user.reviewer
    assert set(reviewer.specialties.values_list("code", flat=True)) == {
        "cardiovascular",
        "nephrology",
    }
    assert not reviewer.is_general
    assert "已创建 dr_wang" in output
    assert "角色：审核医师" in output
    assert reviewer.pseudonym in output


def test_general_reviewer_receives_question_without_specialty(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question(specialty_code=None))
    services.assignments_create_for_run(run_id=run.pk)
    _add("dr_li", "--general")
    _add("dr_zhao", "--all-specialties")

    specialist = Reviewer.objects.get(user__username="dr_zhao")
    assert services.assignment_claim_next(reviewer=specialist) is None
    general = Reviewer.objects.get(user__username="dr_li")
    claimed = services.assignment_claim_next(reviewer=general)
    assert claimed is not None and claimed.response.question.specialty is None


def test_reviewer_page_opens_for_new_account(plain_http):
    build.specialty("oncology")
    output = _add("dr_sun", "--specialty", "oncology", "--general")
    client = Client()
    assert client.login(username="dr_sun", password=_password(output))
    page = client.get("/review/")
    assert page.status_code == 200


def test_unknown_specialty_names_code_and_valid_codes():
    build.specialty("neurology")
    with pytest.raises(CommandError) as error, translation.override("zh-hans"):
        call_command("add_reviewer", "dr_qian", "--specialty", "heart")
    message = str(error.value)
    assert "heart" in message
    assert "neurology" in message
    assert not get_user_model().objects.filter(username="dr_qian").exists()


def test_reviewer_without_any_specialty_is_refused():
    with pytest.raises(CommandError) as error, translation.override("en"):
        call_command("add_reviewer", "dr_zhou")
    assert "--general" in str(error.value)
    assert not get_user_model().objects.filter(username="dr_zhou").exists()


def test_update_keeps_password_and_adds_roles():
    build.specialty("dermatology")
    first = _add("dr_wu", "--specialty", "dermatology")
    password = _password(first)
    second = _add("dr_wu", "--general", "--role", roles.ADJUDICATOR, language="en")

    assert "Updated dr_wu" in second
    assert "Password" not in second
    assert authenticate(username="dr_wu", password=password) is not None
    user = get_user_model().objects.get(username="dr_wu")
    assert set(user.groups.values_list("name", flat=True)) == {roles.REVIEWER, roles.ADJUDICATOR}
    assert user.reviewer.is_general
    assert list(user.reviewer.specialties.values_list("code", flat=True)) == ["dermatology"]


def test_password_from_stdin_is_used_and_not_printed():
    build.specialty("endocrinology")
    chosen = "Kx7-qv2m-Lp9z"
    output = _add("dr_zheng", "--specialty", "endocrinology", "--password-stdin", stdin=chosen)
    assert chosen not in output
    assert authenticate(username="dr_zheng", password=chosen) is not None


def test_weak_password_is_refused_with_reason(settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}
    ]
    build.specialty("endocrinology")
    with pytest.raises(CommandError) as error:
        _add(
            "dr_feng",
            "--specialty",
            "endocrinology",
            "--password-stdin",
            stdin="abc",
            language="en",
        )
    assert "too short" in str(error.value)
    assert not get_user_model().objects.filter(username="dr_feng").exists()


def test_deactivate_stops_new_responses(plain_http):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question(specialty_code=None))
    services.assignments_create_for_run(run_id=run.pk)
    password = _password(_add("dr_chen", "--general"))
    output = _add("dr_chen", "--deactivate")

    reviewer = Reviewer.objects.get(user__username="dr_chen")
    assert not reviewer.is_active
    assert reviewer.is_general
    assert reviewer.pseudonym in output
    client = Client()
    assert client.login(username="dr_chen", password=password)
    page = client.get("/review/")
    assert page.status_code == 200
    assert not reviewer.assignments.exists()


def test_specialist_hint_counts_unspecialised_slots(plain_http):
    run = build.run(reviews_per_response=2)
    build.response(run, build.question(specialty_code=None))
    services.assignments_create_for_run(run_id=run.pk)
    build.specialty("oncology")
    password = _password(_add("dr_he", "--specialty", "oncology"))
    client = Client()
    client.login(username="dr_he", password=password)

    page = client.get("/review/").content.decode()
    assert 'id="waiting-without-specialty"' in page
    assert "2 条没有专科的题目的模型回答正在等待审核" in page
    assert 'id="no-scope"' not in page


def test_general_reviewer_gets_no_scope_hint(plain_http):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question(specialty_code=None))
    services.assignments_create_for_run(run_id=run.pk)
    password = _password(_add("dr_ma", "--general"))
    client = Client()
    client.login(username="dr_ma", password=password)
    client.get("/review/")  # claims the one slot
    other = Client()
    _add("dr_lu", "--general")
    user = get_user_model().objects.get(username="dr_lu")
    user.set_password("pw-dr-lu-42")
    user.save()
    other.login(username="dr_lu", password="pw-dr-lu-42")

    page = other.get("/review/").content.decode()
    assert 'id="nothing-waiting"' in page
    assert 'id="waiting-without-specialty"' not in page


def test_reviewer_without_scope_told_why(plain_http, make_user):
    reviewer = build.reviewer(make_user, "dr_gao", specialty_codes=())
    client = Client()
    client.force_login(reviewer.user)
    client.cookies["django_language"] = "en"

    page = client.get("/review/").content.decode()
    assert 'id="no-scope"' in page
    assert "names no specialty" in page

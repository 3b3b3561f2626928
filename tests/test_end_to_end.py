"""The whole validation loop on real exam questions, through the public commands and pages.

Import the XMedBench CMB sample, answer part of it through a loopback
OpenAI-compatible server, let three reviewers judge every answer through
/review/, compute agreement and export the reviewed items.
"""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from medexam import roles
from medexam.models import ModelResponse, Question, Specialty
from review.models import Assignment, Review, Reviewer
from tests.seeding import seed_migration_rows
from tests.shared_data import SHARED_DATA

CMB_SINGLE = SHARED_DATA / "xmedbench-zh" / "test" / "cmb-single.jsonl"
ANSWERED = 12

pytestmark = pytest.mark.skipif(not CMB_SINGLE.exists(), reason=f"{CMB_SINGLE} is absent")


def _call(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()




def _review_everything(client, user) -> int:
    """Review every item /review/ hands this user; return how many were submitted."""
    client.force_login(user)
    submitted = 0
    for _attempt in range(ANSWERED + 1):
        response = client.get(reverse("review:next"))
        if response.status_code != 302:
            break
        item_url = response["Location"]
        assert item_url.startswith("/review/")
        page = client.get(item_url).content.decode()
        assert "mock-e2e" not in page
        # Reviewers split on the same items, so agreement has something to measure.
        verdict = "correct" if (submitted + user.pk) % 3 else "incorrect"
        client.post(item_url, {"action": "first_verdict", "verdict": verdict})
        done = client.post(
            item_url,
            {
                "action": "submit",
                "verdict": verdict,
                "rating_factual": "4",
                "rating_reasoning": str(3 + submitted % 3),
                "rating_safety": "5",
                "comment": "",
            },
        )
        assert done.status_code == 302
        submitted += 1
    return submitted


@pytest.mark.django_db(transaction=True)
def test_validation_loop_on_real_questions(
    client, make_user, openai_server, eager, tmp_path, plain_http
):
    # The export applies the standard rule set, which an earlier transactional test may flush.
    seed_migration_rows()
    imported = _call("import_questions", str(CMB_SINGLE))
    assert Question.objects.count() == 1997
    assert "1997" in imported

    _call(
        "add_model",
        "--name",
        "mock-e2e",
        "--base-url",
        openai_server.base_url,
        "--served-model-id",
        "mock-medexam-1",
    )
    _call("run_evaluation", "--model", "mock-e2e", "--limit", str(ANSWERED), "--wait")

    responses = ModelResponse.objects.all()
    assert responses.count() == ANSWERED
    assert all(response.state == "done" for response in responses)
    assert all(response.extraction_status for response in responses)
    assert Assignment.objects.count() == ANSWERED * 3

    reviewers = []
    for name in ("doctor-a", "doctor-b", "doctor-c"):
        user = make_user(name)
        user.groups.add(Group.objects.get_or_create(name=roles.REVIEWER)[0])
        reviewer = Reviewer.objects.create(user=user, is_general=True)
        reviewer.specialties.set(Specialty.objects.all())
        reviewers.append(user)
    for user in reviewers:
        assert _review_everything(client, user) == ANSWERED
    assert Review.objects.count() == ANSWERED * 3

    report = json.loads(_call("agreement", "--json"))
    verdict = report["overall"]["dimensions"]["verdict"]
    assert verdict["coders"] == 3
    assert verdict["pairable_units"] == ANSWERED
    assert isinstance(verdict["alpha"]["value"], float)

    output = tmp_path / "reviewed.jsonl"
    _call("export_dataset", "--format", "jsonl", "--output", str(output))
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    reviewed = [record for record in records if record["review_summary"]]
    assert len(reviewed) == ANSWERED
    assert all(set(record) >= {"stem", "options", "answer", "validity"} for record in reviewed)

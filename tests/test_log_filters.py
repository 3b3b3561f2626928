"""One log line, without a traceback, for a request denied for a missing role."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DENIED_REQUEST = """
from django.contrib.auth import get_user_model
from django.test import Client

user, _created = get_user_model().objects.get_or_create(username="no-role-console")
client = Client()
client.force_login(user)
print("status", client.get("/review/", HTTP_HOST="127.0.0.1").status_code)
"""


@pytest.mark.django_db
def test_denied_request_logged_without_traceback(client, make_user, caplog):
    client.force_login(make_user("no-role-user"))

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/review/")

    records = [r for r in caplog.records if r.name == "django.request"]
    assert response.status_code == 403
    assert len(records) == 1
    assert records[0].getMessage() == "permission denied path=/review/ status=403"
    assert records[0].exc_info is None


@pytest.mark.django_db(transaction=True)
def test_denied_request_prints_one_console_line():
    from django.db import connection

    database = connection.settings_dict
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        # Django's own console handler is active only with DEBUG on.
        DJANGO_DEBUG="1",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
    )
    env.pop("DJANGO_LOG_LEVEL", None)

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", DENIED_REQUEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "status 403" in result.stdout
    assert result.stderr.count("/review/") == 1, result.stderr
    assert "permission denied path=/review/ status=403" in result.stderr
    assert "Traceback" not in result.stderr

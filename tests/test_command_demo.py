"""The README's first command, `manage.py demo`, in a fresh process on a SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COUNTS = (
    "SELECT (SELECT COUNT(*) FROM medexam_question),"
    " (SELECT COUNT(*) FROM medexam_modelresponse),"
    " (SELECT COUNT(*) FROM review_assignment)"
)


def _run_demo(database: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    # Eager Celery as on a fresh machine, and a SQLite file of the test's own.
    env["DATABASE_URL"] = f"sqlite:///{database}"
    env["DJANGO_SECRET_KEY"] = "demo-test"
    return subprocess.run(
        [sys.executable, "manage.py", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_runs_twice_quietly(tmp_path):
    database = tmp_path / "demo.sqlite3"
    first = _run_demo(database)
    assert first.returncode == 0, first.stderr
    output = first.stdout + first.stderr
    # Chinese by default, with no log lines or broker warnings between the steps.
    assert "准备就绪" in output
    assert "WARNING" not in output
    assert "Traceback" not in output
    for account in ("curator", "coordinator", "adjudicator", "reviewer1", "reviewer3"):
        assert f"  {account} " in first.stdout
    assert "http://127.0.0.1:8000/review/" in first.stdout

    # 21 questions, each answered by two baselines, each answer sent to three reviewers.
    with sqlite3.connect(database) as db:
        assert db.execute(COUNTS).fetchone() == (21, 42, 126)

    # Running it again keeps what is stored and adds nothing.
    second = _run_demo(database)
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(database) as db:
        assert db.execute(COUNTS).fetchone() == (21, 42, 126)

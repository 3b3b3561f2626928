"""Log level of management commands run from manage.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medexam.command_logging import command_log_level

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["manage.py", "import_questions", "bank.jsonl"], "WARNING"),
        (["manage.py", "import_questions", "bank.jsonl", "-v", "0"], "WARNING"),
        (["manage.py", "import_questions", "bank.jsonl", "-v", "2"], "INFO"),
        (["manage.py", "report", "-v2", "--output", "out"], "INFO"),
        (["manage.py", "report", "--verbosity=3"], "DEBUG"),
        (["manage.py", "export_dataset", "--version", "bank:1", "-v", "2"], "INFO"),
        (["manage.py", "report", "-v", "loud"], "WARNING"),
        (["manage.py", "report", "-v"], "WARNING"),
        (["manage.py", "runserver", "-v", "0"], None),
        (["manage.py", "--help"], None),
        (["manage.py"], None),
    ],
)
def test_command_log_level_table(argv, level):
    assert command_log_level(argv) == level


def _import_dry_run(tmp_path: Path, *arguments: str, log_level: str | None = None):
    from django.db import connection

    path = tmp_path / "bank.jsonl"
    record = {"stem": "题一", "options": {"A": "x", "B": "y"}, "answer": "A"}
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")

    database = connection.settings_dict
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
    )
    env.pop("DJANGO_LOG_LEVEL", None)
    if log_level:
        env["DJANGO_LOG_LEVEL"] = log_level
    return subprocess.run(
        [sys.executable, "manage.py", "import_questions", str(path), "--dry-run", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_command_prints_no_info_logs(tmp_path):
    result = _import_dry_run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "将新建 1" in result.stdout
    assert " INFO " not in result.stderr


@pytest.mark.django_db(transaction=True)
def test_command_logs_info_at_verbosity_2(tmp_path):
    result = _import_dry_run(tmp_path, "-v", "2")
    assert result.returncode == 0, result.stderr
    assert " INFO medexam.services.imports import job" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_command_log_level_from_environment(tmp_path):
    result = _import_dry_run(tmp_path, log_level="INFO")
    assert result.returncode == 0, result.stderr
    assert " INFO medexam.services.imports import job" in result.stderr

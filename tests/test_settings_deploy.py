"""Production settings: manage.py check --deploy passes, secrets come from *_FILE, unprinted."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_check(tmp_path, **extra):
    key = secrets.token_urlsafe(64)
    key_file = tmp_path / "secret_key"
    key_file.write_text(key + "\n")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": "postgres://medexam@127.0.0.1:5432/medexam_deploy_check",
        "DJANGO_SECRET_KEY_FILE": str(key_file),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "medexam.example.org",
        "DJANGO_LOG_LEVEL": "DEBUG",
        **extra,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, key


@pytest.fixture(scope="module")
def production_check(tmp_path_factory):
    return run_check(tmp_path_factory.mktemp("deploy"))


def test_check_deploy_passes(production_check):
    result, _key = production_check
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_does_not_print_key(production_check):
    result, key = production_check
    assert key not in result.stdout + result.stderr


def test_debug_on_fails_deploy_check(tmp_path):
    result, _key = run_check(tmp_path, DJANGO_DEBUG="true")
    assert result.returncode != 0

"""Shared fixtures. Tests run against the database named by DATABASE_URL
(PostgreSQL in CI) and, where delivery matters, the Redis in CELERY_BROKER_URL."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import make_password
from django.test import override_settings
from django.utils import translation


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # PBKDF2 at production strength costs ~0.3 s per log-in; tests log in often.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language():
    # A request through the test client activates the page's language in this
    # thread and leaves it active, as a server does between requests. Each test
    # starts from the default, as a new management command or worker does.
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(scope="session", autouse=True)
def _empty_static_root(tmp_path_factory):
    # Session-wide too: live_server builds its middleware, WhiteNoise included,
    # once per session, before any per-test settings fixture runs.
    root = tmp_path_factory.mktemp("staticfiles")
    with override_settings(STATIC_ROOT=str(root)):
        yield root


@pytest.fixture(autouse=True)
def _plain_http_and_static(settings, _empty_static_root):
    # With DATABASE_URL set the settings are production's: HTTPS redirects and
    # hashed static files that only exist after collectstatic. The test client
    # speaks plain HTTP and serves static files from the apps; an empty
    # STATIC_ROOT keeps WhiteNoise from warning that the directory is missing.
    settings.SECURE_SSL_REDIRECT = False
    settings.STATIC_ROOT = str(_empty_static_root)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def make_user(django_user_model):
    def _make(username: str, *, password: str = "pw-for-tests", **extra):
        return django_user_model.objects.create(
            username=username, password=make_password(password), **extra
        )

    return _make


@pytest.fixture
def openai_server():
    """A loopback OpenAI-compatible server (tests.openai_server) with no latency."""
    from tests.openai_server import serve

    with serve() as server:
        yield server


@pytest.fixture
def unused_port():
    """A loopback port this test bound and released, so connecting to it is refused."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def plain_http(settings):
    """Serve pages over plain HTTP with static files from the apps, as the embedded default does.

    With DATABASE_URL set, settings choose HTTPS and the collected-static
    manifest, which a test run has not built.
    """
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def eager(settings):
    """Run Celery tasks in the calling process for this test."""
    from medexam.celery import app

    # Celery keeps its own copy of an overridden value, so set it back by hand.
    original = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = original


@pytest.fixture
def celery_worker_process():
    """A real Celery worker (solo pool) on CELERY_BROKER_URL and this test's database."""
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from django.db import connection

    database = connection.settings_dict
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
    )
    # The log goes to a file: an unread pipe would block a worker that logs a lot.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "medexam",
            "worker",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    log.close()

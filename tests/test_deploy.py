"""The deployment's own commands, run on loopback as its containers would run them.

No container engine runs here, so the image is not built. Instead each service
of deploy/docker-compose.yml is started from its `command:` line with the
environment the compose file gives it (addresses swapped for this machine's
PostgreSQL and Redis), after the Dockerfile's collectstatic step. A command, a
setting or a dependency that only production uses fails here first.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection

from medexam.models import EvaluationRun, ModelResponse
from tests.seeding import seed_migration_rows

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))



def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command(service: str, **replace: str) -> list[str]:
    """The service's compose command, run with this interpreter instead of the image's."""
    program, *args = [replace.get(arg, arg) for arg in COMPOSE["services"][service]["command"]]
    if program == "python":
        return [sys.executable, *args]
    return [sys.executable, "-m", program, *args]


def _environment(service: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    compose_env = COMPOSE["services"][service].get("environment") or COMPOSE["x-app"]["environment"]
    database = connection.settings_dict
    local = {
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SECRET_KEY": "deploy-test-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
    }
    # Every variable the compose file sets gets a local value; none is dropped.
    unknown = set(compose_env) - set(local) - {"MEDEXAM_WORKER_METRICS_PORT"}
    assert not unknown, f"compose sets {sorted(unknown)}; give them local values here"
    (tmp_path / "metrics").mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(local)
    env.update(extra)
    return env


def _get(url: str, **headers: str) -> tuple[int, bytes]:
    """GET without following redirects, so a redirect to HTTPS is seen as one."""
    parts = urllib.parse.urlsplit(url)
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        client.request("GET", parts.path, headers={"Host": "127.0.0.1", **headers})
        response = client.getresponse()
        return response.status, response.read()
    finally:
        client.close()


def _wait_for(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args} exited with {process.returncode}:\n{log.read_text()}")
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"nothing answered at {url} within {timeout_s} s:\n{log.read_text()}")


def _start(
    service: str, tmp_path: Path, replace: dict[str, str] | None = None, **extra: str
) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{service}.log"
    with log.open("w") as handle:
        process = subprocess.Popen(  # noqa: S603 - the project's own commands
            _command(service, **(replace or {})),
            cwd=ROOT,
            env=_environment(service, tmp_path, **extra),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    return process, log


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _manage(tmp_path: Path, *args: str) -> str:
    """Run a management command as an operator would in the web container."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_environment("web", tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set")
@pytest.mark.django_db(transaction=True)
def test_compose_services_start_and_answer(tmp_path, openai_server):
    seed_migration_rows()
    # The Dockerfile builds the static manifest with a database it never reaches.
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=dict(
            _environment("web", tmp_path),
            DATABASE_URL="postgres://build@localhost/build",
            DJANGO_SECRET_KEY="build",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collect.returncode == 0, collect.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()

    migrate = subprocess.run(
        _command("migrate"),
        cwd=ROOT,
        env=_environment("migrate", tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr

    web_port, worker_metrics_port, flower_port = _free_port(), _free_port(), _free_port()
    started = []
    try:
        web, web_log = _start(
            "web", tmp_path, GUNICORN_BIND=f"127.0.0.1:{web_port}", GUNICORN_WORKERS="2"
        )
        started.append(web)
        worker, worker_log = _start(
            "worker", tmp_path, MEDEXAM_WORKER_METRICS_PORT=str(worker_metrics_port)
        )
        started.append(worker)
        beat, beat_log = _start("beat", tmp_path)
        started.append(beat)
        # The compose file fixes Flower's port, so here it gets a free one instead.
        assert "--port=5555" in COMPOSE["services"]["flower"]["command"]
        flower, flower_log = _start(
            "flower", tmp_path, replace={"--port=5555": f"--port={flower_port}"}
        )
        started.append(flower)

        base = f"http://127.0.0.1:{web_port}"
        _wait_for(f"{base}/healthz", web, web_log)
        status, body = _get(f"{base}/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"] == {"database": "ok", "broker": "ok"}

        # Production settings: plain HTTP is redirected, HTTPS behind the proxy is served
        # with the hashed static files the manifest names.
        status, _ = _get(f"{base}/accounts/login/")
        assert status == 301
        status, page = _get(f"{base}/accounts/login/", **{"X-Forwarded-Proto": "https"})
        assert status == 200
        manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
        hashed = next(iter(manifest["paths"].values()))
        status, _ = _get(f"{base}/static/{hashed}", **{"X-Forwarded-Proto": "https"})
        assert status == 200

        # A short run goes through the broker to the worker and back to the database.
        _manage(tmp_path, "import_questions", str(ROOT / "medexam" / "sample" / "questions.jsonl"))
        _manage(
            tmp_path,
            "add_model",
            "--name",
            "deploy-check",
            "--base-url",
            openai_server.base_url,
            "--served-model-id",
            "mock-medexam-1",
        )
        _manage(tmp_path, "run_evaluation", "--model", "deploy-check", "--limit", "5", "--wait")
        run = EvaluationRun.objects.get(model__name="deploy-check")
        assert run.status == EvaluationRun.Status.COMPLETED
        assert run.responses.filter(state=ModelResponse.State.DONE).count() == 5

        _wait_for(f"http://127.0.0.1:{worker_metrics_port}/metrics", worker, worker_log)
        status, metrics = _get(f"http://127.0.0.1:{worker_metrics_port}/metrics")
        assert status == 200
        assert b"medexam_model_request_seconds_count" in metrics

        flower_url = f"http://127.0.0.1:{flower_port}/healthcheck"
        _wait_for(flower_url, flower, flower_log)
        status, body = _get(flower_url)
        assert (status, body) == (200, b"OK")

        # Beat keeps running and has loaded the sweep schedule.
        time.sleep(2)
        assert beat.poll() is None, beat_log.read_text()
        assert "beat: Starting" in beat_log.read_text()
    finally:
        for process in started:
            _stop(process)


def _kubernetes_containers() -> dict[str, dict]:
    """Map each container of deploy/k8s to its spec, by container name."""
    containers = {}
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not document or document["kind"] not in {"Deployment", "StatefulSet"}:
                continue
            pod = document["spec"]["template"]["spec"]
            for container in pod.get("initContainers", []) + pod["containers"]:
                containers[container["name"]] = container
    return containers


def test_kubernetes_runs_the_compose_commands():
    # The compose commands run in the test above; the manifests must run the same ones.
    compose_commands = {
        tuple(service["command"])
        for name, service in COMPOSE["services"].items()
        if name in {"migrate", "web", "worker", "beat"}
    }
    containers = _kubernetes_containers()
    manifest_commands = {
        tuple(container["command"])
        for container in containers.values()
        if container.get("image", "").startswith("medexam")
    }
    assert manifest_commands == compose_commands


def test_kubernetes_sets_the_compose_environment():
    documents = yaml.safe_load_all(
        (ROOT / "deploy" / "k8s" / "config.yaml").read_text(encoding="utf-8")
    )
    names: set[str] = set()
    for document in documents:
        names |= set(document.get("data") or {}) | set(document.get("stringData") or {})
    compose_names = set(COMPOSE["x-app"]["environment"])
    assert compose_names - names == set()

    for container in _kubernetes_containers().values():
        if container.get("image", "").startswith("medexam"):
            sources = {next(iter(source)) for source in container["envFrom"]}
            assert sources == {"configMapRef", "secretRef"}

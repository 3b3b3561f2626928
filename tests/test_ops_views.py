"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("plain_http")


def test_healthz_ok(client):
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_readyz_checks_database_and_broker(client):
    data = client.get("/readyz").json()

    assert data["checks"]["database"] == "ok"
    assert data["ready"] is True


@pytest.mark.django_db
def test_readyz_reports_unreachable_broker(client, settings, unused_port):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{unused_port}/0"

    reply = client.get("/readyz")

    assert reply.status_code == 503
    assert reply.json()["checks"]["broker"].startswith("failed")


def test_metrics_lists_model_metrics(client):
    body = client.get("/metrics").content.decode()

    assert "medexam_model_request_seconds" in body
    assert "medexam_model_requests_in_flight" in body

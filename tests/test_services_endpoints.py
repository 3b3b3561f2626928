"""Endpoint connection test against a loopback server speaking the OpenAI chat protocol."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from medexam.models import Endpoint, LanguageModel
from medexam.services.endpoints import endpoint_test_connection

pytestmark = pytest.mark.django_db

SECRET = "sk-test-must-never-appear"


class ChatHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the name http.server dispatches to
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length))
        if self.headers.get("Authorization") != f"Bearer {SECRET}":
            self._reply(401, {"error": {"message": "invalid api key", "type": "auth"}})
            return
        self._reply(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": request["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "A"},
                        "finish_reason": "length",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def make_endpoint(base_url):
    model = LanguageModel.objects.create(name="tiny")
    return Endpoint.objects.create(
        model=model,
        name="tiny-ep",
        base_url=base_url,
        served_model_id="tiny-1",
        api_key_env="MEDEXAM_TINY_KEY",
    )


def test_connection_reports_latency(chat_server, monkeypatch):
    monkeypatch.setenv("MEDEXAM_TINY_KEY", SECRET)
    result = endpoint_test_connection(endpoint_id=make_endpoint(chat_server).pk)
    assert result.ok
    assert "tiny-1" in result.message


def test_connection_reports_http_error(chat_server, monkeypatch):
    monkeypatch.setenv("MEDEXAM_TINY_KEY", "sk-wrong")
    result = endpoint_test_connection(endpoint_id=make_endpoint(chat_server).pk)
    assert not result.ok
    assert "401" in result.message


def test_connection_missing_key_variable(chat_server, monkeypatch):
    monkeypatch.delenv("MEDEXAM_TINY_KEY", raising=False)
    result = endpoint_test_connection(endpoint_id=make_endpoint(chat_server).pk)
    assert "MEDEXAM_TINY_KEY" in result.message


def test_secret_never_logged(chat_server, monkeypatch, caplog):
    monkeypatch.setenv("MEDEXAM_TINY_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    endpoint_test_connection(endpoint_id=make_endpoint(chat_server).pk)
    monkeypatch.setenv("MEDEXAM_TINY_KEY", SECRET + "-bad")
    endpoint_test_connection(endpoint_id=Endpoint.objects.get().pk)
    assert caplog.records
    assert SECRET not in caplog.text

"""Failure texts of requests, responses and runs, in words a curator can act on.

Workers store these texts in English (ModelResponse.error,
EvaluationRun.error_message, Endpoint.disabled_reason), so logs, the API and
exports read the same everywhere. Pages and commands show them through
failure_text_display, which rebuilds the texts written here in the active
language and leaves any other text (a server's own message) as it was.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _


def endpoint_stop_text(
    *,
    name: str,
    base_url: str,
    served_model_id: str,
    api_key_env: str,
    decoding: dict[str, Any],
    http_status: int,
    server_message: str,
) -> str:
    """Explain, in the active language, why an endpoint that returned http_status was stopped."""
    values = {
        "name": name,
        "base_url": base_url,
        "status": http_status,
        "model": served_model_id,
        "key": api_key_env or "(none)",
        "decoding": decoding,
        "server": server_message,
    }
    if http_status in (401, 403):
        return (
            _(
                "Endpoint %(name)s (%(base_url)s) rejected the API key (HTTP %(status)s). Set the "
                "environment variable %(key)s on every worker to a valid key, or change the "
                "endpoint's API key variable."
            )
            % values
            + " "
            + _("Server message: %(server)s") % values
        )
    if http_status == 404:
        base = base_url.rstrip("/")
        if not base.endswith("/v1"):
            fix = _(
                "The base URL does not end in /v1, but OpenAI-compatible servers (vLLM, SGLang, "
                "Ollama, TGI) answer at %(suggested)s/chat/completions. Register the endpoint "
                "again with add_model --base-url %(suggested)s."
            ) % {"suggested": base + "/v1"}
        else:
            fix = _(
                "The server does not serve a model with the id %(model)s. Open %(models_url)s "
                "to see the ids it serves, and register one of them with add_model "
                "--served-model-id."
            ) % {"model": served_model_id, "models_url": base + "/models"}
        return (
            _("Endpoint %(name)s (%(base_url)s) answered HTTP 404 (Not Found) for model %(model)s.")
            % values
            + " "
            + fix
            + " "
            + _("Server message: %(server)s") % values
        )
    return (
        _(
            "Endpoint %(name)s (%(base_url)s) rejected the request as invalid (HTTP %(status)s). "
            "Check the decoding parameters %(decoding)s and max_tokens against the server's "
            "limits."
        )
        % values
        + " "
        + _("Server message: %(server)s") % values
    )


# English forms of the fixed texts workers store, and how to rebuild each.
_STOP = re.compile(r"^Endpoint (?P<name>.+?) \((?P<base_url>\S+)\) .*?HTTP (?P<status>\d{3})", re.S)
_SERVER_MESSAGE = re.compile(r"Server message: (?P<server>.*)\Z", re.S)
_DECODING = re.compile(r"decoding parameters (?P<decoding>\{.*?\}) and max_tokens", re.S)
_MODEL = re.compile(r"\(Not Found\) for model (?P<model>.+?)\. ", re.S)
_KEY = re.compile(r"environment variable (?P<key>\S+) on every worker")
_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^request timed out$"), lambda m: _("request timed out")),
    (
        re.compile(r"^connection failed: (?P<error>.*)$", re.S),
        lambda m: _("connection failed: %(error)s") % m.groupdict(),
    ),
    (
        re.compile(r"^cancelled before it was sent$"),
        lambda m: _("cancelled before it was sent"),
    ),
    (
        re.compile(r"^the reply contained no choices$"),
        lambda m: _("the reply contained no choices"),
    ),
    (
        re.compile(r"^stream broke after (?P<chunks>\d+) chunks: (?P<error>.*)$", re.S),
        lambda m: _("stream broke after %(chunks)s chunks: %(error)s") % m.groupdict(),
    ),
    (
        re.compile(r"^stream ended after (?P<chunks>\d+) chunks without a finish_reason$"),
        lambda m: _("stream ended after %(chunks)s chunks without a finish_reason") % m.groupdict(),
    ),
    (
        re.compile(r"^no attempts left: (?P<made>\d+) made, MODEL_MAX_ATTEMPTS is (?P<max>\d+)$"),
        lambda m: (
            _("no attempts left: %(made)s made, MODEL_MAX_ATTEMPTS is %(max)s") % m.groupdict()
        ),
    ),
]


def english(function, *args, **kwargs) -> str:
    """Call a text builder of this module with English active, for storing its result."""
    with translation.override("en"):
        return str(function(*args, **kwargs))


def failure_text_display(text: str) -> str:
    """Return a stored failure text in the active language.

    Texts written by this module and the workers are rebuilt from the values
    they contain; anything else (a server's own message) is returned unchanged.
    """
    if not text:
        return text
    for pattern, rebuild in _PATTERNS:
        match = pattern.match(text)
        if match:
            return rebuild(match)

    stop = _STOP.match(text)
    if stop is None:
        return text
    server = _SERVER_MESSAGE.search(text)
    model = _MODEL.search(text)
    key = _KEY.search(text)
    decoding = _DECODING.search(text)
    return endpoint_stop_text(
        name=stop["name"],
        base_url=stop["base_url"],
        served_model_id=model["model"] if model else "",
        api_key_env=key["key"] if key else "",
        decoding=decoding["decoding"] if decoding else {},
        http_status=int(stop["status"]),
        server_message=server["server"] if server else "",
    )

"""A loopback HTTP server that speaks the OpenAI chat-completions protocol.

Tests and the generation benchmark use it in place of a GPU-backed server
(vLLM, SGLang, Ollama). It serves POST /v1/chat/completions, streaming (SSE)
and not, and GET /v1/models. Each request waits `latency_ms` while holding
one of `slots` concurrency slots, so requests beyond `slots` queue exactly as
on a saturated inference server.

The reply names one option letter, chosen deterministically. A marker
`[answer:X]` in the prompt forces X. Otherwise `choose_letter` picks the letter
by hashing the last user message over the option letters found in it.

Faults are scripted by a marker `[fault:NAME]` in the prompt (every request
with that prompt fails), by `[fault:NAME*N]` (only the first N requests with
that prompt fail), or by `ServerState.queue_faults` (the next requests,
whatever their prompt). Fault names are in FAULTS.

GET /stats returns the counters as JSON, so a server started as a separate
process can be inspected too.

Command line, to try generation without a GPU:

    python -m tests.openai_server --port 8001 --latency-ms 200 --slots 64

The module depends only on aiohttp and the standard library.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web

DEFAULT_MODEL_ID = "mock-medexam-1"

FAULTS = (
    "429",  # rate limited, with a Retry-After header
    "500",  # internal server error
    "400",  # bad request
    "401",  # authentication failed
    "404",  # model not found
    "hang",  # never replies; the client's timeout must fire
    "stream_cut",  # a stream that closes mid-answer without [DONE]
    "usage_null",  # a reply whose usage field is null
    "reasoning_only",  # reasoning_content only, empty content, finish_reason "length"
    "think",  # content with a <think>...</think> block before the answer
    "think_unopened",  # reasoning that ends with </think> but never opened one
)

_FAULT_MARKER = re.compile(r"\[fault:([a-z_0-9]+)(?:\*(\d+))?\]")
_ANSWER_MARKER = re.compile(r"\[answer:([A-H]+)\]")
_OPTION_LINE = re.compile(r"^\s*([A-H])\s*[.．、:：)]", re.MULTILINE)


def choose_letter(prompt: str) -> str:
    """Return the letter(s) the server answers for prompt.

    An `[answer:X]` marker wins. Otherwise one of the option letters that start
    a line of the prompt ("A. ...", "B、..."), or of "ABCDE" when none do, is
    picked by the SHA-256 of the prompt.
    """
    forced = _ANSWER_MARKER.search(prompt)
    if forced:
        return forced.group(1)
    letters = sorted(set(_OPTION_LINE.findall(prompt))) or list("ABCDE")
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    return letters[digest[0] % len(letters)]


@dataclass
class ServerState:
    """Configuration and counters of one server; safe to read from other threads."""

    latency_ms: float = 0.0
    slots: int = 64
    model_id: str = DEFAULT_MODEL_ID
    api_key: str | None = None
    retry_after_s: float = 1.0
    hang_s: float = 3600.0
    received: int = 0
    served: int = 0
    faulted: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    fault_counts: collections.Counter[str] = field(default_factory=collections.Counter)
    _queued: collections.deque[str] = field(default_factory=collections.deque)
    _marker_hits: collections.Counter[str] = field(default_factory=collections.Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def queue_faults(self, *names: str) -> None:
        """Make the next len(names) requests fail with these faults, in order."""
        for name in names:
            if name not in FAULTS:
                raise ValueError(f"unknown fault {name!r}; choose one of {', '.join(FAULTS)}")
        with self._lock:
            self._queued.extend(names)

    def pick_fault(self, prompt: str) -> str | None:
        with self._lock:
            if self._queued:
                return self._queued.popleft()
            marker = _FAULT_MARKER.search(prompt)
            if not marker:
                return None
            name, limit = marker.group(1), marker.group(2)
            key = hashlib.sha256(prompt.encode("utf-8")).hexdigest()
            self._marker_hits[key] += 1
            if limit is not None and self._marker_hits[key] > int(limit):
                return None
            return name

    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "received": self.received,
                "served": self.served,
                "faulted": self.faulted,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "faults": dict(self.fault_counts),
                "slots": self.slots,
                "latency_ms": self.latency_ms,
            }


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None):
    body = {"error": {"message": message, "type": kind, "code": status}}
    return web.json_response(body, status=status, headers=headers)


def _prompt_of(payload: dict) -> str:
    messages = payload.get("messages") or []
    users = [m.get("content") or "" for m in messages if m.get("role") == "user"]
    return users[-1] if users else ""


def _reply_parts(fault: str | None, letter: str) -> tuple[str, str, str]:
    """Return (content, reasoning_content, finish_reason) for a successful reply."""
    answer = f"根据题干分析，正确答案：{letter}"
    if fault == "think":
        return f"<think>先排除明显错误的选项，再比较余下的。</think>\n{answer}", "", "stop"
    if fault == "think_unopened":
        return f"先排除明显错误的选项。\n</think>\n{answer}", "", "stop"
    if fault == "reasoning_only":
        return "", "先逐项分析各个选项，这一推理过程很长，在给出答案之前", "length"
    return answer, "", "stop"


def _usage(prompt: str, content: str, reasoning: str) -> dict[str, int]:
    prompt_tokens = max(1, len(prompt) // 2)
    completion_tokens = max(1, (len(content) + len(reasoning)) // 2)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def build_app(state: ServerState) -> web.Application:
    """Build the aiohttp application serving the OpenAI routes for state."""
    slots = asyncio.Semaphore(state.slots)

    def _authorised(request: web.Request) -> bool:
        if state.api_key is None:
            return True
        return request.headers.get("Authorization", "") == f"Bearer {state.api_key}"

    async def models(request: web.Request) -> web.StreamResponse:
        if not _authorised(request):
            return _error(401, "Invalid API key.", "authentication_error")
        return web.json_response(
            {"object": "list", "data": [{"id": state.model_id, "object": "model"}]}
        )

    async def stats(request: web.Request) -> web.StreamResponse:
        return web.json_response(state.stats())

    async def chat(request: web.Request) -> web.StreamResponse:
        with state._lock:
            state.received += 1
        payload = await request.json()
        prompt = _prompt_of(payload)
        fault = state.pick_fault(prompt)

        async with slots:
            with state._lock:
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                return await _answer(request, payload, prompt, fault)
            finally:
                with state._lock:
                    state.in_flight -= 1

    async def _answer(request, payload, prompt, fault) -> web.StreamResponse:
        if fault is not None:
            with state._lock:
                state.fault_counts[fault] += 1
        if state.latency_ms:
            await asyncio.sleep(state.latency_ms / 1000)

        failure = _status_fault(request, payload, fault)
        if failure is not None:
            with state._lock:
                state.faulted += 1
            return failure
        if fault == "hang":
            await asyncio.sleep(state.hang_s)

        letter = choose_letter(prompt)
        content, reasoning, finish = _reply_parts(fault, letter)
        usage = None if fault == "usage_null" else _usage(prompt, content, reasoning)
        if payload.get("stream"):
            response = await _stream(request, payload, content, reasoning, finish, usage, fault)
        else:
            message: dict[str, object] = {"role": "assistant", "content": content}
            if reasoning:
                message["reasoning_content"] = reasoning
            response = web.json_response(
                {
                    "id": f"chatcmpl-{uuid.uuid4().hex}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": state.model_id,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                }
            )
        with state._lock:
            if fault == "stream_cut":
                state.faulted += 1
            else:
                state.served += 1
        return response

    def _status_fault(request, payload, fault) -> web.StreamResponse | None:
        if not _authorised(request) or fault == "401":
            return _error(401, "Invalid API key.", "authentication_error")
        if payload.get("model") != state.model_id or fault == "404":
            return _error(
                404, f"The model {payload.get('model')!r} does not exist.", "not_found_error"
            )
        if fault == "400":
            return _error(400, "Invalid request: messages malformed.", "invalid_request_error")
        if fault == "429":
            return _error(
                429,
                "Rate limit reached.",
                "rate_limit_error",
                headers={"Retry-After": f"{state.retry_after_s:g}"},
            )
        if fault == "500":
            return _error(500, "Internal server error.", "server_error")
        return None

    async def _stream(request, payload, content, reasoning, finish, usage, fault):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"

        def chunk(delta: dict, finish_reason: str | None = None, chunk_usage=None) -> bytes:
            body = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": state.model_id,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
                if delta is not None
                else [],
            }
            if chunk_usage is not None or delta is None:
                body["usage"] = chunk_usage
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()

        await response.write(chunk({"role": "assistant", "content": ""}))
        if reasoning:
            await response.write(chunk({"reasoning_content": reasoning}))
        pieces = [content[i : i + 8] for i in range(0, len(content), 8)]
        if fault == "stream_cut":
            # Send half the answer, then drop the connection without [DONE].
            for piece in pieces[: max(1, len(pieces) // 2)]:
                await response.write(chunk({"content": piece}))
            request.transport.close()
            return response
        for piece in pieces:
            await response.write(chunk({"content": piece}))
        await response.write(chunk({}, finish))
        if (payload.get("stream_options") or {}).get("include_usage"):
            await response.write(chunk(None, chunk_usage=usage))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/stats", stats)
    return app


class ThreadedServer:
    """The server on 127.0.0.1 in a background thread with its own event loop."""

    def __init__(self, state: ServerState, port: int = 0) -> None:
        self.state = state
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """URL ending in /v1, as OpenAI clients expect."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(timeout=10)

    async def _start(self) -> None:
        self._runner = web.AppRunner(
            build_app(self.state), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


@contextmanager
def serve(**config: object) -> Iterator[ThreadedServer]:
    """Run a server with ServerState(**config) on a free port for the with-block."""
    server = ThreadedServer(ServerState(**config))  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve a mock OpenAI-compatible chat-completions API on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=8001, help="TCP port (0 picks a free one)")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="delay per request, ms")
    parser.add_argument("--slots", type=int, default=64, help="requests served at once")
    parser.add_argument("--model-id", default=DEFAULT_MODEL_ID, help="the one model id served")
    parser.add_argument("--api-key", default=None, help="require this bearer token")
    args = parser.parse_args(argv)

    state = ServerState(
        latency_ms=args.latency_ms, slots=args.slots, model_id=args.model_id, api_key=args.api_key
    )

    async def run() -> None:
        runner = web.AppRunner(
            build_app(state), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=2048)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"Serving model {state.model_id!r} at http://127.0.0.1:{port}/v1", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

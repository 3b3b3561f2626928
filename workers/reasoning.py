"""Separation of a model's reasoning from its answer."""

from __future__ import annotations

import re

_THINK_OPEN = re.compile(r"^\s*<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)


def split_reasoning(content: str, reasoning_content: str = "") -> tuple[str, str]:
    """Split a reply into (answer_text, reasoning_text).

    reasoning_content (the field vLLM, SGLang and DeepSeek's API fill) is
    reasoning as sent. In content, everything up to the last closing
    </think> is reasoning too, even when the opening <think> is missing,
    because some chat templates put the opening tag in the prompt.
    """
    reasoning_parts = [reasoning_content] if reasoning_content else []
    answer = content or ""

    closings = list(_THINK_CLOSE.finditer(answer))
    if closings:
        last = closings[-1]
        reasoning_parts.append(_THINK_OPEN.sub("", answer[: last.start()]).strip())
        answer = answer[last.end() :]

    return answer.strip(), "\n\n".join(part for part in reasoning_parts if part)

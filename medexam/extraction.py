"""Answer extraction: turn a model's reply into the option letters it chose.

A pure, versioned function. Its result is stored with EXTRACTION_VERSION so
responses can be re-extracted from their raw text after a rule changes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

EXTRACTION_VERSION = "0.1"

NO_ANSWER = "no_answer"
AMBIGUOUS = "ambiguous"
INVALID = "invalid"
TRUNCATED = "truncated"
OK = "ok"


@dataclass(frozen=True)
class Extraction:
    letters: str
    status: str
    rule: str
    version: str = EXTRACTION_VERSION


_THINK_END = re.compile(r"</think>", re.IGNORECASE)
_ANSWER_CUE = re.compile(
    r"(?:答案|正确答案|故选|应选|选择|answer)\s*(?:是|为|:|：)?\s*([A-H](?:\s*[、,，和及]?\s*[A-H])*)(?![A-Za-z])",
    re.IGNORECASE,
)
_LONE_LETTERS = re.compile(r"^\s*\(?([A-H](?:\s*[、,，]?\s*[A-H])*)\)?\s*[.。]?\s*$")


def _strip_reasoning(text: str) -> str:
    parts = _THINK_END.split(text)
    return parts[-1]


def extract_answer(
    text: str, *, question_type: str, letters: str, finish_reason: str = ""
) -> Extraction:
    """Extract the chosen letters from text for a question offering letters.

    question_type is "single" or "multiple". A reply cut off by the length
    limit is TRUNCATED whatever it contains.
    """
    if finish_reason == "length":
        return Extraction("", TRUNCATED, "finish_reason_length")
    body = unicodedata.normalize("NFKC", _strip_reasoning(text or "")).strip()
    if not body:
        return Extraction("", NO_ANSWER, "empty")

    matches = list(_ANSWER_CUE.finditer(body))
    if matches:
        chosen, rule = matches[-1].group(1), "answer_cue"
    else:
        lone = _LONE_LETTERS.match(body)
        if not lone:
            return Extraction("", NO_ANSWER, "no_cue")
        chosen, rule = lone.group(1), "bare_letters"

    picked = "".join(sorted({c for c in chosen.upper() if c.isalpha()}))
    if any(letter not in letters for letter in picked):
        return Extraction(picked, INVALID, rule)
    if question_type == "single" and len(picked) > 1:
        return Extraction(picked, AMBIGUOUS, rule)
    return Extraction(picked, OK, rule)

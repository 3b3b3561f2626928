"""Answer extraction: turn a model's reply into the option letters it chose.

A pure, versioned function. Its result is stored with EXTRACTION_VERSION so
responses can be re-extracted from their raw text after a rule changes.

The rules, in the order they are tried on the reply with its reasoning removed:

1. an explicit answer cue ("答案：B", "故选C", "The answer is (B)", "\\boxed{B}"),
   the last one in the reply winning; a cue followed by an option's text
   ("答案：心房颤动") maps back to that option's letter;
2. a statement that an option is right ("只有选项C是对的", "option B is correct");
3. a reply that is only letters ("B", "(B)", "**B**"), or whose first line is a
   letter followed by that option's own text ("B. 心房颤动");
4. exactly one bold letter group in the reply ("我认为是 **B**").

Nothing else is read: a reply that none of these rules matches is NO_ANSWER,
and one that names two letters for a single-answer question is AMBIGUOUS.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

EXTRACTION_VERSION = "2.1"

OK = "ok"
NO_ANSWER = "no_answer"
AMBIGUOUS = "ambiguous"
INVALID = "invalid"
TRUNCATED = "truncated"


@dataclass(frozen=True)
class Extraction:
    letters: str
    status: str
    rule: str
    version: str = EXTRACTION_VERSION


@dataclass(frozen=True)
class _Candidate:
    letters: str
    rule: str
    alternatives: bool = False


_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.IGNORECASE | re.DOTALL)
_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_MARKUP = re.compile(r"\*\*|__|`")

# Longer cues come first because the regex alternation takes the first that matches.
_CUE = (
    r"(?:正确答案|最佳答案|最终答案|参考答案|答案|正确选项|最佳选项|最佳选择|正确的选项|正确的是"
    r"|故选|应选|当选|宜选|本题选|因此选|所以选|综上选|选择|应为|应是|答(?!案)|选(?![项择题])"
    r"|(?<![A-Za-z])(?i:final\s+answer|correct\s+answer|correct\s+option|best\s+answer"
    r"|answer\s+is|answer)(?![A-Za-z])"
    r"|\\boxed\{)"
)
_CONNECTOR = (
    r"\s*(?:应该|应当|应|就|也|最终)?\s*(?:是|为|选|选择|(?i:is|would\s+be|should\s+be))?"
    r"\s*[:：]?\s*(?:选项|(?i:options?))?\s*"
)
_SEPARATOR = r"\s*(?:[、,，/+与和及&]|(?i:and))?\s*"
_ALTERNATIVE = re.compile(r"或|(?i:\bor\b)")
_LETTER_RUN = (
    r"[(\[【]?\s*(?P<letters>[A-H](?:(?:"
    + _SEPARATOR
    + r"|\s*(?:或|(?i:or))\s*)[A-H])*)\s*[)\]】]?"
)
# What may not follow an answer letter: more Latin letters or digits make it a word
# ("CT", "B12"), a noun suffix makes it a term ("X线", "ACE抑制剂"), and a verdict
# against it makes it an option being ruled out ("A项错误", "A看似对").
_NOT_AFTER_LETTERS = (
    r"(?![A-Za-z0-9\-]|\s*(?:线|型|类|族|抑制|受体|酶|超|片)"
    r"|\s*(?:项|选项)?\s*(?:错|不|排除|看似|虽然|也|可能))"
)
_CUE_ONLY = re.compile(_CUE + _CONNECTOR)
_LETTERS_AT = re.compile(_LETTER_RUN + _NOT_AFTER_LETTERS)
_CLAUSE_BREAKS = frozenset("。.，,;；!！?？)）")
_VERDICT = r"(?:对的|正确|最佳|最合适|最恰当|符合题意|(?i:correct|right|the\s+best))"
_ASSERTIONS = (
    re.compile(
        r"(?:选项|(?<![A-Za-z])(?i:option)\s*)"
        + _LETTER_RUN
        + r"\s*(?:项)?\s*(?:是|为|(?i:is|are))?\s*"
        + _VERDICT
    ),
    re.compile(r"(?<![A-Za-z])" + _LETTER_RUN + r"\s*(?:项|选项)\s*(?:是|为)?\s*" + _VERDICT),
)
_BARE = re.compile(r"^\s*(?:选项|(?i:option)\s*)?" + _LETTER_RUN + r"\s*[.。:：]?\s*$")
_LEADING = re.compile(r"^\s*[(\[【]?(?P<letter>[A-H])[)\]】]?\s*[.、:：)]\s*(?P<rest>.+)$")
_BOLD = re.compile(r"\*\*\s*" + _LETTER_RUN + r"\s*[.。]?\s*\*\*")
_NONE_CORRECT = re.compile(
    r"(?:以上|所有|各)?选项(?:均|都|皆)(?:不正确|不对|错误)|以上(?:均|都|皆)(?:不正确|不对|错误|不是)"
    r"|没有正确(?:答案|选项)|无正确(?:答案|选项)|(?i:none\s+of\s+the\s+(?:options|above|choices))"
)
_TEXT_SPLIT = re.compile(r"\s*(?:[、,，/+]|和|及|与|(?i:\band\b))\s*")
_DECORATION = re.compile(r"[\s\"'“”‘’*]+")
_EDGE_PUNCTUATION = re.compile(r"^[。.，,、;；:：!！?？]+|[。.，,、;；:：!！?？]+$")


def extract_answer(
    text: str,
    *,
    question_type: str,
    letters: str,
    finish_reason: str = "",
    options: Mapping[str, str] | None = None,
) -> Extraction:
    """Extract the chosen letters from a reply to a question offering `letters`.

    question_type is "single" or "multiple"; options maps each letter to its
    text and lets an answer given as text map back to its letter. A reply cut
    off by the length limit is TRUNCATED whatever it contains, because its
    final answer may be missing.
    """
    if finish_reason == "length":
        return Extraction("", TRUNCATED, "finish_reason_length")

    body = _strip_reasoning(text or "")
    if body is None:
        return Extraction("", NO_ANSWER, "reasoning_only")
    body = unicodedata.normalize("NFKC", body).strip()
    if not body:
        return Extraction("", NO_ANSWER, "empty")

    normalised_options = {
        letter: unicodedata.normalize("NFKC", str(option_text))
        for letter, option_text in (options or {}).items()
    }
    candidate = _find_candidate(body, letters=letters, options=normalised_options)
    if candidate is None:
        if _NONE_CORRECT.search(body):
            return Extraction("", NO_ANSWER, "none_correct")
        return Extraction("", NO_ANSWER, "no_cue")
    return _judge(candidate, question_type=question_type, letters=letters)


def _strip_reasoning(text: str) -> str | None:
    """Remove <think> blocks and anything before a lone </think>.

    Returns None when the reply is all reasoning: an opened <think> never closed.
    """
    without_blocks = _THINK_BLOCK.sub(" ", text)
    parts = _THINK_CLOSE.split(without_blocks)
    tail = parts[-1]
    if _THINK_OPEN.search(tail):
        return None
    return tail


def _find_candidate(body: str, *, letters: str, options: dict[str, str]) -> _Candidate | None:
    cue = _last_cue(body, letters=letters, options=options)
    if cue is not None:
        return cue

    plain = _MARKUP.sub("", body)
    assertions = [
        match
        for pattern in _ASSERTIONS
        for match in pattern.finditer(plain)
        if _letters_group(match, letters) is not None
    ]
    if assertions:
        chosen = "".join(_letters_group(m, letters) or "" for m in assertions)
        return _Candidate(chosen, "option_assertion")

    bare = _BARE.match(plain)
    if bare and _letters_group(bare, letters) is not None:
        return _Candidate(
            _letters_group(bare, letters) or "", "bare_letters", _has_alternative(bare)
        )

    leading = _leading_letter(plain, options)
    if leading is not None:
        return leading

    bold = [m for m in _BOLD.finditer(body) if _letters_group(m, letters) is not None]
    if len({_letters_group(m, letters) for m in bold}) == 1:
        return _Candidate(_letters_group(bold[0], letters) or "", "bold_letters")
    return None


def _last_cue(body: str, *, letters: str, options: dict[str, str]) -> _Candidate | None:
    """Read the last answer cue in the reply that is followed by letters or an option's text."""
    plain = _MARKUP.sub("", body)
    last = None
    for cue in _CUE_ONLY.finditer(plain):
        candidate = _read_after_cue(plain, cue.end(), letters=letters, options=options)
        if candidate is not None:
            last = candidate
    return last


def _read_after_cue(
    plain: str, start: int, *, letters: str, options: dict[str, str]
) -> _Candidate | None:
    """Read what follows one cue: an option's own text first, then letters.

    Option text goes first because some options begin with a capital that is
    not an answer letter ("B细胞", "A组链球菌", "A+B").
    """
    line = plain[start:].split("\n", 1)[0]
    if options:
        clause = re.split(r"[。;；!！?？]", line, maxsplit=1)[0]
        mapped = _map_option_text(clause, options) or _option_prefix(line, options)
        if mapped:
            return _Candidate(mapped, "answer_cue_text")

    match = _LETTERS_AT.match(plain, start)
    if match is None:
        return None
    group = _letters_group(match, letters)
    if group is None:
        return None
    return _Candidate(group, "answer_cue", _has_alternative(match))


def _option_prefix(line: str, options: dict[str, str]) -> str:
    """Return the letter of the longest option whose text starts the line, or "".

    The option text must end at the end of the line or at a punctuation mark,
    and must be the only option of that length to match.
    """
    squashed = _squash(line)
    matches: list[tuple[int, str]] = []
    for letter, text in options.items():
        option = _squash(text).rstrip("。.")
        if not option or not squashed.startswith(option):
            continue
        rest = squashed[len(option) :]
        if not rest or rest[0] in _CLAUSE_BREAKS:
            matches.append((len(option), letter))
    if not matches:
        return ""
    longest = max(length for length, _ in matches)
    leaders = [letter for length, letter in matches if length == longest]
    return leaders[0] if len(leaders) == 1 else ""


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _letters_group(match: re.Match[str], letters: str) -> str | None:
    """Return the letters a match names, or None when the run is a word, not an answer.

    Separated letters ("A、C、D") are always letters. An unseparated run ("ACD")
    counts only when it is strictly ascending and every letter is offered,
    so words such as "DNA" or "BAD" are never read as answers.
    """
    raw = match.group("letters")
    picked = re.findall(r"[A-H]", raw)
    separated = len(picked) == 1 or bool(re.search(r"[^A-H]", raw))
    if not separated:
        ascending = all(a < b for a, b in zip(picked, picked[1:], strict=False))
        if not ascending or any(letter not in letters for letter in picked):
            return None
    return "".join(picked)


def _has_alternative(match: re.Match[str]) -> bool:
    return bool(_ALTERNATIVE.search(match.group("letters")))


def _leading_letter(plain: str, options: dict[str, str]) -> _Candidate | None:
    """Read "B. 心房颤动" on the first line, only when the text is option B's own."""
    lines = plain.strip().splitlines()
    if not lines:
        return None
    match = _LEADING.match(lines[0])
    if match is None or not options:
        return None
    letter = match.group("letter")
    option_text = _fold(options.get(letter, ""))
    rest = _fold(match.group("rest"))
    if option_text and rest.startswith(option_text):
        return _Candidate(letter, "leading_letter")
    return None


def _map_option_text(text: str, options: dict[str, str]) -> str:
    """Map an answer written as option text back to letters, or return "".

    The whole text may equal one option, or every part of a list ("甲、乙")
    may equal one option each; a partial resemblance maps to nothing.
    """
    whole = _fold(text)
    if not whole:
        return ""
    folded = {letter: _fold(option_text) for letter, option_text in options.items()}
    exact = [letter for letter, option_text in folded.items() if option_text == whole]
    if len(exact) == 1:
        return exact[0]

    parts = [_fold(part) for part in _TEXT_SPLIT.split(text) if _fold(part)]
    mapped = []
    for part in parts:
        matches = [letter for letter, option_text in folded.items() if option_text == part]
        if len(matches) != 1:
            break
        mapped.append(matches[0])
    else:
        if mapped:
            return "".join(mapped)

    # "答案：心房颤动，因为……": the first clause alone names exactly one option.
    first_clause = _fold(re.split(r"[,，]", text, maxsplit=1)[0])
    clause_matches = [
        letter
        for letter, option_text in folded.items()
        if option_text and option_text == first_clause
    ]
    if len(clause_matches) == 1:
        return clause_matches[0]
    return ""


def _fold(text: str) -> str:
    """Drop spaces, quotes and emphasis, and trim punctuation at both ends.

    Punctuation inside is kept, so "谷类、豆类；荤食品类" and "谷类、豆类、荤食品类"
    stay different options.
    """
    return _EDGE_PUNCTUATION.sub("", _DECORATION.sub("", text))


def _judge(candidate: _Candidate, *, question_type: str, letters: str) -> Extraction:
    picked = "".join(sorted(set(candidate.letters)))
    if any(letter not in letters for letter in picked):
        return Extraction(picked, INVALID, candidate.rule)
    if candidate.alternatives and len(picked) > 1:
        return Extraction(picked, AMBIGUOUS, candidate.rule)
    if question_type == "single" and len(picked) > 1:
        return Extraction(picked, AMBIGUOUS, candidate.rule)
    return Extraction(picked, OK, candidate.rule)

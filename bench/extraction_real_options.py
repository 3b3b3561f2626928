"""Measure answer extraction on replies written around real exam options.

For every question in the XMedBench Chinese test files, build replies in six
forms that models use: a cue and a letter, a full-width letter, a bold letter,
the option's text, a reasoning block that names a wrong option first, and an
English cue. Then count how often the extracted letter equals the key, per
form, and print the time per call.

Run from the repository root:
    DJANGO_SECRET_KEY=dev /work/venv/bin/python -m bench.extraction_real_options
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from medexam.extraction import OK, extract_answer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "xmedbench-zh" / "test"
FILES = ["cmexam.jsonl", "cmb-single.jsonl", "medqa-mcmle.jsonl", "cmmlu-medical.jsonl"]
OPTION_LINE = re.compile(r"^\((?P<letter>[A-H])\)\s*(?P<text>.*?)\.?$")
FULL_WIDTH = {chr(code): chr(code + 0xFEE0) for code in range(ord("A"), ord("H") + 1)}


def read_questions() -> list[tuple[dict[str, str], str]]:
    questions = []
    for name in FILES:
        path = DATA / name
        if not path.exists():
            sys.exit(f"{path} not found; place the shared data beside the checkout")
        for line in path.open(encoding="utf-8"):
            row = json.loads(line)
            options = {}
            for option_line in row["option"].split("\n"):
                match = OPTION_LINE.match(option_line.strip())
                if match:
                    options[match.group("letter")] = match.group("text")
            key = row["anwer"].strip("()")
            if len(key) == 1 and key in options:
                questions.append((options, key))
    return questions


def replies(options: dict[str, str], key: str) -> dict[str, str]:
    wrong = next(letter for letter in options if letter != key)
    return {
        "cue": f"根据题干分析，答案：{key}",
        "full_width": f"正确答案是{FULL_WIDTH[key]}",
        "bold": f"综上所述，我的选择是 **{key}**。",
        "option_text": f"答案：{options[key]}",
        "think_wrong_first": f"<think>{wrong}看似对，但应排除</think>故选{key}。",
        "english": f"Let's think step by step. The answer is ({key}).",
    }


def main() -> None:
    questions = read_questions()
    right: Counter[str] = Counter()
    statuses: Counter[tuple[str, str]] = Counter()
    calls = 0
    started = time.perf_counter()
    for options, key in questions:
        letters = "".join(sorted(options))
        for form, text in replies(options, key).items():
            result = extract_answer(text, question_type="single", letters=letters, options=options)
            calls += 1
            statuses[(form, result.status)] += 1
            right[form] += int(result.status == OK and result.letters == key)
    elapsed = time.perf_counter() - started

    print(f"questions: {len(questions)}, calls: {calls}")
    for form in replies({"A": "x", "B": "y"}, "A"):
        print(
            f"{form:18s} right {right[form]:5d} / {len(questions)}"
            f" ({right[form] / len(questions):.2%})  statuses: "
            + ", ".join(f"{s}={n}" for (f, s), n in sorted(statuses.items()) if f == form)
        )
    print(f"time per call: {elapsed / calls * 1e6:.0f} µs")


if __name__ == "__main__":
    main()

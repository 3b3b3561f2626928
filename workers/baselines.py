"""Built-in baselines: answers produced without any model or network.

They are labelled as baselines (LanguageModel.architecture "baseline") and
exist to show what chance or a fixed letter scores on a question set.
"""

from __future__ import annotations

import random


def answer_baseline(
    kind: str,
    *,
    letters: str,
    question_type: str,
    seed: int | None,
    question_id: int,
    sample_index: int,
) -> str:
    """Return the reply text of baseline kind ("chance" or "always_X") for one question.

    chance picks one letter uniformly (a non-empty random subset for a
    multiple-answer question) from a generator seeded by the run's seed,
    the question and the sample, so a rerun gives the same answers.
    """
    if kind == "chance":
        rng = random.Random(f"{seed}:{question_id}:{sample_index}")
        if question_type == "multiple":
            size = rng.randint(1, len(letters))
            chosen = "".join(sorted(rng.sample(letters, size)))
        else:
            chosen = rng.choice(letters)
        return f"答案：{chosen}"
    if kind.startswith("always_") and len(kind) == len("always_") + 1:
        return f"答案：{kind[-1]}"
    raise ValueError(f"unknown baseline {kind!r}; use chance or always_A .. always_E")

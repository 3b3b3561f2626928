"""Pure helpers of workers/: prompts, reasoning, voting, back-off, baselines."""

from __future__ import annotations

import pytest

from medexam.models import PromptTemplate, Question
from medexam.services.responses import extraction_for_response
from workers.baselines import answer_baseline
from workers.client import backoff_delay_s
from workers.prompts import build_messages, rotate_letters
from workers.reasoning import split_reasoning
from workers.voting import majority_vote

QUESTION = Question(
    stem="题干{x}",
    options={"A": "甲", "B": "乙", "C": "丙", "D": "丁"},
    answer_key="B",
    question_type="multiple",
)


def test_rotate_letters_by_one():
    assert rotate_letters("ABCDE", 1) == "BCDEA"


def test_messages_fill_placeholders():
    template = PromptTemplate(
        system_text="系统", user_template="{question_type}\n{stem}\n{options}"
    )

    system, user = build_messages(template, QUESTION, "BCDA")

    assert system == {"role": "system", "content": "系统"}
    assert user["content"] == "多选题\n题干{x}\nA. 乙\nB. 丙\nC. 丁\nD. 甲"


def test_map_back_rotated_letters():
    _extraction, letters = extraction_for_response(
        raw_text="答案：AD", finish_reason="stop", question=QUESTION, option_order="BCDA"
    )
    assert letters == "AB"


def test_map_back_without_rotation():
    _extraction, letters = extraction_for_response(
        raw_text="答案：C", finish_reason="stop", question=QUESTION, option_order=""
    )
    assert letters == "C"


@pytest.mark.parametrize(
    ("content", "reasoning_field", "answer", "reasoning"),
    [
        ("答案：A", "", "答案：A", ""),
        ("<think>想</think>答案：B", "", "答案：B", "想"),
        ("想了很久\n</think>\n答案：C", "", "答案：C", "想了很久"),
        ("答案：D", "字段推理", "答案：D", "字段推理"),
    ],
)
def test_split_reasoning_cases(content, reasoning_field, answer, reasoning):
    assert split_reasoning(content, reasoning_field) == (answer, reasoning)


def test_majority_vote_picks_most_common():
    assert majority_vote(["A", "B", "A", ""]) == "A"


def test_majority_vote_sets_compare_unordered():
    assert majority_vote(["CA", "AC", "B"]) == "AC"


def test_majority_vote_tie_is_none():
    assert majority_vote(["A", "B"]) is None


def test_majority_vote_empty_is_none():
    assert majority_vote(["", ""]) is None


def test_backoff_grows_and_caps():
    delays = [backoff_delay_s(n, base_s=1.0, cap_s=4.0) for n in range(1, 6)]

    assert 0.5 <= delays[0] <= 1.0
    assert 2.0 <= delays[2] <= 4.0
    assert max(delays) <= 4.0


def test_backoff_honours_retry_after():
    assert backoff_delay_s(1, base_s=0.01, cap_s=0.02, retry_after_s=5.0) == 5.0


def test_chance_baseline_repeats_with_seed():
    first = answer_baseline(
        "chance", letters="ABCDE", question_type="single", seed=3, question_id=9, sample_index=0
    )
    again = answer_baseline(
        "chance", letters="ABCDE", question_type="single", seed=3, question_id=9, sample_index=0
    )

    assert first == again


def test_unknown_baseline_rejected():
    with pytest.raises(ValueError, match="unknown baseline"):
        answer_baseline(
            "oracle", letters="AB", question_type="single", seed=1, question_id=1, sample_index=0
        )


def test_close_worker_loop_closes_kept_clients(openai_server):
    from workers import generation

    endpoint = generation.EndpointConfig(
        id=990001,
        name="close-check",
        base_url=openai_server.base_url,
        served_model_id="mock-medexam-1",
        api_key_env="",
        timeout_s=5.0,
        stream=False,
        max_concurrency=2,
        requests_per_minute=None,
        tokens_per_minute=None,
        decoding={"max_tokens": 16},
    )
    job = generation.Job(
        response_id=1,
        messages=[{"role": "user", "content": "题目 [answer:B]"}],
        seed=None,
        first_attempt=1,
        max_attempts=1,
    )
    results, stop = generation.run_in_worker_loop(
        generation.answer_jobs(endpoint, [job], redis_url=None, retry_base_s=0.01, retry_cap_s=0.1)
    )
    assert stop == ""
    assert results[0].result is not None
    clients = [client for client, _limiter in generation._clients.values()]
    assert clients
    assert not any(client.is_closed() for client in clients)

    generation.close_worker_loop()

    assert all(client.is_closed() for client in clients)
    assert generation._clients == {}
    assert generation._loop is None
    generation.close_worker_loop()  # a second call at exit does nothing

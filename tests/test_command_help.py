"""--help of the project's management commands, in the active language."""

from __future__ import annotations

import re

import pytest
from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand
from django.utils import translation

CJK = re.compile(r"[\u4e00-\u9fff]")
COMMANDS = sorted(name for name, app in get_commands().items() if app in ("medexam", "review"))


def command_help(name: str, language: str) -> tuple[str, list]:
    """Return the formatted --help text of a command and its parser's options."""
    command = load_command_class(get_commands()[name], name)
    with translation.override(language):
        parser = command.create_parser("manage.py", name)
        return parser.format_help(), parser._actions


@pytest.mark.parametrize("name", COMMANDS)
def test_help_chinese_for_every_option(name):
    text, actions = command_help(name, "zh-hans")

    django_options = {action.dest for action in BaseCommand().create_parser("m", "x")._actions}
    description = text.split("\noptions:\n", 1)[0]
    assert CJK.search(description), description
    for action in actions:
        if action.dest in django_options:
            continue
        assert action.help, f"{name} {action.option_strings}: no help"
        assert CJK.search(str(action.help)), f"{name} {action.option_strings}: {action.help}"


@pytest.mark.parametrize(
    ("name", "chinese", "english"),
    [
        ("agreement", "输出 JSON 而不是表格。", "Print JSON instead of a table."),
        ("agreement", "计算已保存审核的 Krippendorff's alpha", "Report Krippendorff's alpha"),
        ("export_dataset", "导出格式。", "Export format."),
        ("export_dataset", "将数据集版本导出为 JSONL", "Export a dataset version"),
        ("import_questions", "--dry-run", "Report what would change"),
    ],
)
def test_help_follows_active_language(name, chinese, english):
    chinese_text, _actions = command_help(name, "zh-hans")
    english_text, _actions = command_help(name, "en")
    assert chinese in chinese_text
    assert english not in chinese_text
    assert english in english_text


@pytest.mark.parametrize(
    ("option", "chinese"),
    [
        ("--architecture", "架构：dense（稠密）、moe（混合专家）或 baseline（基线）"),
        ("--temperature", "采样温度；默认 0"),
        ("--max-tokens", "每条回答最多生成的 token 数；默认 2048"),
    ],
)
def test_add_model_help_describes_option(option, chinese):
    text, _actions = command_help("add_model", "zh-hans")
    options = text.split("\noptions:\n", 1)[1]
    described = options.split(f"  {option}", 1)[1].split("\n  --", 1)[0]
    # argparse wraps long help lines, so whitespace is left out of the comparison.
    assert "".join(chinese.split()) in "".join(described.split())

"""Base class for management commands whose help text is a lazy translation."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class TranslatedCommand(BaseCommand):
    """A command whose `help` may be gettext_lazy text, shown in the active language.

    Django hands `help` to argparse as the description, and argparse wraps it
    with re.sub, which raises TypeError on a lazy string, so `--help` crashed.
    """

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if self.help:
            parser.description = str(self.help)
        return parser

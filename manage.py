#!/usr/bin/env python
"""Django's command-line utility for medexam."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medexam.settings")
    from django.core.management import execute_from_command_line

    from medexam.command_logging import command_log_level

    level = command_log_level(sys.argv)
    if level is not None:
        os.environ.setdefault("DJANGO_LOG_LEVEL", level)

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

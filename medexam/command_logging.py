"""The log level of a management command run from manage.py, chosen by its verbosity.

A command prints its own translated output, so the services' INFO lines
(English, with timestamps) would only repeat it on stderr. Commands therefore
log warnings and errors at the default verbosity, INFO at -v 2 and DEBUG at
-v 3. DJANGO_LOG_LEVEL, when set, wins over this default.
"""

from __future__ import annotations

import argparse

# The development server is the web process, so it keeps the settings' default
# (INFO), as gunicorn and the Celery processes do.
SERVER_COMMANDS = frozenset({"runserver"})

LEVELS_BY_VERBOSITY = {0: "WARNING", 1: "WARNING", 2: "INFO", 3: "DEBUG"}


def command_log_level(argv: list[str]) -> str | None:
    """Return the log level for `manage.py SUBCOMMAND ...`, or None to keep the settings' default.

    argv is sys.argv as manage.py receives it. Options other than -v/--verbosity
    are ignored. An unreadable verbosity counts as the default, 1, because
    Django reports the bad option itself when it parses the command line.
    """
    if len(argv) < 2 or argv[1].startswith("-") or argv[1] in SERVER_COMMANDS:
        return None

    # exit_on_error=False raises ArgumentError instead of printing a usage line.
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("-v", "--verbosity", type=int, default=1)
    try:
        options, _unknown = parser.parse_known_args(argv[2:])
    except argparse.ArgumentError:
        return LEVELS_BY_VERBOSITY[1]
    return LEVELS_BY_VERBOSITY.get(options.verbosity, LEVELS_BY_VERBOSITY[1])

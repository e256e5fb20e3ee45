"""Options that every pavae command accepts, before or after the command name."""

from __future__ import annotations

import argparse


def logging_options(suppress_defaults: bool) -> argparse.ArgumentParser:
    """Return a parent parser with ``-v/--verbose`` and ``-q/--quiet``.

    Subcommands take it with ``suppress_defaults=True``, so that an option
    given before the command name is kept when the subcommand does not repeat it.
    """
    parser = argparse.ArgumentParser(add_help=False)
    verbose_default = argparse.SUPPRESS if suppress_defaults else 0
    quiet_default = argparse.SUPPRESS if suppress_defaults else False
    parser.add_argument("-v", "--verbose", action="count", default=verbose_default,
                        help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", default=quiet_default, help="only warnings and errors")
    return parser


COMMAND_OPTIONS = logging_options(suppress_defaults=True)

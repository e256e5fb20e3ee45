"""The ``pavae`` command line: data, train, sample, reproduce, report.

Each sub-command lives in its own module and registers itself through a
``register(subparsers)`` function; heavy imports happen inside the command so
that ``pavae --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from pavae import __version__
from pavae.cli import data_commands, study_commands
from pavae.cli.common import logging_options

log = logging.getLogger("pavae")


class CommandError(Exception):
    """An error the command line reports as one message line and exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pavae",
        description="Pathology-aware synthetic chest radiographs under label scarcity: data, generators, study, report.",
        parents=[logging_options(suppress_defaults=False)],
    )
    parser.add_argument("--version", action="version", version=f"pavae {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    data_commands.register(subparsers)
    study_commands.register(subparsers)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.INFO
    if quiet:
        level = logging.WARNING
    elif verbose >= 2:
        level = logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    # Python warnings (undefined metrics, small splits) go through logging, not raw to stderr with source paths.
    logging.captureWarnings(True)
    # Third-party libraries stay at warnings unless -vv is given. pydicom logs a traceback at ERROR
    # level before raising a decode error that the importer reports itself, so it is kept quieter.
    for name in ("matplotlib", "PIL"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    logging.getLogger("pydicom").setLevel(logging.DEBUG if verbose >= 2 else logging.CRITICAL)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    # A termination request (timeout, kill, a batch scheduler) cleans up like Ctrl-C.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("pavae: interrupted; finished study units are kept and a rerun resumes from them", file=sys.stderr)
        return 130
    except (CommandError, FileNotFoundError, FileExistsError, KeyError, ValueError, ImportError) as error:
        if args.verbose >= 2:
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"pavae {args.command}: error: {message}", file=sys.stderr)
        return 2

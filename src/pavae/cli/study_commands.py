"""``pavae train | sample | reproduce | report``: the study and its single steps."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Placeholder until the study commands land."""

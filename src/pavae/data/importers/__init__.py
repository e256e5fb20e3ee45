"""Importers of real radiographs (placeholder until the importer lands)."""

from __future__ import annotations

import argparse


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True)


def import_from_args(args: argparse.Namespace):
    raise NotImplementedError("the importer is not implemented yet")

"""Importers of real chest radiographs into the data-set file format.

Layouts (``--format``):

* ``generic``: a CSV with an image column and a class-name column;
* ``folders``: one sub-folder of images per class;
* ``chestxray14``: the NIH ChestX-ray14 label table and, optionally, its box table;
* ``chexpert``: the CheXpert label table.

Images may be PNG (8 or 16 bit), JPEG or DICOM in any layout; see
:mod:`pavae.data.readers` for how they are read. Use the command line
(``pavae data import``) or :func:`import_dataset`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any

from pavae.data.dataset import RadiographDataset
from pavae.data.importers.common import DatasetImportError
from pavae.data.importers.options import FORMATS, ImportOptions, add_import_arguments, options_from_namespace
from pavae.data.importers.pipeline import run_import

__all__ = [
    "FORMATS",
    "DatasetImportError",
    "ImportOptions",
    "add_import_arguments",
    "import_dataset",
    "import_from_args",
]


def import_from_args(args: argparse.Namespace) -> RadiographDataset:
    """Run ``pavae data import`` with parsed arguments, writing ``args.out`` atomically.

    Args:
        args: namespace from a parser set up by :func:`add_import_arguments`.

    Returns:
        The imported data set.

    Raises:
        DatasetImportError: invalid options, label tables or images.
        pavae.data.splits.SplitError: a class is too small for the split.
    """
    return run_import(options_from_namespace(args))


def import_dataset(
    format: str,
    images: str | os.PathLike,
    labels: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    **options: Any,
) -> RadiographDataset:
    """Import radiographs in the layout ``format`` and write them to ``out`` when given.

    Args:
        format: one of ``FORMATS``.
        images: folder with the image files.
        labels: label table (CSV); required except for ``"folders"``.
        out: data-set file to write atomically; None keeps it in memory only.
        **options: any other field of :class:`ImportOptions`, named like the
            command-line option with underscores (``labeled_fraction=0.2``,
            ``findings="Effusion,Mass"``, ``split_proportions=(0.6, 0.2, 0.2)``).

    Returns:
        The imported data set.

    Raises:
        TypeError: an unknown option name.
        DatasetImportError: invalid options, label tables or images.
        pavae.data.splits.SplitError: a class is too small for the split.
    """
    known = {field.name for field in dataclasses.fields(ImportOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown import options {unknown}; valid ones are {sorted(known - {'format', 'images', 'labels', 'out'})}")
    return run_import(ImportOptions(format=format, images=images, labels=labels, out=out, **options))

"""Shared pieces of the importers: the error type, one table row as a record, file lookup."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Iterable

from pavae.data.readers import has_dicom_header

log = logging.getLogger(__name__)

# Suffixes taken as images without looking at the content; other files must be DICOM by content.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".dcm", ".dicom", ".tif", ".tiff", ".bmp")
NEGATIVE_CLASS_NAMES = ("healthy", "normal", "no_finding", "no finding", "negative")
MAX_LISTED = 5


class DatasetImportError(ValueError):
    """Raised when an import cannot produce a valid data set; the message names the values and the option that helps."""


@dataclasses.dataclass(frozen=True)
class Box:
    """An axis-aligned lesion box in the pixel space of its frame (see ``--bbox-frame``).

    Attributes:
        x: left edge in pixels.
        y: top edge in pixels.
        width: width in pixels.
        height: height in pixels.
        finding: finding name from the box table, when it has one.
    """

    x: float
    y: float
    width: float
    height: float
    finding: str | None = None


@dataclasses.dataclass
class Record:
    """One image to import, as a layout found it.

    Attributes:
        image_id: identifier stored in the data set: the path or name as the
            label table gives it, or the path relative to ``--images``.
        path: the file on disk, or None when it was not found.
        label: class index into the layout's class names.
        patient_id: patient identifier, when the label table or path provides one.
        original_size: (width, height) of the original acquisition, when
            the label table gives it (ChestX-ray14 ``OriginalImage[Width,Height]``).
        boxes: lesion boxes for this image.
    """

    image_id: str
    path: Path | None
    label: int
    patient_id: str | None = None
    original_size: tuple[float, float] | None = None
    boxes: list[Box] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class LayoutResult:
    """Output of a layout reader: the records, their class names and the dropped rows.

    Attributes:
        records: images to import.
        class_names: class 0 is the negative class.
        skipped: number of table rows or files dropped, by reason.
        details: facts for the metadata (columns used, patient id source).
    """

    records: list[Record]
    class_names: list[str]
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)
    details: dict[str, object] = dataclasses.field(default_factory=dict)


def describe_examples(items: Iterable[str], total: int | None = None) -> str:
    """Format the first ``MAX_LISTED`` items and the total count for an error message.

    Args:
        items: values to list.
        total: count to report; defaults to the number of items.

    Returns:
        Text such as ``"a.png, b.png, ... (7 in total)"``.
    """
    values = list(items)
    count = len(values) if total is None else total
    shown = ", ".join(values[:MAX_LISTED])
    if count > MAX_LISTED:
        shown += ", ..."
    return f"{shown} ({count} in total)"


def is_image_candidate(path: Path) -> bool:
    """Check whether a file found in a folder should be read as an image.

    Files with an image suffix are taken. Files without a suffix or with
    another suffix are taken only when their content is DICOM, with or
    without the 128-byte preamble.
    """
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    return has_dicom_header(path)


def list_files(root: Path) -> list[Path]:
    """List the regular files under ``root`` recursively, skipping hidden files and folders, in sorted order."""
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(names):
            if not name.startswith("."):
                found.append(Path(folder) / name)
    return found


def resolve_relative(images: Path, value: str, strip_first: bool = False) -> Path | None:
    """Find the file that a label-table path refers to.

    Tries ``images / value`` (or ``value`` itself when absolute), then with
    each of ``IMAGE_SUFFIXES`` appended when the value has no suffix, and
    with ``strip_first`` also with the first path component removed
    (CheXpert paths start with the archive's folder name).

    Returns:
        The existing file, or None.
    """
    relative = Path(value)
    candidates = [relative if relative.is_absolute() else images / relative]
    if strip_first and not relative.is_absolute() and len(relative.parts) > 1:
        candidates.append(images.joinpath(*relative.parts[1:]))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
        if not candidate.suffix:
            for suffix in IMAGE_SUFFIXES:
                with_suffix = candidate.with_name(candidate.name + suffix)
                if with_suffix.is_file():
                    return with_suffix
    return None


def pick_negative_class(names: Iterable[str], requested: str | None, what: str) -> str:
    """Choose the negative class among ``names``.

    Args:
        names: the class names found.
        requested: the ``--negative-class`` value, or None to look for a
            name in ``NEGATIVE_CLASS_NAMES`` (case-insensitive).
        what: description of the names for messages ("label values", "folders").

    Returns:
        The chosen name exactly as found.

    Raises:
        DatasetImportError: the requested name is absent, or none or several
            of the usual negative names are present.
    """
    available = sorted(set(names))
    if requested is not None:
        if requested in available:
            return requested
        raise DatasetImportError(
            f"--negative-class {requested!r} is not among the {what}: {describe_examples(available)}"
        )
    matches = [name for name in available if name.strip().lower() in NEGATIVE_CLASS_NAMES]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DatasetImportError(
            f"no negative (healthy) class found among the {what}: {describe_examples(available)}; "
            f"name it with --negative-class (recognised without it: {', '.join(NEGATIVE_CLASS_NAMES)})"
        )
    raise DatasetImportError(f"several {what} look like the negative class ({', '.join(matches)}); pick one with --negative-class")


def slug(name: str) -> str:
    """Turn a finding name such as ``"Lung Opacity"`` into a class name such as ``"lung_opacity"``."""
    cleaned = "".join(character.lower() if character.isalnum() else "_" for character in name.strip())
    return "_".join(part for part in cleaned.split("_") if part) or "positive"

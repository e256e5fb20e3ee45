"""Lesion boxes: the box table, the mapping of a box onto the output grid, and the lesion side.

A box is given in the pixel space of a *frame* (``--bbox-frame``): a fixed
size such as ChestX-ray14's 1024 x 1024 released PNGs, the pixels of the
image file itself, or the original acquisition size of the label table. The
frame covers the same field of view as the image file. A box is therefore
scaled per axis from the frame to the file's pixels, shifted by the same
centre crop or pad as the image, and scaled to the output side.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from pavae.data.importers.common import Box, DatasetImportError, describe_examples
from pavae.data.importers.tables import read_table
from pavae.data.readers import SquareWindow

IMAGE_COLUMNS = ("Image Index", "image", "path", "Path", "patientId", "file", "filename", "image_id")
FINDING_COLUMNS = ("Finding Label", "label", "finding", "class")
# A box may reach past its frame by this fraction of the frame side before the frame is taken as wrong.
FRAME_TOLERANCE = 0.02
# ChestX-ray14's box table uses "Infiltrate" where its label table uses "Infiltration".
FINDING_ALIASES = {"infiltrate": "infiltration"}


def parse_frame(text: str) -> str | tuple[float, float]:
    """Parse a ``--bbox-frame`` value.

    Args:
        text: ``"image"``, ``"original"`` or ``"WIDTHxHEIGHT"``.

    Returns:
        The keyword, or (width, height) in pixels.

    Raises:
        DatasetImportError: any other value.
    """
    value = text.strip().lower()
    if value in ("image", "original"):
        return value
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*x\s*(\d+(?:\.\d+)?)", value)
    if not match or float(match.group(1)) <= 0 or float(match.group(2)) <= 0:
        raise DatasetImportError(f"--bbox-frame must be 'image', 'original' or WIDTHxHEIGHT such as 1024x1024, got {text!r}")
    return float(match.group(1)), float(match.group(2))


def _coordinate_columns(table) -> tuple[str, ...]:
    for column in table.columns:
        span = table.spans[column]
        if column.lower().startswith("bbox") and span.stop - span.start == 4:
            return (column,)
    x = table.find_column(("x",), required=False)
    y = table.find_column(("y",), required=False)
    width = table.find_column(("w", "width"), required=False)
    height = table.find_column(("h", "height"), required=False)
    if None in (x, y, width, height):
        raise DatasetImportError(
            f"{table.path}: no box coordinates found; expected a 'Bbox [x,y,w,h]' column or columns x, y, w (or width), "
            f"h (or height), got {', '.join(repr(c) for c in table.columns)}"
        )
    return (x, y, width, height)


def read_boxes(path: str | Path, image_columns: Sequence[str] = IMAGE_COLUMNS) -> dict[str, list[Box]]:
    """Read a box table into boxes per image.

    Rows whose coordinates are all blank are skipped, as in the RSNA
    pneumonia table, whose negative rows have no box.

    Args:
        path: CSV with an image column and x, y, width, height in pixels,
            either as four columns or one ``Bbox [x,y,w,h]`` column.
        image_columns: candidate names of the image column, tried in order.

    Returns:
        Image name (as in the table) to its boxes.

    Raises:
        DatasetImportError: a column is missing, or a coordinate is not a
            number or a side is not positive (first five rows and the count).
    """
    table = read_table(path)
    image = table.find_column(image_columns, option="--image-column")
    finding = table.find_column(FINDING_COLUMNS, required=False)
    coordinates = _coordinate_columns(table)
    boxes: dict[str, list[Box]] = {}
    invalid = []
    for row, line in zip(table.rows, table.line_numbers):
        if len(coordinates) == 1:
            fields = table.values(row, coordinates[0])
        else:
            fields = [table.value(row, column) for column in coordinates]
        if not any(fields):
            continue
        try:
            x, y, width, height = (float(field) for field in fields)
        except ValueError:
            invalid.append(f"line {line}: {fields}")
            continue
        if not all(math.isfinite(v) for v in (x, y, width, height)) or width <= 0 or height <= 0:
            invalid.append(f"line {line}: {fields}")
            continue
        name = table.value(row, image)
        label = table.value(row, finding) if finding else None
        boxes.setdefault(name, []).append(Box(x, y, width, height, label or None))
    if invalid:
        raise DatasetImportError(
            f"{table.path}: invalid box coordinates (need numbers with positive width and height): {describe_examples(invalid)}"
        )
    return boxes


def canonical_finding(name: str) -> str:
    """Return the comparison form of a finding name (case, spaces, underscores and the Infiltrate alias ignored)."""
    key = "".join(character for character in name.lower() if character.isalnum())
    return FINDING_ALIASES.get(key, key)


def check_box_in_frame(box: Box, frame: tuple[float, float], image_id: str, frame_text: str) -> str | None:
    """Describe a box that reaches past its frame by more than ``FRAME_TOLERANCE``, or return None.

    Args:
        box: the box.
        frame: (width, height) of the frame in pixels.
        image_id: the image, for the message.
        frame_text: the frame as the user sees it, for the message.
    """
    width, height = frame
    slack_x, slack_y = FRAME_TOLERANCE * width, FRAME_TOLERANCE * height
    inside = (
        box.x >= -slack_x
        and box.y >= -slack_y
        and box.x + box.width <= width + slack_x
        and box.y + box.height <= height + slack_y
    )
    if inside:
        return None
    return f"{image_id}: box x={box.x:g} y={box.y:g} w={box.width:g} h={box.height:g} outside the {frame_text} frame"


def box_to_mask(
    box: Box, frame: tuple[float, float], source_shape: tuple[int, int], window: SquareWindow, size: int
) -> np.ndarray:
    """Draw a box as a filled rectangle on the output grid.

    The box edges are mapped to output coordinates and rounded to the
    nearest pixel edge. A box thinner than one output pixel still sets the
    pixel it falls in. Parts outside the output (cropped away) are dropped.

    Args:
        box: box in frame pixels.
        frame: (width, height) of the frame in pixels.
        source_shape: (H, W) of the decoded image file.
        window: the square of the file that fills the output.
        size: output side in pixels.

    Returns:
        (size, size) uint8 array of 0 and 1 (all zero when the box lies outside).
    """
    height, width = source_shape
    scale_x, scale_y = width / frame[0], height / frame[1]
    to_output = size / window.side
    left = (box.x * scale_x - window.left) * to_output
    right = ((box.x + box.width) * scale_x - window.left) * to_output
    top = (box.y * scale_y - window.top) * to_output
    bottom = ((box.y + box.height) * scale_y - window.top) * to_output
    mask = np.zeros((size, size), dtype=np.uint8)
    columns = _pixel_range(left, right, size)
    rows = _pixel_range(top, bottom, size)
    if columns is not None and rows is not None:
        mask[rows[0] : rows[1], columns[0] : columns[1]] = 1
    return mask


def _pixel_range(start: float, stop: float, size: int) -> tuple[int, int] | None:
    if stop <= 0 or start >= size:
        return None
    first = min(max(int(round(start)), 0), size)
    last = min(max(int(round(stop)), 0), size)
    if last <= first:
        first = min(max(int(math.floor(max(start, 0.0))), 0), size - 1)
        last = first + 1
    return first, last


def lesion_side(mask: np.ndarray) -> str | None:
    """Return the patient side of a lesion mask: ``"left"``, ``"right"`` or None.

    The image shows the patient's left on the image's right, so a centroid in
    the right half of the image is the patient's left. A centroid exactly on
    the vertical midline, or an empty mask, gives None.

    Args:
        mask: (H, W) binary mask.
    """
    columns = np.nonzero(mask)[1]
    if len(columns) == 0:
        return None
    centroid = float(columns.mean()) + 0.5
    middle = mask.shape[1] / 2.0
    if centroid > middle:
        return "left"
    if centroid < middle:
        return "right"
    return None

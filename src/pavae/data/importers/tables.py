"""CSV label tables, including headers whose bracketed names span several columns.

The ChestX-ray14 tables have headers such as ``OriginalImage[Width,Height]``
and ``Bbox [x,y,w,h]``. A plain CSV reader splits them at the commas inside
the brackets, so the header has more fields than names. :func:`read_table`
joins such fields back into one name that spans several columns.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Sequence

from pavae.data.importers.common import DatasetImportError, describe_examples


def normalize_column(name: str) -> str:
    """Return the form of a column name used for matching: lower case, spaces and underscores removed."""
    return "".join(character for character in name.lower() if character not in " _-")


@dataclasses.dataclass
class Table:
    """A CSV file read into memory.

    Attributes:
        path: the file.
        columns: column names in order; a bracketed name may span several fields.
        spans: for each column name, the slice of row fields it covers.
        rows: data rows as lists of stripped strings, padded to the header width.
        line_numbers: the file line of each row, for messages.
    """

    path: Path
    columns: list[str]
    spans: dict[str, slice]
    rows: list[list[str]]
    line_numbers: list[int]

    def find_column(self, candidates: Sequence[str], option: str | None = None, required: bool = True) -> str | None:
        """Find the first of ``candidates`` among the columns (exact, then ignoring case, spaces and underscores).

        Args:
            candidates: names to try in order.
            option: the command-line option that sets this column, named in the error.
            required: raise when nothing matches; otherwise return None.

        Raises:
            DatasetImportError: no candidate matches and ``required`` is True.
        """
        for candidate in candidates:
            if candidate in self.spans:
                return candidate
        normalized = {normalize_column(column): column for column in self.columns}
        for candidate in candidates:
            match = normalized.get(normalize_column(candidate))
            if match is not None:
                return match
        if not required:
            return None
        hint = f"; name the column with {option}" if option else ""
        raise DatasetImportError(
            f"{self.path}: no column {' or '.join(repr(c) for c in candidates)}; "
            f"the columns are {', '.join(repr(c) for c in self.columns)}{hint}"
        )

    def value(self, row: list[str], column: str) -> str:
        """Return the first field of ``column`` in ``row``."""
        return row[self.spans[column].start]

    def values(self, row: list[str], column: str) -> list[str]:
        """Return every field that ``column`` spans in ``row``."""
        return row[self.spans[column]]


def _merge_header(fields: list[str]) -> list[tuple[str, int]]:
    merged: list[tuple[str, int]] = []
    index = 0
    while index < len(fields):
        name, width = fields[index].strip(), 1
        if "[" in name and "]" not in name:
            # Join the following fields until the bracket closes: "Bbox [x", "y", "w", "h]".
            while index + width < len(fields) and "]" not in name:
                name += "," + fields[index + width].strip()
                width += 1
        merged.append((name, width))
        index += width
    return merged


def read_table(path: str | Path) -> Table:
    """Read a CSV label table.

    Empty header names at the end of the header (trailing commas) are
    ignored. Blank lines are skipped.

    Args:
        path: CSV file, UTF-8 with or without a byte order mark.

    Returns:
        The table.

    Raises:
        DatasetImportError: the file is missing or empty, a header name is
            repeated, or a row has more fields than the header.
    """
    source = Path(path)
    if not source.is_file():
        raise DatasetImportError(f"label table {source} not found")
    with open(source, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise DatasetImportError(f"label table {source} is empty") from None
        except csv.Error as error:
            raise DatasetImportError(f"{source}: invalid CSV header ({error})") from error
        spans: dict[str, slice] = {}
        columns: list[str] = []
        start = 0
        for name, width in _merge_header(header):
            if name:
                if name in spans:
                    raise DatasetImportError(f"{source}: the column {name!r} appears twice in the header")
                spans[name] = slice(start, start + width)
                columns.append(name)
            start += width
        width = len(header)
        rows, line_numbers, too_long = [], [], []
        try:
            for row in reader:
                if not any(field.strip() for field in row):
                    continue
                if len(row) > width and any(field.strip() for field in row[width:]):
                    too_long.append(f"line {reader.line_num}")
                    continue
                fields = [field.strip() for field in row[:width]]
                rows.append(fields + [""] * (width - len(fields)))
                line_numbers.append(reader.line_num)
        except csv.Error as error:
            raise DatasetImportError(f"{source}: invalid CSV at line {reader.line_num} ({error})") from error
    if too_long:
        raise DatasetImportError(
            f"{source}: rows with more fields than the {width} header fields: {describe_examples(too_long)}"
        )
    if not columns:
        raise DatasetImportError(f"label table {source} has an empty header")
    return Table(path=source, columns=columns, spans=spans, rows=rows, line_numbers=line_numbers)

"""``--format chexpert``: the CheXpert label table (``train.csv``, ``valid.csv``).

Each row is one view. Label cells contain 1.0 (positive), 0.0 (negative), -1.0
(uncertain) or nothing (not mentioned). With ``--finding F``:

* ``F == 1`` gives the positive class, unless ``No Finding == 1`` too,
  which contradicts it (dropped, counted as ``conflicting``);
* ``F == -1`` follows ``--uncertain``: ``ignore`` drops the image (counted
  as ``uncertain``), ``positive`` makes it positive, ``negative`` puts it in
  class 0 (the U-Zeros policy), so class 0 then contains more than
  "No Finding" images;
* otherwise ``No Finding == 1`` gives class 0 (``healthy``);
* every other row (other findings only, or nothing labelled) is dropped and
  counted as ``other_findings``.

Lateral views are dropped (``lateral_view``) unless ``--include-lateral``.
"""

from __future__ import annotations

import logging
import re

from pavae.data.importers.common import DatasetImportError, LayoutResult, Record, describe_examples, resolve_relative, slug
from pavae.data.importers.options import ImportOptions
from pavae.data.importers.tables import read_table

log = logging.getLogger(__name__)

PATH_COLUMN = "Path"
VIEW_COLUMN = "Frontal/Lateral"
NO_FINDING = "No Finding"
DEFAULT_FINDING = "Lung Opacity"
PATIENT_PATTERN = re.compile(r"(patient\d+)")
LABEL_VALUES = {"": None, "1": 1, "1.0": 1, "0": 0, "0.0": 0, "-1": -1, "-1.0": -1}


def patient_from_path(path: str) -> str | None:
    """Return the ``patientNNNNN`` component of a CheXpert path, or None."""
    match = PATIENT_PATTERN.search(path)
    return match.group(1) if match else None


def collect(options: ImportOptions) -> LayoutResult:
    """Read a CheXpert label table and resolve its paths under ``--images``.

    Paths are tried relative to ``--images`` and, failing that, with their
    first component (``CheXpert-v1.0-small``) removed.

    Args:
        options: the import options.

    Returns:
        The records and the classes ``healthy`` and the finding's name in
        lower case with underscores (``lung_opacity``).

    Raises:
        DatasetImportError: a column is missing or a label cell contains a
            value other than 1.0, 0.0, -1.0 or blank.
    """
    table = read_table(options.labels)
    path_column = table.find_column((options.image_column or PATH_COLUMN,), option="--image-column")
    finding = options.finding or DEFAULT_FINDING
    finding_column = table.find_column((finding,), option="--finding")
    no_finding_column = table.find_column((NO_FINDING,))
    view_column = table.find_column((VIEW_COLUMN,), required=False)
    patient_column = table.find_column((options.patient_column,), option="--patient-column") if options.patient_column else None
    uncertain = options.uncertain or "ignore"
    if view_column is None:
        log.warning("%s has no %r column; views are taken from the file names (lateral if 'lateral' occurs)", table.path, VIEW_COLUMN)

    skipped = {"lateral_view": 0, "uncertain": 0, "conflicting": 0, "other_findings": 0, "duplicate_rows": 0}
    invalid, records, seen = [], [], set()
    for row, line in zip(table.rows, table.line_numbers):
        path = table.value(row, path_column)
        values = {}
        for column in (finding_column, no_finding_column):
            cell = table.value(row, column)
            if cell not in LABEL_VALUES:
                invalid.append(f"line {line}: {column}={cell!r}")
            values[column] = LABEL_VALUES.get(cell)
        if not path:
            invalid.append(f"line {line}: empty {path_column!r}")
            continue
        if view_column is not None:
            lateral = table.value(row, view_column).strip().lower() == "lateral"
        else:
            lateral = "lateral" in path.lower()
        if lateral and not options.include_lateral:
            skipped["lateral_view"] += 1
            continue
        label = _label(values[finding_column], values[no_finding_column], uncertain, skipped)
        if label is None:
            continue
        if path in seen:
            skipped["duplicate_rows"] += 1
            continue
        seen.add(path)
        patient = table.value(row, patient_column) if patient_column else patient_from_path(path)
        resolved = resolve_relative(options.images, path, strip_first=True)
        records.append(Record(image_id=path, path=resolved, label=label, patient_id=patient or None))
    if invalid:
        raise DatasetImportError(
            f"{table.path}: unknown label values (expected 1.0, 0.0, -1.0 or blank): {describe_examples(invalid)}"
        )
    for reason, count in skipped.items():
        if count:
            log.info("dropped %d rows: %s", count, reason.replace("_", " "))
    details = {"finding": finding, "uncertain": uncertain, "patient_column": patient_column or "patientNNNNN in Path"}
    return LayoutResult(records=records, class_names=["healthy", slug(finding)], skipped=skipped, details=details)


def _label(finding: int | None, no_finding: int | None, uncertain: str, skipped: dict[str, int]) -> int | None:
    if finding == 1:
        if no_finding == 1:
            skipped["conflicting"] += 1
            return None
        return 1
    if finding == -1:
        if uncertain == "positive":
            return 1
        if uncertain == "negative":
            return 0
        skipped["uncertain"] += 1
        return None
    if no_finding == 1:
        return 0
    skipped["other_findings"] += 1
    return None

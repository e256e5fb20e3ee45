"""``--format generic``: a CSV with an image column and a class-name column."""

from __future__ import annotations

import logging

from pavae.data.importers.common import (
    DatasetImportError,
    LayoutResult,
    Record,
    describe_examples,
    pick_negative_class,
    resolve_relative,
)
from pavae.data.importers.options import ImportOptions
from pavae.data.importers.tables import Table, read_table

log = logging.getLogger(__name__)

IMAGE_COLUMNS = ("image", "path", "file", "filename", "image_path", "Image Index", "Path")
LABEL_COLUMNS = ("label", "class", "target", "diagnosis")
PATIENT_COLUMNS = ("patient_id", "Patient ID", "PatientID", "patient", "subject_id")


def find_patient_column(table: Table, requested: str | None, defaults=PATIENT_COLUMNS) -> str | None:
    """Return the patient column: the requested one (which must exist) or the first default found."""
    if requested is not None:
        return table.find_column((requested,), option="--patient-column")
    column = table.find_column(defaults, required=False)
    if column is not None:
        log.info("%s: patient ids from column %r", table.path, column)
    return column


def collect(options: ImportOptions) -> LayoutResult:
    """Read the rows of a generic label table.

    Each distinct label value is a class. The ``--negative-class`` value (or
    the one value named like healthy, normal or no_finding) becomes class 0,
    the other values follow in sorted order. Rows repeating an image with the
    same label are merged (one row per box is common); an image listed with
    two labels is an error.

    Args:
        options: the import options.

    Returns:
        The records and class names.

    Raises:
        DatasetImportError: a column is missing, a label is empty, an image
            has conflicting labels, or the classes are fewer than two.
    """
    table = read_table(options.labels)
    image_column = table.find_column((options.image_column,) if options.image_column else IMAGE_COLUMNS, option="--image-column")
    label_column = table.find_column((options.label_column,) if options.label_column else LABEL_COLUMNS, option="--label-column")
    patient_column = find_patient_column(table, options.patient_column)

    rows: dict[str, tuple[str, str | None]] = {}
    empty, conflicts, duplicates = [], [], 0
    for row, line in zip(table.rows, table.line_numbers):
        image = table.value(row, image_column)
        label = table.value(row, label_column)
        if not image or not label:
            empty.append(f"line {line}")
            continue
        patient = table.value(row, patient_column) if patient_column else None
        if image in rows:
            if rows[image][0] != label:
                conflicts.append(f"{image} ({rows[image][0]!r} and {label!r})")
            duplicates += 1
            continue
        rows[image] = (label, patient or None)
    if empty:
        raise DatasetImportError(
            f"{table.path}: rows with an empty {image_column!r} or {label_column!r} value: {describe_examples(empty)}; "
            "fill them in or remove the rows"
        )
    if conflicts:
        raise DatasetImportError(f"{table.path}: images listed with two different labels: {describe_examples(conflicts)}")
    if not rows:
        raise DatasetImportError(f"{table.path}: the label table has no rows")

    values = {label for label, _ in rows.values()}
    negative = pick_negative_class(values, options.negative_class, f"values of column {label_column!r}")
    class_names = [negative] + sorted(values - {negative})
    if len(class_names) < 2:
        raise DatasetImportError(f"{table.path}: column {label_column!r} has only the value {negative!r}; at least two classes are needed")
    index = {name: k for k, name in enumerate(class_names)}

    records = [
        Record(image_id=image, path=resolve_relative(options.images, image), label=index[label], patient_id=patient)
        for image, (label, patient) in rows.items()
    ]
    details = {"image_column": image_column, "label_column": label_column, "patient_column": patient_column}
    return LayoutResult(records=records, class_names=class_names, skipped={"duplicate_rows": duplicates}, details=details)

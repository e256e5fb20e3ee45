"""``--format chestxray14``: the NIH ChestX-ray14 label table (``Data_Entry_2017.csv``).

Classes are ``healthy`` ("No Finding") and ``abnormal`` (at least one of the
findings selected with ``--findings``, by default any finding). Images whose
findings are all outside the selection are dropped and counted in the
metadata under ``skipped.other_findings``.
"""

from __future__ import annotations

import logging

from pavae.data.importers.boxes import canonical_finding
from pavae.data.importers.common import DatasetImportError, LayoutResult, Record, describe_examples, list_files
from pavae.data.importers.generic import find_patient_column
from pavae.data.importers.options import ImportOptions
from pavae.data.importers.tables import read_table

log = logging.getLogger(__name__)

IMAGE_COLUMN = "Image Index"
LABEL_COLUMN = "Finding Labels"
PATIENT_COLUMN = "Patient ID"
ORIGINAL_SIZE_COLUMN = "OriginalImage[Width,Height]"
NO_FINDING = "No Finding"
CLASS_NAMES = ("healthy", "abnormal")


def index_files_by_name(root) -> dict[str, list]:
    """Map each file name under ``root`` (recursively) to the paths that carry it."""
    index: dict[str, list] = {}
    for path in list_files(root):
        index.setdefault(path.name, []).append(path)
    return index


def _select_findings(requested: tuple[str, ...] | None, vocabulary: set[str]) -> set[str] | None:
    if requested is None:
        return None
    known = {canonical_finding(name): name for name in vocabulary}
    unknown = [name for name in requested if canonical_finding(name) not in known]
    if unknown:
        raise DatasetImportError(
            f"--findings names findings that the label table does not contain: {', '.join(unknown)}; "
            f"the table contains {', '.join(sorted(vocabulary))}"
        )
    return {canonical_finding(name) for name in requested}


def collect(options: ImportOptions) -> LayoutResult:
    """Read a ChestX-ray14 label table and find its images anywhere under ``--images``.

    Args:
        options: the import options.

    Returns:
        The records (with the original image size when the table has
        ``OriginalImage[Width,Height]``) and the classes healthy and abnormal.

    Raises:
        DatasetImportError: a column is missing, a ``Finding Labels`` value is
            empty or mixes "No Finding" with findings, a ``--findings`` name is
            unknown, or an image is listed twice with different findings.
    """
    table = read_table(options.labels)
    image_column = table.find_column((options.image_column or IMAGE_COLUMN,), option="--image-column")
    label_column = table.find_column((options.label_column or LABEL_COLUMN,), option="--label-column")
    patient_column = find_patient_column(table, options.patient_column, defaults=(PATIENT_COLUMN,))
    size_column = table.find_column((ORIGINAL_SIZE_COLUMN,), required=False)

    parsed = []
    vocabulary: set[str] = set()
    for row, line in zip(table.rows, table.line_numbers):
        findings = [part.strip() for part in table.value(row, label_column).split("|") if part.strip()]
        vocabulary.update(name for name in findings if name != NO_FINDING)
        parsed.append((row, line, findings))
    selected = _select_findings(options.findings, vocabulary)

    files = index_files_by_name(options.images)
    records: dict[str, Record] = {}
    invalid, ambiguous, bad_sizes = [], [], []
    other_findings = 0
    for row, line, findings in parsed:
        image = table.value(row, image_column)
        if not findings or (NO_FINDING in findings and len(findings) > 1) or not image:
            invalid.append(f"line {line}: {table.value(row, label_column)!r}")
            continue
        if findings == [NO_FINDING]:
            label = 0
        elif selected is None or any(canonical_finding(name) in selected for name in findings):
            label = 1
        else:
            other_findings += 1
            continue
        if image in records:
            if records[image].label != label:
                invalid.append(f"line {line}: {image} listed again with another label")
            continue
        paths = files.get(image, [])
        if len(paths) > 1:
            ambiguous.append(f"{image} ({', '.join(str(path) for path in paths[:2])})")
        original_size = None
        if size_column is not None:
            try:
                width, height = (float(value) for value in table.values(row, size_column)[:2])
                original_size = (width, height)
            except ValueError:
                bad_sizes.append(f"line {line}")
        patient = table.value(row, patient_column) if patient_column else ""
        records[image] = Record(
            image_id=image,
            path=paths[0] if paths else None,
            label=label,
            patient_id=patient or None,
            original_size=original_size,
        )
    if invalid:
        raise DatasetImportError(
            f"{table.path}: invalid {label_column!r} values (expected findings joined by '|', or 'No Finding' alone): "
            f"{describe_examples(invalid)}"
        )
    if ambiguous:
        raise DatasetImportError(f"image names found in several folders under {options.images}: {describe_examples(ambiguous)}")
    if bad_sizes and options.bbox_frame == "original":
        raise DatasetImportError(f"{table.path}: invalid {ORIGINAL_SIZE_COLUMN} values: {describe_examples(bad_sizes)}")
    if other_findings:
        log.info("dropped %d images whose findings are all outside --findings", other_findings)

    details = {
        "image_column": image_column,
        "label_column": label_column,
        "patient_column": patient_column,
        "findings": sorted(vocabulary) if selected is None else sorted(name for name in vocabulary if canonical_finding(name) in selected),
    }
    return LayoutResult(
        records=list(records.values()),
        class_names=list(CLASS_NAMES),
        skipped={"other_findings": other_findings},
        details=details,
    )

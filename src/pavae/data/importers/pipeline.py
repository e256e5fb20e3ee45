"""The import pipeline: list, check, read, mask, lateralize, split, and write once at the end.

Nothing is written before every check has passed, and the data-set file is
written atomically, so a failed import leaves no output file behind.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np

from pavae.data.dataset import SPLITS, RadiographDataset
from pavae.data.importers import boxes as box_geometry
from pavae.data.importers import chestxray14, chexpert, folders, generic
from pavae.data.importers.common import DatasetImportError, LayoutResult, Record, describe_examples, list_files
from pavae.data.importers.options import DEFAULT_BBOX_FRAME, ImportOptions, validate_options
from pavae.data.readers import ImageReadError, LoadedRadiograph, load_mask, load_radiograph
from pavae.data.splits import SplitError, draw_labeled, stratified_split, warn_small_splits

log = logging.getLogger(__name__)

LAYOUT_READERS: dict[str, Callable[[ImportOptions], LayoutResult]] = {
    "generic": generic.collect,
    "folders": folders.collect,
    "chestxray14": chestxray14.collect,
    "chexpert": chexpert.collect,
}
ORIENTATION = "patient's left on the image's right (files are stored as found; the importer does not flip them)"
PROGRESS_MIN_FILES = 50
SKIP_HINT = "pass --skip-invalid to skip them"
READING_NOTE = (
    "grayscale with dense structures bright (DICOM Modality LUT applied, MONOCHROME1 inverted, RGB as luminance), "
    "centre crop or pad to a square, area-average resize, then min-max per image to uint8"
)


def run_import(options: ImportOptions) -> RadiographDataset:
    """Import the radiographs described by ``options`` and write ``options.out`` when it is set.

    Args:
        options: the import options.

    Returns:
        The imported data set.

    Raises:
        DatasetImportError: invalid options, tables or images, naming the
            values and the option that helps.
        SplitError: a class is too small for the split.
    """
    validate_options(options)
    frame = _bbox_frame(options)
    layout = LAYOUT_READERS[options.format](options)
    class_names = list(layout.class_names)
    skipped = {reason: count for reason, count in layout.skipped.items() if count}
    log.info("%s: %d images listed, classes %s", options.format, len(layout.records), ", ".join(class_names))

    records = _apply_limit(layout.records, options, skipped)
    records = _drop_missing(records, options, skipped)
    box_counts: dict[str, int] = {}
    if options.bbox is not None:
        box_counts = _attach_boxes(records, options, layout, skipped)
    mask_files = _index_masks(options.masks) if options.masks is not None else None

    mask_counts: Counter = Counter()
    records, loaded, masks = _read_all(records, options, mask_files, frame, skipped, mask_counts)
    labels = np.asarray([record.label for record in records], dtype=np.int64)
    if options.lateralize:
        records, loaded, masks, labels, class_names = _lateralize(records, loaded, masks, labels, class_names, options, skipped)
    _check_classes_present(labels, class_names, options)

    mirrored = _count_mirrored(loaded)
    groups, patient_source = _patient_groups(records, loaded)
    split = _split(labels, groups, class_names, options, patient_source)
    labeled = draw_labeled(labels, split, options.labeled_fraction, options.seed)
    warnings = warn_small_splits(labels, split, class_names)

    metadata = {
        "source": options.format,
        "import_options": options.to_metadata(),
        "layout": layout.details,
        "seed": options.seed,
        "split_proportions": list(options.split_proportions),
        "labeled_fraction": options.labeled_fraction,
        "labeled_seed": options.seed,
        "orientation": ORIENTATION,
        "reading": READING_NOTE,
        "skipped": skipped,
        "boxes": box_counts,
        "mask_files": dict(mask_counts),
        "patient_level_split": groups is not None,
        "patient_id_source": patient_source,
        "file_types": dict(Counter(item.file_type for item in loaded)),
        "mirrored_dicom_files": mirrored,
        "warnings": warnings,
    }
    dataset = RadiographDataset(
        images=np.stack([item.image for item in loaded]),
        labels=labels,
        class_names=tuple(class_names),
        masks=np.stack(masks),
        split=split,
        labeled=labeled,
        metadata=metadata,
        patient_ids=groups,
        image_ids=np.asarray([record.image_id for record in records]),
    )
    _log_summary(dataset, skipped)
    if options.out is not None:
        dataset.save(options.out)
        log.info("wrote %s", options.out)
    return dataset


# ---------------------------------------------------------------- listing
def _bbox_frame(options: ImportOptions):
    if options.bbox is None:
        return None
    return box_geometry.parse_frame(options.bbox_frame or DEFAULT_BBOX_FRAME[options.format])


def _apply_limit(records: list[Record], options: ImportOptions, skipped: dict[str, int]) -> list[Record]:
    if options.limit is None or len(records) <= options.limit:
        return records
    rng = np.random.default_rng(options.seed)
    keep = np.sort(rng.choice(len(records), size=options.limit, replace=False))
    skipped["limit"] = len(records) - options.limit
    log.info("--limit %d: importing %d of %d images drawn at random", options.limit, options.limit, len(records))
    return [records[index] for index in keep]


def _drop_missing(records: list[Record], options: ImportOptions, skipped: dict[str, int]) -> list[Record]:
    missing = [record.image_id for record in records if record.path is None]
    if not missing:
        return records
    if not options.skip_invalid:
        raise DatasetImportError(
            f"image files not found under --images {options.images}: {describe_examples(missing)}; {SKIP_HINT}"
        )
    log.warning("skipping %d images whose files are missing under %s", len(missing), options.images)
    skipped["missing"] = len(missing)
    return [record for record in records if record.path is not None]


def _attach_boxes(records: list[Record], options: ImportOptions, layout: LayoutResult, skipped: dict[str, int]) -> dict[str, int]:
    """Attach the --bbox boxes to the records they name; return the box counts for the metadata."""
    image_column = layout.details.get("image_column")
    candidates = ((image_column,) if image_column else ()) + box_geometry.IMAGE_COLUMNS
    table = box_geometry.read_boxes(options.bbox, image_columns=candidates)
    by_key: dict[str, list] = {}
    for key, found in table.items():
        for variant in (key, Path(key).name, Path(key).stem):
            by_key.setdefault(variant, found)
    selected = None
    if options.findings is not None:
        selected = {box_geometry.canonical_finding(name) for name in options.findings}

    counts = Counter()
    used_keys = set()
    for record in records:
        for variant in (record.image_id, Path(record.image_id).name, Path(record.image_id).stem):
            if variant in by_key:
                found = by_key[variant]
                used_keys.add(id(found))
                break
        else:
            continue
        for box in found:
            if selected is not None and box.finding and box_geometry.canonical_finding(box.finding) not in selected:
                counts["outside_findings"] += 1
            elif record.label == 0:
                counts["on_negative_images"] += 1
            else:
                record.boxes.append(box)
                counts["used"] += 1
    counts["for_images_not_imported"] = sum(len(found) for found in table.values() if id(found) not in used_keys)
    if counts["on_negative_images"]:
        log.warning("ignored %d boxes on images of the negative class", counts["on_negative_images"])
    log.info(
        "boxes: %d used, %d outside --findings, %d for images not imported",
        counts["used"],
        counts["outside_findings"],
        counts["for_images_not_imported"],
    )
    return dict(counts)


def _index_masks(root: Path) -> dict[str, dict[str, list[Path]]]:
    """Index the PNG masks under ``root`` by relative path without suffix and by file stem.

    A trailing ``_mask`` in a name is ignored, so ``a_mask.png`` matches ``a.png``.
    """
    by_relative: dict[str, list[Path]] = {}
    by_stem: dict[str, list[Path]] = {}
    for path in list_files(root):
        if path.suffix.lower() != ".png":
            continue
        relative = path.relative_to(root).with_suffix("").as_posix()
        for key in {relative, relative.removesuffix("_mask")}:
            by_relative.setdefault(key, []).append(path)
        for key in {path.stem, path.stem.removesuffix("_mask")}:
            by_stem.setdefault(key, []).append(path)
    log.info("found %d PNG masks under %s", len({p for paths in by_stem.values() for p in paths}), root)
    return {"relative": by_relative, "stem": by_stem}


def _find_mask(record: Record, options: ImportOptions, mask_files, stem_counts: Counter) -> Path | None:
    try:
        relative = record.path.relative_to(options.images).with_suffix("").as_posix()
    except ValueError:
        relative = Path(record.image_id).with_suffix("").as_posix()
    found = mask_files["relative"].get(relative)
    if found is None and stem_counts[record.path.stem] == 1:
        # Match by stem only when no other image shares it (CheXpert names every file view1_frontal).
        found = mask_files["stem"].get(record.path.stem)
    if not found:
        return None
    if len(set(found)) > 1:
        raise DatasetImportError(f"several masks match {record.image_id}: {describe_examples(str(path) for path in found)}")
    return found[0]


# ----------------------------------------------------------------- reading
def _progress(items: list, description: str):
    stream = sys.stderr
    disabled = len(items) < PROGRESS_MIN_FILES or not (hasattr(stream, "isatty") and stream.isatty())
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return items
    return tqdm(items, desc=description, unit="image", disable=disabled, file=stream)


def _read_all(records: list[Record], options: ImportOptions, mask_files, frame, skipped: dict[str, int], mask_counts: Counter):
    """Read every image and its mask, and stop on unreadable files unless --skip-invalid.

    Masks and boxes of negative-class images are ignored and counted, because
    a healthy image has no lesion to mark.
    """
    stem_counts = Counter(record.path.stem for record in records)
    kept, loaded, masks = [], [], []
    failures, outside = [], []
    for record in _progress(records, "reading images"):
        try:
            item = load_radiograph(record.path, size=options.size, fit=options.fit, voi_lut=options.voi_lut)
            mask = np.zeros((options.size, options.size), dtype=np.uint8)
            mask_path = _find_mask(record, options, mask_files, stem_counts) if mask_files is not None else None
            if mask_path is not None and record.label == 0:
                mask_counts["on_negative_images"] += 1
            elif mask_path is not None:
                mask |= load_mask(mask_path, item.source_shape, options.size, options.fit)
                mask_counts["used"] += 1
        except ImageReadError as error:
            failures.append(str(error))
            log.debug("unreadable: %s", error)
            continue
        if record.boxes:
            box_frame = _frame_for(record, item, frame, options)
            for box in record.boxes:
                problem = box_geometry.check_box_in_frame(box, box_frame, record.image_id, _frame_text(frame))
                if problem:
                    outside.append(problem)
                mask |= box_geometry.box_to_mask(box, box_frame, item.source_shape, item.window, options.size)
        kept.append(record)
        loaded.append(item)
        masks.append(mask)

    if failures and not options.skip_invalid:
        raise DatasetImportError(f"unreadable images: {describe_examples(failures)}; {SKIP_HINT}")
    if failures:
        log.warning("skipped %d unreadable images, e.g. %s", len(failures), failures[0])
        skipped["unreadable"] = len(failures)
    if outside:
        raise DatasetImportError(
            f"boxes reach outside their frame, so --bbox-frame is probably wrong: {describe_examples(outside)}; "
            "set --bbox-frame to the pixel size the boxes were drawn on (WIDTHxHEIGHT, 'image' or 'original')"
        )
    if mask_counts["on_negative_images"]:
        log.warning("ignored %d mask files of negative-class images", mask_counts["on_negative_images"])
    if not loaded:
        raise DatasetImportError("no image could be imported")
    return kept, loaded, masks


def _frame_for(record: Record, item: LoadedRadiograph, frame, options: ImportOptions) -> tuple[float, float]:
    if frame == "image":
        return float(item.source_shape[1]), float(item.source_shape[0])
    if frame == "original":
        if record.original_size is None:
            raise DatasetImportError(
                f"--bbox-frame original needs the OriginalImage[Width,Height] columns, missing for {record.image_id} "
                f"in {options.labels}"
            )
        return record.original_size
    return frame


def _frame_text(frame) -> str:
    return frame if isinstance(frame, str) else f"{frame[0]:g}x{frame[1]:g}"


# ------------------------------------------------------------ lateralizing
def _lateralize(records, loaded, masks, labels, class_names, options: ImportOptions, skipped: dict[str, int]):
    """Split each positive class into left_ and right_ by the side of the lesion centroid."""
    new_names = [class_names[0]]
    for name in class_names[1:]:
        new_names += [f"left_{name}", f"right_{name}"]
    keep, new_labels, no_side = [], [], []
    for index, (record, mask, label) in enumerate(zip(records, masks, labels.tolist())):
        if label == 0:
            keep.append(index)
            new_labels.append(0)
            continue
        side = box_geometry.lesion_side(mask)
        if side is None:
            no_side.append(record.image_id)
            continue
        keep.append(index)
        new_labels.append(1 + 2 * (label - 1) + (0 if side == "left" else 1))
    if no_side and not options.skip_invalid:
        raise DatasetImportError(
            f"--lateralize needs a lesion mask or box off the midline on every positive image; none for "
            f"{describe_examples(no_side)}; pass --skip-invalid to drop these images"
        )
    if no_side:
        log.warning("--lateralize: dropped %d positive images without a lesion side", len(no_side))
        skipped["no_lesion_side"] = len(no_side)
    records, loaded, masks = ([items[index] for index in keep] for items in (records, loaded, masks))
    return records, loaded, masks, np.asarray(new_labels, dtype=np.int64), new_names


def _count_mirrored(loaded: list[LoadedRadiograph]) -> int:
    """Count DICOM files whose PatientOrientation puts the patient's right on the image's right."""
    mirrored = sum(1 for item in loaded if item.column_direction == "R")
    if mirrored:
        # NOTE: such images are kept as stored, not flipped, so their sides (and --lateralize) are mirrored.
        log.warning(
            "%d DICOM files have PatientOrientation 'R\\...' (patient's right on the image's right); "
            "they are imported as stored, so their left and right are mirrored",
            mirrored,
        )
    return mirrored


# ------------------------------------------------------------- splitting
def _check_classes_present(labels: np.ndarray, class_names: list[str], options: ImportOptions) -> None:
    counts = np.bincount(labels, minlength=len(class_names))
    empty = [name for name, count in zip(class_names, counts) if count == 0]
    if empty:
        hint = ""
        if options.lateralize:
            hint = "; --lateralize found no lesion centroid on that side"
        elif options.format in ("generic", "folders"):
            hint = "; check --negative-class"
        raise DatasetImportError(
            f"no images of class {', '.join(repr(name) for name in empty)} remain after reading "
            f"(counts {dict(zip(class_names, counts.tolist()))}){hint}"
        )


def _patient_groups(records: list[Record], loaded: list[LoadedRadiograph]) -> tuple[np.ndarray | None, str | None]:
    """Return the patient id per image and where it came from (table, DICOM PatientID), or (None, None)."""
    ids = [record.patient_id for record in records]
    source = "label table" if any(ids) else None
    if not any(ids):
        ids = [item.patient_id for item in loaded]
        source = "DICOM PatientID" if any(ids) else None
        if source and len(set(ids)) == 1 and len(ids) > 1:
            log.warning(
                "all %d DICOM files carry the PatientID %r (anonymised?); splitting image by image", len(ids), ids[0]
            )
            return None, None
    if source is None:
        log.warning("no patient ids: images are split one by one, so one patient's images may land in two splits")
        return None, None
    unknown = [index for index, value in enumerate(ids) if not value]
    if unknown:
        log.warning("%d images have no patient id; each is treated as its own patient", len(unknown))
    groups = [value if value else f"image:{records[index].image_id}" for index, value in enumerate(ids)]
    return np.asarray(groups, dtype=str), source


def _split(labels, groups, class_names, options: ImportOptions, patient_source) -> np.ndarray:
    try:
        return stratified_split(labels, options.split_proportions, options.seed, groups=groups, class_names=class_names)
    except SplitError as error:
        extra = f" (patient ids from the {patient_source})" if patient_source else ""
        raise SplitError(f"{error}{extra}") from error


def _log_summary(dataset: RadiographDataset, skipped: dict[str, int]) -> None:
    counts = dataset.counts()
    for split in SPLITS:
        per_class = ", ".join(f"{name} {counts[split][name]}" for name in dataset.class_names)
        log.info("%s: %d images (%s)", split, counts[split]["total"], per_class)
    if skipped:
        log.info("skipped: %s", ", ".join(f"{reason} {count}" for reason, count in sorted(skipped.items())))

"""``--format folders``: one sub-folder of images per class."""

from __future__ import annotations

import logging

from pavae.data.importers.common import (
    DatasetImportError,
    LayoutResult,
    Record,
    describe_examples,
    is_image_candidate,
    list_files,
    pick_negative_class,
)
from pavae.data.importers.options import ImportOptions

log = logging.getLogger(__name__)


def collect(options: ImportOptions) -> LayoutResult:
    """List the images in each class folder under ``--images``.

    Every non-hidden sub-folder is a class, named after the folder. Files are
    found recursively. A file counts as an image when its suffix is in
    ``IMAGE_SUFFIXES`` or its content is DICOM. Other files are skipped
    and counted. Folder layouts carry no patient ids, so images are split
    one by one unless they are DICOM files with a PatientID.

    Args:
        options: the import options.

    Returns:
        The records and class names (the negative folder first, the others sorted).

    Raises:
        DatasetImportError: fewer than two class folders, an empty class
            folder, or no clear negative folder.
    """
    folders = sorted(path for path in options.images.iterdir() if path.is_dir() and not path.name.startswith("."))
    if len(folders) < 2:
        raise DatasetImportError(
            f"--images {options.images} must contain one sub-folder per class (at least two), found "
            f"{[folder.name for folder in folders]}"
        )
    names = [folder.name for folder in folders]
    negative = pick_negative_class(names, options.negative_class, f"class folders in {options.images}")
    class_names = [negative] + sorted(set(names) - {negative})
    index = {name: k for k, name in enumerate(class_names)}

    records, not_image, empty = [], 0, []
    for folder in folders:
        found = 0
        for path in list_files(folder):
            if not is_image_candidate(path):
                not_image += 1
                log.debug("skipping %s: neither an image suffix nor DICOM content", path)
                continue
            image_id = path.relative_to(options.images).as_posix()
            records.append(Record(image_id=image_id, path=path, label=index[folder.name]))
            found += 1
        if found == 0:
            empty.append(folder.name)
    if empty:
        raise DatasetImportError(f"class folders without images under {options.images}: {describe_examples(empty)}")
    if not_image:
        log.info("skipped %d files that are neither images nor DICOM", not_image)
    return LayoutResult(records=records, class_names=class_names, skipped={"not_image": not_image}, details={})

"""Options of ``pavae data import``: the command-line arguments and their checks."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from pavae.data.dataset import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from pavae.data.importers.common import DatasetImportError
from pavae.data.readers import FIT_MODES
from pavae.data.splits import DEFAULT_PROPORTIONS, parse_proportions

FORMATS = ("generic", "folders", "chestxray14", "chexpert")
UNCERTAIN_POLICIES = ("ignore", "positive", "negative")
DEFAULT_BBOX_FRAME = {"chestxray14": "1024x1024", "generic": "image"}

# Options that only some layouts read; giving one to another layout is an error, not a silent no-op.
LAYOUT_OPTIONS = {
    "labels": ("generic", "chestxray14", "chexpert"),
    "bbox": ("generic", "chestxray14"),
    "image_column": ("generic", "chestxray14", "chexpert"),
    "patient_column": ("generic", "chestxray14", "chexpert"),
    "label_column": ("generic", "chestxray14"),
    "negative_class": ("generic", "folders"),
    "findings": ("chestxray14",),
    "finding": ("chexpert",),
    "uncertain": ("chexpert",),
    "include_lateral": ("chexpert",),
}

EPILOG = """\
examples:
  pavae data import --format chestxray14 --images nih/images --labels nih/Data_Entry_2017.csv \\
      --bbox nih/BBox_List_2017.csv --out data/cxr14.npz
  pavae data import --format chexpert --images chexpert --labels chexpert/CheXpert-v1.0-small/train.csv \\
      --finding "Lung Opacity" --out data/chexpert.npz
  pavae data import --format folders --images by_class --negative-class normal --out data/folders.npz
  pavae data import --format generic --images scans --labels labels.csv --image-column file \\
      --label-column diagnosis --negative-class none --out data/generic.npz

The images are stored as found: the patient's left is expected on the image's right.
"""


@dataclasses.dataclass
class ImportOptions:
    """Every setting of one import; field names match the ``pavae data import`` options.

    ``None`` means "the layout's default" for the layout-specific fields.
    """

    format: str
    images: Path
    labels: Path | None = None
    out: Path | None = None
    bbox: Path | None = None
    bbox_frame: str | None = None
    masks: Path | None = None
    size: int = 64
    fit: str = "crop"
    seed: int = 0
    labeled_fraction: float = 0.1
    split_proportions: tuple[float, float, float] = DEFAULT_PROPORTIONS
    patient_column: str | None = None
    image_column: str | None = None
    label_column: str | None = None
    negative_class: str | None = None
    findings: tuple[str, ...] | None = None
    finding: str | None = None
    uncertain: str | None = None
    include_lateral: bool = False
    lateralize: bool = False
    voi_lut: bool = False
    skip_invalid: bool = False
    limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("images", "labels", "out", "bbox", "masks"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, Path(value))
        if isinstance(self.findings, str):
            self.findings = tuple(part.strip() for part in self.findings.split(",") if part.strip())
        elif self.findings is not None:
            self.findings = tuple(str(part).strip() for part in self.findings)
        self.split_proportions = parse_proportions(self.split_proportions)

    def to_metadata(self) -> dict[str, Any]:
        """Return the options as JSON-ready values, paths as strings."""
        result = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            result[field.name] = value
        return result


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``pavae data import`` options to ``parser``.

    Args:
        parser: the sub-command parser.
    """
    parser.description = "Read real radiographs (PNG, JPEG, DICOM) and their labels into one data-set .npz file."
    parser.epilog = EPILOG
    source = parser.add_argument_group("source")
    source.add_argument("--format", required=True, choices=FORMATS, help="layout of the source data")
    source.add_argument("--images", required=True, type=Path, metavar="DIR", help="folder with the image files")
    source.add_argument("--labels", type=Path, metavar="CSV", help="label table (CSV); required except for --format folders")
    source.add_argument("--bbox", type=Path, metavar="CSV", help="box table (CSV: image, x, y, w, h); boxes become filled lesion masks")
    source.add_argument(
        "--bbox-frame",
        metavar="FRAME",
        help="pixel space of the --bbox coordinates: WIDTHxHEIGHT (default 1024x1024 for chestxray14, the size of "
        "its released PNGs), 'image' (the pixels of each image file; default for generic) or 'original' "
        "(the OriginalImage[Width,Height] columns of the label table)",
    )
    source.add_argument("--masks", type=Path, metavar="DIR", help="folder of PNG lesion masks named like the images (any sub-folders)")
    source.add_argument("--limit", type=int, metavar="N", help="import at most N images, drawn at random with --seed (quick trials)")

    output = parser.add_argument_group("output")
    output.add_argument("--out", required=True, type=Path, metavar="FILE", help="data-set file to write (.npz); written only on success")
    output.add_argument("--size", type=int, default=64, metavar="N",
                        help="output image side in pixels, 16 to 1024 (default 64); the generators need 16, 32, 64, "
                             "128 or 256")
    output.add_argument("--fit", choices=FIT_MODES, default="crop", help="make non-square images square by centre crop or by padding (default crop)")
    output.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the split, the labelled subset and --limit (default 0)")
    output.add_argument("--labeled-fraction", type=float, default=0.1, metavar="F", help="fraction of training images per class whose label may be read (default 0.1)")
    output.add_argument(
        "--split-proportions",
        metavar="TRAIN,VAL,TEST",
        default=",".join(str(value) for value in DEFAULT_PROPORTIONS),
        help="train,val,test fractions of the images (default 0.6667,0.1667,0.1666, i.e. 8000/2000/2000 of 12000)",
    )
    output.add_argument("--voi-lut", action="store_true", help="apply the DICOM VOI LUT or window before scaling (default off)")
    output.add_argument("--skip-invalid", action="store_true", help="skip missing or unreadable images (and, with --lateralize, positives without a lesion) instead of stopping")
    output.add_argument(
        "--lateralize",
        action="store_true",
        help="split each positive class into left_<name> and right_<name> by the side of the lesion mask or box centroid "
        "(patient's left = image's right half)",
    )

    columns = parser.add_argument_group("label table columns")
    columns.add_argument("--image-column", metavar="NAME", help="column with the image path or file name")
    columns.add_argument("--label-column", metavar="NAME", help="column with the class name (generic) or the findings (chestxray14)")
    columns.add_argument("--patient-column", metavar="NAME", help="column with the patient id; patients never span two splits")
    columns.add_argument("--negative-class", metavar="NAME", help="label value or folder name of the negative (healthy) class, which becomes class 0")

    findings = parser.add_argument_group("findings")
    findings.add_argument("--findings", metavar="A,B,...", help="chestxray14: comma-separated findings counted as positive (default all); images with only other findings are dropped")
    findings.add_argument("--finding", metavar="NAME", help="chexpert: finding column that defines the positive class (default 'Lung Opacity')")
    findings.add_argument("--uncertain", choices=UNCERTAIN_POLICIES, help="chexpert: treatment of uncertain (-1) labels (default ignore: drop the image)")
    findings.add_argument("--include-lateral", action="store_true", help="chexpert: also import lateral views (default frontal only)")


def options_from_namespace(args: argparse.Namespace) -> ImportOptions:
    """Build :class:`ImportOptions` from parsed arguments, ignoring the CLI's own attributes.

    Raises:
        ValueError: an option value is invalid (see :func:`validate_options`).
    """
    names = {field.name for field in dataclasses.fields(ImportOptions)}
    values = {name: value for name, value in vars(args).items() if name in names}
    return ImportOptions(**values)


def validate_options(options: ImportOptions) -> None:
    """Check option values, their combination with the layout, and that the inputs exist.

    Raises:
        DatasetImportError: naming the option and the value.
    """
    if options.out is not None and Path(options.out).is_dir():
        raise DatasetImportError(f"--out {options.out} is a folder: give a file path such as {Path(options.out) / 'dataset.npz'}")
    if options.format not in FORMATS:
        raise DatasetImportError(f"--format must be one of {', '.join(FORMATS)}, got {options.format!r}")
    if not MIN_IMAGE_SIZE <= options.size <= MAX_IMAGE_SIZE:
        raise DatasetImportError(
            f"--size must lie between {MIN_IMAGE_SIZE} and {MAX_IMAGE_SIZE} pixels, got {options.size} "
            "(the study's default is 64)"
        )
    if options.fit not in FIT_MODES:
        raise DatasetImportError(f"--fit must be one of {', '.join(FIT_MODES)}, got {options.fit!r}")
    if not 0.0 < options.labeled_fraction <= 1.0:
        raise DatasetImportError(f"--labeled-fraction must lie in (0, 1], got {options.labeled_fraction}")
    if options.limit is not None and options.limit < 1:
        raise DatasetImportError(f"--limit must be a positive number of images, got {options.limit}")
    if options.uncertain is not None and options.uncertain not in UNCERTAIN_POLICIES:
        raise DatasetImportError(f"--uncertain must be one of {', '.join(UNCERTAIN_POLICIES)}, got {options.uncertain!r}")
    if options.findings is not None and not options.findings:
        raise DatasetImportError("--findings is empty; give comma-separated finding names or leave it out for all findings")

    for name, layouts in LAYOUT_OPTIONS.items():
        value = getattr(options, name)
        if value not in (None, False) and options.format not in layouts:
            flag = "--" + name.replace("_", "-")
            raise DatasetImportError(f"{flag} is not used by --format {options.format}; it applies to {', '.join(layouts)}")
    if options.bbox_frame is not None and options.bbox is None:
        raise DatasetImportError("--bbox-frame needs --bbox")
    if options.labels is None and options.format != "folders":
        raise DatasetImportError(f"--format {options.format} needs a label table: pass --labels FILE.csv")
    if options.lateralize and options.bbox is None and options.masks is None:
        raise DatasetImportError("--lateralize needs lesion positions: pass --bbox or --masks")

    if not options.images.is_dir():
        raise DatasetImportError(f"--images {options.images} is not a folder")
    for name in ("labels", "bbox"):
        path = getattr(options, name)
        if path is not None and path.is_dir():
            raise DatasetImportError(f"--{name} {path} is a folder: pass the CSV file inside it")
        if path is not None and not path.is_file():
            raise DatasetImportError(f"--{name} {path} not found")
    if options.masks is not None and not options.masks.is_dir():
        raise DatasetImportError(f"--masks {options.masks} is not a folder")

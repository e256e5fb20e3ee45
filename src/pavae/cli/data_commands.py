"""``pavae data make | import | preview``: build and inspect data-set files."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pavae.cli.common import COMMAND_OPTIONS

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="make, import or preview a data-set file")
    commands = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    commands.required = True

    make = commands.add_parser(
        "make", parents=[COMMAND_OPTIONS],
        help="write the procedural radiograph data set (Table 1: 12,000 images)",
    )
    make.add_argument("--out", required=True, type=Path, help="output .npz file")
    make.add_argument("--seed", type=int, default=0, help="random seed of the draw (default 0)")
    make.add_argument("--scale", type=float, default=1.0, help="image count relative to the 12,000-image set (default 1)")
    make.add_argument("--difficulty", type=float, default=None, help="difficulty knob; default: the calibrated value")
    make.add_argument("--size", type=int, default=64,
                      help="image side in pixels, 16 to 1024 (default 64); the generators need 16, 32, 64, 128 or 256")
    make.add_argument("--drift", type=float, default=0.0, help="acquisition drift step applied to every image (default 0)")
    make.set_defaults(handler=run_make)

    from pavae.data.importers import add_import_arguments

    importer = commands.add_parser(
        "import",
        help="read real radiographs (PNG, JPEG, DICOM) and a label table into a data-set file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[COMMAND_OPTIONS],
    )
    add_import_arguments(importer)
    importer.set_defaults(handler=run_import)

    preview = commands.add_parser(
        "preview", parents=[COMMAND_OPTIONS],
        help="draw a grid of images per class with lesion-mask outlines",
    )
    preview.add_argument("file", type=Path, help="data-set .npz file")
    preview.add_argument("--out", required=True, type=Path, help="output PNG")
    preview.add_argument("--per-class", type=int, default=8, help="images per class (default 8)")
    preview.add_argument("--split", default="train", choices=("train", "val", "test"), help="split to draw from")
    preview.add_argument("--seed", type=int, default=0, help="seed for picking the images")
    preview.add_argument("--no-masks", action="store_true", help="do not draw mask outlines")
    preview.add_argument("--preprocessed", action="store_true", help="show the model input instead of the stored image")
    preview.set_defaults(handler=run_preview)


def _warn_about_size(dataset) -> None:
    from pavae.data.dataset import generator_size_warning

    warning = generator_size_warning(dataset.image_size[0])
    if warning:
        log.warning(warning)


def run_make(args: argparse.Namespace) -> int:
    from pavae.data.phantom import make_procedural_dataset

    dataset = make_procedural_dataset(
        seed=args.seed, scale=args.scale, difficulty=args.difficulty, image_size=args.size, drift=args.drift
    )
    dataset.save(args.out)
    _warn_about_size(dataset)
    counts = dataset.counts()
    print(
        f"wrote {args.out}: {len(dataset.images)} images of {dataset.image_size[0]}x{dataset.image_size[1]}, "
        f"classes {', '.join(dataset.class_names)}; train {counts['train']['total']} "
        f"({counts['train_labeled']['total']} labelled), val {counts['val']['total']}, test {counts['test']['total']}"
    )
    return 0


def run_import(args: argparse.Namespace) -> int:
    from pavae.data.importers import import_from_args

    dataset = import_from_args(args)
    _warn_about_size(dataset)
    counts = dataset.counts()
    print(
        f"wrote {args.out}: {len(dataset.images)} images, classes {', '.join(dataset.class_names)}; "
        f"train {counts['train']['total']} ({counts['train_labeled']['total']} labelled), "
        f"val {counts['val']['total']}, test {counts['test']['total']}"
    )
    return 0


def run_preview(args: argparse.Namespace) -> int:
    from pavae.data.dataset import RadiographDataset
    from pavae.report.preview import draw_preview

    dataset = RadiographDataset.load(args.file)
    draw_preview(
        dataset,
        args.out,
        per_class=args.per_class,
        split=args.split,
        seed=args.seed,
        outline_masks=not args.no_masks,
        preprocessed=args.preprocessed,
    )
    print(f"wrote {args.out}")
    return 0

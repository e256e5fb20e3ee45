"""``pavae reproduce | train | sample | report``: the study and its single steps."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pavae.cli.common import COMMAND_OPTIONS

log = logging.getLogger(__name__)


def _add_config_options(parser: argparse.ArgumentParser, default_profile: str) -> None:
    parser.add_argument("--profile", default=default_profile, choices=("smoke", "quick", "paper"),
                        help=f"preset sizes: smoke (a tenth of the procedural data, about half a minute on 2 idle CPU "
                             f"cores), quick (full data, short generator training, about 12 minutes), paper (full "
                             f"protocol, 3 seeds); "
                             f"default {default_profile}")
    parser.add_argument("--config", type=Path, default=None, help="JSON file of settings grouped like config.json")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one setting, e.g. --set train.lr=5e-4 or --set data.labeled_fraction=0.5 "
                             "(repeatable; 'pavae reproduce --list-keys' shows every key)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                        help="where to compute (default auto: CUDA when available)")


def register(subparsers: argparse._SubParsersAction) -> None:
    reproduce = subparsers.add_parser(
        "reproduce", parents=[COMMAND_OPTIONS],
        help="run the whole study and write metrics, figures and report",
    )
    reproduce.add_argument("--out", type=Path, help="run folder; finished units found there are reused")
    reproduce.add_argument("--data", type=Path, default=None,
                           help="data-set file from 'pavae data make' or 'pavae data import' (default: make the "
                                "procedural data set)")
    reproduce.add_argument("--seeds", type=int, default=None, help="number of seeds (default from the profile)")
    reproduce.add_argument("--strategies", default=None,
                           help="comma-separated strategies (default real_only,traditional,standard_vae,pa_vae; "
                                "ablations: pa_vae_no_path, pa_vae_no_class_prior, pa_vae_beta_minus_20, pa_vae_no_mask)")
    reproduce.add_argument("--list-keys", action="store_true",
                           help="print every configuration key with its value under --profile and exit")
    _add_config_options(reproduce, "paper")
    reproduce.set_defaults(handler=run_reproduce)

    train = subparsers.add_parser(
        "train", parents=[COMMAND_OPTIONS],
        help="train one generator with its frozen networks",
    )
    train.add_argument("--strategy", required=True, choices=("pa_vae", "standard_vae", "pa_vae_no_path",
                                                              "pa_vae_no_class_prior", "pa_vae_beta_minus_20",
                                                              "pa_vae_no_mask"),
                       help="generator to train")
    train.add_argument("--data", type=Path, required=True, help="data-set file")
    train.add_argument("--out", type=Path, required=True, help="output folder (checkpoints, history, configuration)")
    train.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    _add_config_options(train, "paper")
    train.set_defaults(handler=run_train)

    sample = subparsers.add_parser(
        "sample", parents=[COMMAND_OPTIONS],
        help="write class-conditional samples of a trained generator",
    )
    sample.add_argument("--checkpoint", type=Path, required=True,
                        help="folder written by 'pavae train', or a generator unit of a study run")
    sample.add_argument("--class", dest="class_name", required=True, help="class name, e.g. left_opacity")
    sample.add_argument("-n", type=int, default=16, help="number of images (default 16)")
    sample.add_argument("--out", type=Path, required=True, help="an .npz file, or a folder for PNG files")
    sample.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    sample.add_argument("--temperature", type=float, default=1.0,
                        help="scale of the prior standard deviation, > 0 (default 1)")
    sample.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where to sample (default auto: CUDA when available)")
    sample.set_defaults(handler=run_sample)

    report = subparsers.add_parser(
        "report", parents=[COMMAND_OPTIONS],
        help="rebuild figures and report.md of a finished run from metrics.json",
    )
    report.add_argument("--run", type=Path, required=True, help="run folder containing metrics.json")
    report.add_argument("--pdf", action="store_true", help="also write each figure as PDF")
    report.set_defaults(handler=run_report)


def _resolve(args: argparse.Namespace, **top_level):
    from pavae.config import resolve_config

    return resolve_config(args.profile, args.config, args.overrides, device=args.device, **top_level)


def run_reproduce(args: argparse.Namespace) -> int:
    if args.list_keys:
        from pavae.config import known_keys, resolve_config

        config = resolve_config(args.profile)
        for key in known_keys():
            group, _, name = key.partition(".")
            value = getattr(getattr(config, group), name) if name else getattr(config, group)
            print(f"{key} = {','.join(value) if isinstance(value, tuple) else value}")
        return 0
    if args.out is None:
        raise ValueError("--out is required: the folder that receives metrics.json, report.md and figures")
    from pavae.study.pipeline import run_study

    config = _resolve(args, seeds=args.seeds, strategies=args.strategies)
    content = run_study(config, args.out, args.data)
    print(f"wrote {args.out / 'metrics.json'}, {args.out / 'report.md'} and {args.out / 'figures'}/")
    for name, entry in content["strategies"].items():
        auc = entry["summary"]["auc"]
        spread = f" ± {auc['std']:.3f}" if auc.get("n", 1) > 1 else ""
        print(f"  {name:<24} AUC {auc['mean']:.3f}{spread}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from pavae.study.single import train_single_generator

    config = _resolve(args)
    folder = train_single_generator(config, args.strategy, args.data, args.out, args.seed)
    print(f"wrote {folder}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from pavae.study.single import write_samples

    path = write_samples(args.checkpoint, args.class_name, args.n, args.out, args.seed, args.temperature, args.device)
    print(f"wrote {args.n} '{args.class_name}' samples to {path}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from pavae.report.figures import draw_all
    from pavae.report.markdown import write_report
    from pavae.utils.io import read_json

    metrics_path = args.run / "metrics.json"
    if not metrics_path.exists():
        raise FileNotFoundError(f"{metrics_path} not found; run 'pavae reproduce --out {args.run}' first")
    content = read_json(metrics_path)
    from pavae.study.schema import validate_metrics

    validate_metrics(content)
    draw_all(args.run, content, pdf=args.pdf)
    path = write_report(args.run, content)
    print(f"wrote {path} and {args.run / 'figures'}/")
    return 0

"""The units of one study: data, frozen networks, evaluation extractor, generators, downstream, evaluation.

Each ``*_unit`` function registers one unit with the :class:`UnitStore` and
returns its folder. The folder's files are the unit's only output, so a unit
can be reused by a later run or computed elsewhere.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pavae.config import StudyConfig
from pavae.data.augment import AugmentConfig, augment
from pavae.data.dataset import GENERATOR_SIZES, RadiographDataset
from pavae.data.preprocess import PreprocessConfig
from pavae.data.scarcity import EvaluationSplit, ScarceTrainingSet
from pavae.models.networks import ClassifierCNN, ClassifierConfig
from pavae.models.vae import ConditionalVAE, VAEConfig
from pavae.study.checkpoints import load_model, save_model
from pavae.study.strategies import Strategy, get_strategy
from pavae.study.units import UnitStore, fingerprint
from pavae.training.classifier import FitSchedule, fit_classifier, predict_proba
from pavae.training.common import seed_everything, to_tensor
from pavae.training.frozen import FrozenNetworks, freeze, train_frozen_classifier, train_segmenter
from pavae.training.generator import balanced_labels, generate, train_generator
from pavae.utils.io import atomic_savez, atomic_write_json, read_json

log = logging.getLogger(__name__)

# Offset between the study's data seed and the independent draw of the evaluation extractor.
INDEPENDENT_DRAW_OFFSET = 1_000_003
MIN_PER_CLASS = 50


def preprocess_config(config: StudyConfig) -> PreprocessConfig:
    data = config.data
    return PreprocessConfig(data.clip_low, data.clip_high, data.equalize, data.zscore, data.clahe)


def augment_config(config: StudyConfig) -> AugmentConfig:
    d = config.downstream
    return AugmentConfig(d.aug_rotation, d.aug_shift, d.aug_scale, d.aug_intensity, d.aug_noise, d.aug_hflip)


@dataclasses.dataclass
class StudyContext:
    """Shared inputs of every unit after the data unit."""

    config: StudyConfig
    store: UnitStore
    device: torch.device
    dataset: RadiographDataset
    data_fingerprint: str
    train_set: ScarceTrainingSet
    val: EvaluationSplit
    test: EvaluationSplit

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes


# ----------------------------------------------------------------------- data
def data_unit(store: UnitStore, config: StudyConfig, data_path: Path | None) -> Path:
    """Make the procedural data set or load ``data_path``, redraw the labelled subset if asked, save it."""
    data = config.data
    if data_path is not None:
        source = RadiographDataset.load(data_path)
        unit_fp = fingerprint("data", source.fingerprint(), data.labeled_fraction, data.seed)
    else:
        source = None
        unit_fp = fingerprint("data", "procedural", data.seed, data.scale, data.difficulty, data.image_size,
                              data.labeled_fraction)

    def work(folder: Path) -> dict[str, Any]:
        if source is None:
            from pavae.data.phantom import make_procedural_dataset

            dataset = make_procedural_dataset(seed=data.seed, scale=data.scale, difficulty=data.difficulty,
                                              image_size=data.image_size)
        else:
            dataset = source
        if data.labeled_fraction is not None:
            dataset = dataset.with_labeled_fraction(data.labeled_fraction, data.seed)
        dataset.save(folder / "dataset.npz")
        return {"source": dataset.metadata.get("source", "unknown"), "fingerprint": dataset.fingerprint()}

    return store.run("data", unit_fp, "data", work)


def _count_phrase(count: int, kind: str = "") -> str:
    """Return "1 image" or "N images", with ``kind`` between the count and the noun."""
    noun = "image" if count == 1 else "images"
    return " ".join(part for part in (str(count), kind, noun) if part)


def small_split_warnings(dataset: RadiographDataset, splits: tuple[str, ...] = ("val", "test")) -> list[str]:
    """Return one warning per split and class with fewer than ``MIN_PER_CLASS`` images."""
    counts = dataset.counts()
    warnings_found = []
    for split in splits:
        for name in dataset.class_names:
            if counts[split][name] < MIN_PER_CLASS:
                warnings_found.append(
                    f"the {split} split has only {_count_phrase(counts[split][name])} of class '{name}'. AUC and "
                    f"sensitivity estimates from fewer than {MIN_PER_CLASS} per class are unstable "
                    "(see the DeLong intervals)"
                )
    labelled = counts["train_labeled"]
    for name in dataset.class_names:
        if labelled[name] < 10:
            warnings_found.append(f"only {_count_phrase(labelled[name], 'labelled training')} of class '{name}'")
    return warnings_found


def protocol_notes(dataset: RadiographDataset) -> list[str]:
    """Describe what the report's numbers rest on: validation labels and images that share a patient."""
    counts = dataset.counts()
    notes = [
        f"The validation split ({counts['val']['total']} images) is fully labelled, as in the paper's protocol. It "
        "selects the checkpoint of every network and the decision threshold, so the study uses these labels on top "
        f"of the {counts['train_labeled']['total']} labelled training images."
    ]
    if dataset.patient_ids is not None:
        images, patients, largest = _patient_counts(dataset, "test")
        if largest > 1:
            notes.append(
                f"The test split has {images} images from {patients} patients (up to "
                f"{largest} from one patient). DeLong intervals and p-values treat images as independent, "
                "so here they are narrower than the patient-level uncertainty."
            )
        images, _, largest = _patient_counts(dataset, "val")
        if largest > max(1, 0.1 * images):
            notes.append(
                f"One patient has {largest} of the {images} validation images. Checkpoints and "
                "thresholds chosen on this split can follow that patient rather than the task, so validation "
                "and test results may disagree."
            )
    return notes


def _patient_counts(dataset: RadiographDataset, split: str) -> tuple[int, int, int]:
    """Return the image count, the patient count and the most images from one patient in ``split``."""
    ids = dataset.patient_ids[dataset.indices(split)]
    if len(ids) == 0:
        return 0, 0, 0
    _, per_patient = np.unique(ids, return_counts=True)
    return len(ids), len(per_patient), int(per_patient.max())


def check_dataset_for_study(dataset: RadiographDataset, needs_generator: bool) -> None:
    """Reject a data set the study cannot run on, before any training starts.

    Raises:
        ValueError: a class has no labelled training image, or a split has no
            image of some class, or generators need an image size they cannot take.
    """
    counts = dataset.counts()
    unlabelled = [name for name in dataset.class_names if counts["train_labeled"][name] == 0]
    if unlabelled:
        raise ValueError(
            f"classes {unlabelled} have no labelled training image, so no strategy can learn them; raise "
            "data.labeled_fraction (--set data.labeled_fraction=0.2) or re-import with a larger --labeled-fraction"
        )
    for split in ("val", "test"):
        empty = [name for name in dataset.class_names if counts[split][name] == 0]
        if empty:
            raise ValueError(f"the {split} split has no image of classes {empty}; re-import with other "
                             "--split-proportions or merge classes")
    side, other = dataset.image_size
    if needs_generator and (side != other or side not in GENERATOR_SIZES):
        raise ValueError(
            f"the generators need square images with a power-of-two side between 16 and 256, but the data set "
            f"has {side} x {other}; make or import it with --size 64"
        )


def build_context(store: UnitStore, config: StudyConfig, data_folder: Path, device: torch.device,
                  used_splits: tuple[str, ...] = ("val", "test")) -> StudyContext:
    dataset = RadiographDataset.load(data_folder / "dataset.npz")
    needs_generator = any(get_strategy(name).kind == "vae" for name in config.strategies)
    check_dataset_for_study(dataset, needs_generator)
    for message in small_split_warnings(dataset, used_splits):
        log.warning(message)
    chain = preprocess_config(config)
    return StudyContext(
        config=config,
        store=store,
        device=device,
        dataset=dataset,
        data_fingerprint=fingerprint(dataset.fingerprint(), dataclasses.asdict(chain)),
        train_set=ScarceTrainingSet(dataset, chain),
        val=EvaluationSplit.from_dataset(dataset, "val", chain),
        test=EvaluationSplit.from_dataset(dataset, "test", chain),
    )


# ------------------------------------------------------------ frozen networks
def frozen_unit(ctx: StudyContext) -> Path:
    """Train the frozen classifier and, where masks exist, the lesion segmenter on the labelled subset."""
    train = ctx.config.train
    unit_fp = fingerprint("frozen", ctx.data_fingerprint, train.frozen_epochs, train.frozen_lr, train.frozen_width,
                          ctx.config.base_seed)

    def work(folder: Path) -> dict[str, Any]:
        seed_everything(ctx.config.base_seed)
        classifier, classifier_history = train_frozen_classifier(
            ctx.train_set, ctx.val, train.frozen_epochs, train.frozen_lr, ctx.device, ctx.config.base_seed,
            width=train.frozen_width)
        save_model(classifier, folder, "classifier")
        info: dict[str, Any] = {"classifier_best_val_nll": -classifier_history["best_val_score"], "segmenter": None}
        histories = {"classifier": classifier_history}
        if ctx.train_set.has_masks:
            segmenter, segmenter_history = train_segmenter(
                ctx.train_set, ctx.val, train.frozen_epochs, train.frozen_lr, ctx.device, ctx.config.base_seed)
            save_model(segmenter, folder, "segmenter")
            info["segmenter"] = {"best_val_soft_iou": segmenter_history["best_val_soft_iou"]}
            histories["segmenter"] = segmenter_history
        else:
            log.warning("no labelled image has a lesion mask: the lesion segmenter and L_mask are skipped")
        atomic_write_json(folder / "history.json", histories)
        return info

    return ctx.store.run("frozen", unit_fp, "frozen_networks", work)


def load_frozen(folder: Path, device: torch.device) -> FrozenNetworks:
    classifier, _ = load_model(folder, "classifier", device)
    segmenter = load_model(folder, "segmenter", device)[0] if (folder / "segmenter.pt").exists() else None
    return freeze(classifier, segmenter)


# ------------------------------------------------------- evaluation extractor
def extractor_unit(ctx: StudyContext) -> Path:
    """Train the evaluation feature extractor behind FID-like.

    Procedural data: on an independent draw of the same generator settings,
    never on the study's images. Imported data: on the training split with
    all its labels, as an evaluation-only instrument that no strategy sees.
    """
    ev = ctx.config.eval
    metadata = ctx.dataset.metadata
    procedural = metadata.get("source") == "procedural"
    unit_fp = fingerprint("extractor", ctx.data_fingerprint, ev.extractor_epochs, ev.extractor_scale,
                          ctx.config.base_seed, procedural)

    def work(folder: Path) -> dict[str, Any]:
        seed_everything(ctx.config.base_seed + 17)
        chain = preprocess_config(ctx.config)
        if procedural:
            from pavae.data.phantom import make_procedural_dataset

            generator = metadata.get("generator", {})
            draw_seed = int(metadata.get("seed", ctx.config.data.seed)) + INDEPENDENT_DRAW_OFFSET
            independent = make_procedural_dataset(
                seed=draw_seed,
                scale=ev.extractor_scale,
                difficulty=generator.get("difficulty"),
                image_size=int(generator.get("image_size", ctx.dataset.image_size[0])),
            )
            train_rows = independent.indices("train")
            val_rows = independent.indices("val")
            source = independent
            description = (f"independent procedural draw (seed {draw_seed}, {len(train_rows)} training images "
                           f"with all labels); no study image is used")
        else:
            # Evaluation-only: reads every training label, which no strategy or frozen network may do.
            source = ctx.dataset
            train_rows = source.indices("train")
            val_rows = source.indices("val")
            description = ("training split of the imported data with all its labels (imported data has no "
                           "independent draw); an evaluation-only instrument that no strategy sees")
        from pavae.data.preprocess import preprocess

        model = ClassifierCNN(ClassifierConfig(num_classes=source.num_classes)).to(ctx.device)
        schedule = FitSchedule.over(len(train_rows), ev.extractor_epochs, 64, lr=1e-3, lr_min=1e-5)
        history = fit_classifier(
            model,
            to_tensor(preprocess(source.images[train_rows], chain), ctx.device),
            torch.as_tensor(source.labels[train_rows], device=ctx.device),
            to_tensor(preprocess(source.images[val_rows], chain), ctx.device),
            torch.as_tensor(source.labels[val_rows], device=ctx.device),
            schedule,
            seed=ctx.config.base_seed + 17,
            select="nll",
            description="evaluation extractor",
        )
        save_model(model, folder, "extractor", {"source": description})
        atomic_write_json(folder / "history.json", history)
        return {"source": description, "best_val_nll": -history["best_val_score"]}

    return ctx.store.run("eval_extractor", unit_fp, "eval_extractor", work)


# ----------------------------------------------------------------- generators
def class_prior(ctx: StudyContext) -> np.ndarray:
    """Return pi(y) for synthetic images: balanced, or the labelled class frequencies."""
    if ctx.config.downstream.class_prior == "balanced":
        return np.full(ctx.num_classes, 1.0 / ctx.num_classes)
    counts = ctx.train_set.labeled_class_counts().astype(np.float64)
    return counts / counts.sum()


def synthetic_count(ctx: StudyContext) -> int:
    """Return the number of synthetic images: synthetic_ratio times the labelled real images."""
    return int(round(ctx.config.downstream.synthetic_ratio * len(ctx.train_set.labeled_indices)))


def augmented_copies(ctx: StudyContext, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (images, labels): one augmented labelled image per requested label, cycling through each class.

    The returned labels equal the requested ones unless a horizontal flip
    swapped a left/right class.
    """
    images, image_labels, _ = ctx.train_set.labeled_arrays()
    rng = np.random.default_rng(seed)
    sources = np.empty(len(labels), dtype=np.int64)
    for k in np.unique(labels):
        members = np.flatnonzero(image_labels == k)
        if len(members) == 0:
            raise ValueError(f"no labelled image of class '{ctx.dataset.class_names[k]}' to augment")
        wanted = np.flatnonzero(labels == k)
        sources[wanted] = np.resize(rng.permutation(members), len(wanted))
    copies, copy_labels, _ = augment(images[sources], image_labels[sources], augment_config(ctx.config),
                                     ctx.dataset.class_names, seed)
    return copies, copy_labels


def vae_config(ctx: StudyContext, strategy: Strategy) -> VAEConfig:
    model = ctx.config.model
    loss = strategy.loss_config(ctx.config.loss)
    return VAEConfig(
        num_classes=ctx.num_classes,
        image_size=ctx.dataset.image_size[0],
        latent_dim=model.latent_dim,
        base_channels=model.base_channels,
        prior="class_conditional" if loss.class_prior else "standard",
        likelihood=model.likelihood,
        logvar_min=model.logvar_min,
        logvar_max=model.logvar_max,
        gaussian_sigma=model.gaussian_sigma,
    )


def generator_unit(ctx: StudyContext, strategy: Strategy, seed: int, frozen_folder: Path) -> Path | None:
    """Train the strategy's generator (or build its augmented copies) and write the synthetic pool.

    Returns None for a strategy that adds no images.
    """
    if not strategy.adds_images:
        return None
    config = ctx.config
    loss = strategy.loss_config(config.loss)
    # Augmented copies do not depend on the frozen networks, which a run without VAEs never trains.
    frozen_fp = unit_fingerprint(frozen_folder) if strategy.kind == "vae" else None
    unit_fp = fingerprint("generator", strategy.name, ctx.data_fingerprint, frozen_fp, seed,
                          dataclasses.asdict(config.model), dataclasses.asdict(loss), dataclasses.asdict(config.train),
                          config.downstream.synthetic_ratio, config.downstream.class_prior,
                          dataclasses.asdict(augment_config(config)))
    key = f"generators/{strategy.name}/seed_{seed}"

    def work(folder: Path) -> dict[str, Any]:
        seed_everything(seed)
        labels = balanced_labels(synthetic_count(ctx), class_prior(ctx))
        if strategy.kind == "augment":
            images, labels = augmented_copies(ctx, labels, seed)
            atomic_savez(folder / "synthetic.npz", images=images.astype(np.float16), labels=labels)
            return {"kind": "augment", "synthetic_images": int(len(labels))}

        frozen = load_frozen(frozen_folder, ctx.device)
        model = ConditionalVAE(vae_config(ctx, strategy)).to(ctx.device)
        history = train_generator(model, ctx.train_set, ctx.val, frozen, loss, config.train, ctx.device, seed,
                                  description=f"{strategy.name} seed {seed}")
        save_model(model, folder, "generator", {"strategy": strategy.name, "class_names": list(ctx.dataset.class_names),
                                                "loss": dataclasses.asdict(loss), "seed": seed})
        atomic_write_json(folder / "history.json", history)
        images = generate(model, labels, seed=seed + 101)
        atomic_savez(folder / "synthetic.npz", images=images.astype(np.float16), labels=labels)
        return {"kind": "vae", "synthetic_images": int(len(labels)), "best_epoch": history["best_epoch"],
                "epochs_run": len(history["val_fid"]), "best_val_fid": history["best_val_fid"]}

    return ctx.store.run(key, unit_fp, "generators", work)


# ----------------------------------------------------------------- downstream
def downstream_unit(ctx: StudyContext, strategy: Strategy, seed: int, generator_folder: Path | None) -> Path:
    """Train the downstream classifier on labelled real images plus the strategy's synthetic pool."""
    config = ctx.config
    upstream = read_json(generator_folder / "unit.json")["fingerprint"] if generator_folder else None
    unit_fp = fingerprint("downstream", strategy.name, ctx.data_fingerprint, upstream, seed,
                          dataclasses.asdict(config.downstream))
    key = f"downstream/{strategy.name}/seed_{seed}"

    def work(folder: Path) -> dict[str, Any]:
        real_images, real_labels, _ = ctx.train_set.labeled_arrays()
        images, labels = real_images, real_labels
        n_synthetic = 0
        if generator_folder is not None:
            with np.load(generator_folder / "synthetic.npz") as pool:
                synthetic, synthetic_labels = pool["images"].astype(np.float32), pool["labels"]
            n_synthetic = len(synthetic)
            images = np.concatenate([real_images, synthetic])
            labels = np.concatenate([real_labels, synthetic_labels])

        # Same initialisation and step count for every strategy at this seed.
        seed_everything(seed)
        d = config.downstream
        model = ClassifierCNN(ClassifierConfig(num_classes=ctx.num_classes, width=d.width)).to(ctx.device)
        schedule = FitSchedule.over(len(real_images), d.epochs, d.batch_size, lr=d.lr, lr_min=d.lr_min,
                                    weight_decay=d.weight_decay)
        val_x = to_tensor(ctx.val.images, ctx.device)
        history = fit_classifier(model, to_tensor(images, ctx.device), torch.as_tensor(labels, device=ctx.device),
                                 val_x, torch.as_tensor(ctx.val.labels, device=ctx.device), schedule, seed=seed,
                                 select="auc", description=f"downstream {strategy.name} seed {seed}")
        save_model(model, folder, "classifier", {"strategy": strategy.name, "seed": seed})
        atomic_savez(folder / "predictions.npz",
                     val_probs=predict_proba(model, val_x),
                     test_probs=predict_proba(model, to_tensor(ctx.test.images, ctx.device)))
        atomic_write_json(folder / "history.json", history)
        return {"real_images": int(len(real_images)), "synthetic_images": n_synthetic,
                "steps": schedule.epochs * schedule.steps_per_epoch, "best_epoch": history["best_epoch"]}

    return ctx.store.run(key, unit_fp, "downstream", work)


def unit_fingerprint(folder: Path | None) -> str | None:
    return read_json(folder / "unit.json")["fingerprint"] if folder is not None else None


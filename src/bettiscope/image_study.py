"""CNNs on image data sets: one training run (``bettiscope train``), and the activation study on
images (the ``"cnn"`` :class:`~bettiscope.experiments.StudyTask` behind ``bettiscope compare``).

Data flows one way::

    load_image_dataset -> CNNConfig -> build_cnn -> training.train -> evaluate on test
                       -> DIR/model.pt, DIR/metrics.json, DIR/training_curve.png

For the study, :func:`image_task` builds the same data and model as a ``StudyTask``: the probe set
is a class-balanced, seeded subsample of the training images, and the per-layer Betti numbers are
those of each block's output feature maps, flattened to one vector per image and split by the
network's predicted class (the Naitzat-Zhitnikov-Lim convention, as for the MLPs).

Importing this module registers the task kind ``"cnn"`` for the image data set names, so
``bettiscope compare --dataset digits`` trains CNNs.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from bettiscope.datasets.images import (
    _ALIASES,
    IMAGE_DATASETS,
    ImageDataset,
    SkippedImageWarning,
    load_image_dataset,
)
from bettiscope.models.cnn import KINDS, CNNConfig, build_cnn, check_cnn_memory, save_model
from bettiscope.storage import (
    atomic_write_json,
    environment_info,
    read_json,
    save_figure,
)
from bettiscope.training import TrainConfig, TrainHistory, evaluate, train

if TYPE_CHECKING:
    from bettiscope.experiments import StudyTask

__all__ = [
    "DEFAULT_IMAGE_MEASURE",
    "ImageTrainConfig",
    "image_task",
    "plot_training_curve",
    "run_train",
]

Progress = Callable[[str, int, int], None]


@dataclass
class ImageTrainConfig:
    """One CNN training run on an image data set (everything ``bettiscope train`` sets).

    Attributes
    ----------
    dataset : str, default="digits"
        "digits", "fashion-mnist", "cifar10", "cat-vs-dog" or a folder of images.
    data_dir : str or None, default=None
        Where the data set's files are (see :func:`~bettiscope.datasets.images.load_image_dataset`).
    classes : list of int or str, or None, default=None
        Task: all classes (None), one class against the rest ([c]), or only these ([a, b]).
    limit : int or None, default=None
        Use at most this many images in total (quick runs).
    image_size : int or None, default=None
        Resize to this side in pixels (None: native; 64 for folders).
    val_fraction : float, default=0.1
        Share of the training pool held out for validation.
    model : {"vgg", "resnet"}, default="vgg"
    channels : list of int or None, default=None
        Conv widths (None: the kind's default, see ``CNNConfig``).
    activation : str, default="relu"
        Registry name, see :mod:`bettiscope.activations`.
    epochs : int, default=5
    lr : float, default=0.003
        Adam learning rate (constant).
    batch_size : int, default=64
    weight_decay : float, default=0.0
    seed : int, default=0
        Seeds the data subset and split, the initial weights and the batch order.
    device : str, default="cpu"
        "cpu", "cuda" or "auto".
    """

    dataset: str = "digits"
    data_dir: str | None = None
    classes: list[int | str] | None = None
    limit: int | None = None
    image_size: int | None = None
    val_fraction: float = 0.1
    model: str = "vgg"
    channels: list[int] | None = None
    activation: str = "relu"
    epochs: int = 5
    lr: float = 0.003
    batch_size: int = 64
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.model not in KINDS:
            raise ValueError(f"ImageTrainConfig: model must be one of {KINDS}; got {self.model!r}.")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"ImageTrainConfig: epochs must be an int >= 1; got {self.epochs!r}.")


def load_task_data(cfg: ImageTrainConfig, progress: Progress | None = None) -> ImageDataset:
    """The data set a config describes, with loader warnings left to the caller."""
    return load_image_dataset(
        cfg.dataset,
        data_dir=cfg.data_dir,
        classes=cfg.classes,
        limit=cfg.limit,
        seed=cfg.seed,
        val_fraction=cfg.val_fraction,
        image_size=cfg.image_size,
        progress=progress,
    )


def model_config_for(cfg: ImageTrainConfig, data: ImageDataset) -> CNNConfig:
    """The CNN architecture for a config and its data (channels, classes, size from the data)."""
    return CNNConfig(
        kind=cfg.model,
        in_channels=data.in_channels,
        num_classes=data.num_classes,
        channels=list(cfg.channels) if cfg.channels else None,
        activation=cfg.activation,
        input_size=data.input_size,
    )


def plot_training_curve(
    history: TrainHistory,
    path: str | os.PathLike[str],
    *,
    test_accuracy: float | None = None,
    title: str = "",
    train_label: str = "train",
) -> Path:
    """Loss and accuracy per epoch (train, validation; test as a dashed line), saved atomically."""
    from matplotlib.figure import Figure  # no pyplot: independent of the display backend

    epochs = history.column("epoch")
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    loss_ax, acc_ax = figure.subplots(1, 2)
    loss_ax.plot(epochs, history.column("loss"), marker="o", label="training loss")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
    acc_ax.plot(epochs, history.column("train_acc"), marker="o", label=train_label)
    val = history.column("val_acc")
    if any(v is not None for v in val):
        acc_ax.plot(epochs, val, marker="s", label="validation")
    if test_accuracy is not None:
        acc_ax.axhline(
            test_accuracy, linestyle="--", color="grey", label=f"test {test_accuracy:.3f}"
        )
    acc_ax.set(xlabel="epoch", ylabel="accuracy (fraction)", title="Accuracy", ylim=(0, 1.02))
    for ax in (loss_ax, acc_ax):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    return save_figure(figure, path, dpi=110)


def run_train(
    cfg: ImageTrainConfig,
    out_dir: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train a CNN on an image data set and write the model, metrics and training curve.

    Re-running on the same ``out_dir`` with the same settings resumes from
    ``out_dir/checkpoint.pt`` (a larger ``epochs`` continues training); different settings are
    refused rather than silently mixed.

    Parameters
    ----------
    cfg : ImageTrainConfig
    out_dir : path-like
        Receives ``model.pt`` (portable: CNN config + state dict + normalisation and class names
        in ``extra``), ``metrics.json``, ``training_curve.png``, ``checkpoint.pt`` and
        ``settings.json``.
    progress : callable(stage, done, total) or None
        Stages "decode images" (folders) and "train" (epochs).

    Returns
    -------
    dict
        The contents of ``metrics.json``: ``config``, ``seeds``, ``dataset``, ``per_epoch``,
        ``history``, ``test_accuracy`` (fraction), ``test_loss``, ``seconds``, ``environment``.

    Raises
    ------
    ValueError
        Bad settings, data-file faults (:class:`~bettiscope.storage.DataFileError`), or an
        ``out_dir`` that holds a run with different settings.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder; choose another --out.")
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedImageWarning)
        data = load_task_data(cfg, progress)
    for warning in caught:  # hand loader warnings on to the caller unchanged
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    model_cfg = model_config_for(cfg, data)
    check_cnn_memory(model_cfg, cfg.batch_size, "train")
    settings = {"run": asdict(cfg), "model": model_cfg.to_dict()}
    settings_path = out / "settings.json"
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists() and settings_path.exists():
        previous = read_json(settings_path)
        mine = {**settings, "run": {**settings["run"], "epochs": None, "device": None}}
        theirs = {
            **previous,
            "run": {**previous.get("run", {}), "epochs": None, "device": None},
        }
        if previous.get("model") is not None and _jsonish(mine) != _jsonish(theirs):
            changed = sorted(
                k
                for k in set(mine["run"]) | set(theirs["run"])
                if _jsonish(mine["run"].get(k)) != _jsonish(theirs["run"].get(k))
            ) or ["model"]
            raise ValueError(
                f"{out} holds a run with different settings ({', '.join(changed)}); use another "
                f"--out, or delete {checkpoint} to start over."
            )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(settings_path, settings)

    torch.manual_seed(cfg.seed)  # same seed -> same initial weights for every activation
    model = build_cnn(model_cfg)
    train_cfg = TrainConfig(
        epochs=cfg.epochs,
        lr=cfg.lr,
        batch_size=cfg.batch_size,
        optimizer="adam",
        weight_decay=cfg.weight_decay,
        seed=cfg.seed,
        device=cfg.device,
        target_train_acc=None,  # train the whole budget; the curve shows where it saturates
        checkpoint_path=str(checkpoint),
        checkpoint_every=1,
        # Accuracy of the batches as trained: a second pass over 60,000 images per epoch would
        # double the cost. Validation and test accuracy are full passes in eval mode.
        train_eval="running",
        eval_batch_size=256,  # measured faster per image on CPU than 1024
    )
    val = data.val if len(data.val[1]) else None
    history = train(model, data.train, train_cfg, val=val, progress=progress)
    test_loss, test_acc = evaluate(model, data.test, device=cfg.device, batch_size=256)
    seconds = time.perf_counter() - started

    dataset_info = data.to_dict()
    save_model(
        model,
        model_cfg,
        out / "model.pt",
        extra={
            "class_names": data.class_names,
            "normalisation": {"mean": data.mean, "std": data.std},
            "dataset": dataset_info,
            "test_accuracy": test_acc,
        },
    )
    metrics = {
        "command": "train",
        "config": {"run": asdict(cfg), "model": model_cfg.to_dict(), "train": asdict(train_cfg)},
        "seeds": {"data": cfg.seed, "init": cfg.seed, "batch_order": cfg.seed},
        "dataset": dataset_info,
        "parameters": sum(p.numel() for p in model.parameters()),
        "per_epoch": [asdict(record) for record in history.records],
        "history": history.to_dict(),
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "val_accuracy": history.records[-1].val_acc if history.records else None,
        "seconds": seconds,
        "torch_threads": torch.get_num_threads(),
        "files": {
            "model": "model.pt",
            "curve": "training_curve.png",
            "checkpoint": "checkpoint.pt",
        },
        "environment": environment_info(),
    }
    title = f"{cfg.model} / {cfg.activation} on {data.name} ({data.num_classes} classes)"
    plot_training_curve(
        history,
        out / "training_curve.png",
        test_accuracy=test_acc,
        title=title,
        train_label="train (batches as trained)",
    )
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


def _jsonish(value: Any) -> Any:
    """Tuples and lists compare equal after a JSON round trip."""
    if isinstance(value, dict):
        return {str(k): _jsonish(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonish(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# the activation study on images
# --------------------------------------------------------------------------------------------

#: Betti-number settings for the CNN probe (bettiscope's choice, not the paper's: its settings
#: are not public). About 100 images per class live in hundreds to thousands of dimensions;
#: with 2 hops (scale 2.5) every class is one blob with no loops at any layer (measured on
#: digits), so the trace would say nothing. One hop (scale 1.5) of an 8-nearest-neighbour graph
#: gives small beta_0 and beta_1 of tens that change between layers and activations.
DEFAULT_IMAGE_MEASURE: dict[str, Any] = {
    "metric": "knn-hop",
    "k": 8,
    "scale": 1.5,
    "stride": 1,
    "max_dim": 1,
}


class _CNNBuilder:
    """Picklable ``build_model(activation, seed)`` for the image task.

    The weights of every layer shared by all activations (convs, batch norms, head) are those
    of the ReLU network built with the same seed, so runs with the same seed start from
    identical weights whatever the activation (paired runs), even when a learnable activation
    consumes random numbers while it is built.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def __call__(self, activation: Any, seed: int) -> nn.Module:
        if not isinstance(activation, str):
            raise ValueError(
                f"image task: the activation must be a registry name (CNN configs are saved "
                f"as plain data); got {activation!r}."
            )
        base_cfg = CNNConfig.from_dict({**self.config, "activation": "relu"})
        torch.manual_seed(seed)
        reference = build_cnn(base_cfg)
        torch.manual_seed(seed)
        model = build_cnn(replace(base_cfg, activation=activation))
        model.load_state_dict(reference.state_dict(), strict=False)  # activation params stay
        return model


def _probe_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Up to ``per_class`` indices of each class, seeded, in increasing order."""
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(chosen))


def image_task(
    dataset: str,
    *,
    data_seed: int = 0,
    model: str = "vgg",
    channels: list[int] | None = None,
    classes: list[int | str] | None = None,
    limit: int | None = None,
    data_dir: str | None = None,
    image_size: int | None = None,
    val_fraction: float = 0.1,
    batch_size: int | None = 64,
    train_eval: str = "full",
    probe_per_class: int = 100,
    measure: dict[str, Any] | None = None,
) -> StudyTask:
    """The activation study's task on images: a CNN on an image data set.

    Parameters
    ----------
    dataset : str
        "digits", "fashion-mnist", "cifar10", "cat-vs-dog" or a folder of images.
    data_seed : int, default=0
        Seeds the subset, the split and the probe subsample (fixed across runs: paired).
    model : {"vgg", "resnet"}, default="vgg"
    channels : list of int or None, default=None
        Conv widths (None: the kind's default).
    classes, limit, data_dir, image_size, val_fraction
        As in :func:`~bettiscope.datasets.images.load_image_dataset`; e.g. ``classes=[3, 5]``
        for a binary task.
    batch_size : int or None, default=64
        Mini-batch size (None: full batch).
    train_eval : {"full", "running"}, default="full"
        How training accuracy is measured each epoch (see ``TrainConfig``); "full" is the
        protocol's "at whose end the target holds", "running" halves the cost on big sets.
    probe_per_class : int, default=100
        Training images per true class in the probe set whose Betti numbers are traced.
    measure : dict or None, default=None
        Overrides of :data:`DEFAULT_IMAGE_MEASURE`.

    Returns
    -------
    StudyTask
    """
    from bettiscope.experiments import StudyTask

    if not isinstance(probe_per_class, int) or probe_per_class < 2:
        raise ValueError(
            f"image_task: probe_per_class must be an int >= 2; got {probe_per_class!r}."
        )
    data = load_image_dataset(
        dataset,
        data_dir=data_dir,
        classes=classes,
        limit=limit,
        seed=data_seed,
        val_fraction=val_fraction,
        image_size=image_size,
    )
    cnn_cfg = CNNConfig(
        kind=model,
        in_channels=data.in_channels,
        num_classes=data.num_classes,
        channels=list(channels) if channels else None,
        input_size=data.input_size,
    )
    X_train, y_train = data.train
    check_cnn_memory(cnn_cfg, batch_size or len(y_train), "image task")
    probe = _probe_subset(y_train.numpy(), probe_per_class, data_seed)
    params = {**DEFAULT_IMAGE_MEASURE, **(measure or {})}
    defaults = TrainConfig(
        lr=1e-3,
        batch_size=batch_size,
        optimizer="adam",
        lr_decay_steps=None,
        target_train_acc=1.0,
        train_eval=train_eval,
        eval_batch_size=256,  # measured faster per image on CPU than 1024
    )
    return StudyTask(
        name=f"{data.name} ({data.num_classes} classes: {', '.join(data.class_names)})"[:80],
        build_model=_CNNBuilder(cnn_cfg.to_dict()),
        train=data.train,
        val=data.val if len(data.val[1]) else None,
        probe_inputs=X_train[probe],
        probe_labels=y_train[probe],
        measure=params,
        train_defaults=defaults,
        info={
            "dataset": data.to_dict(),
            "model": {**cnn_cfg.to_dict(), "activation": "per run"},
            "n_train": len(y_train),
            "n_val": len(data.val[1]),
            "n_probe": len(probe),
            "probe": f"training images, up to {probe_per_class} per class (seed {data_seed})",
            "representation": "each block's output feature maps flattened per image; logits",
        },
    )


def _image_builder(dataset: str, *, data_seed: int = 0, **options: Any) -> StudyTask:
    return image_task(dataset, data_seed=data_seed, **options)


def _register() -> None:
    from bettiscope.experiments import register_task

    register_task("cnn", _image_builder, datasets=(*IMAGE_DATASETS, *_ALIASES))


_register()

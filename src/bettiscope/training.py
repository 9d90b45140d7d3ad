"""Train a classifier to a target accuracy, evaluating every epoch; checkpoint and resume.

One loop for every classifier ``nn.Module`` (the study's MLPs, the images task's CNNs), written to
be read top to bottom like nanoGPT's ``train.py``::

    for epoch in remaining epochs:
        for each batch (one batch = the whole set when batch_size is None):
            lr = lr_at(step); forward; cross-entropy; backward; optimiser step
        evaluate train (and val) accuracy          # "epochs-to-target" is decided here
                                                   # (full batch: that forward pass is reused
                                                   #  as the next epoch's, see _Lookahead)
        on_epoch_end(...)                          # e.g. the Betti-number probe
        checkpoint every ``checkpoint_every`` epochs (atomic)
        stop once every configured target has been reached

Defaults follow the Naitzat-Zhitnikov-Lim study when the caller asks for them: full-batch Adam,
learning rate ``lr * 0.5 ** (step / 2500)`` (``lr_decay_steps=2500``), softmax cross-entropy, and
"well trained" = 100% training accuracy.
"""

from __future__ import annotations

import math
import numbers
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F  # noqa: N812 (the PyTorch convention)
from torch.utils.data import DataLoader

from bettiscope._validation import Interval, check_param, input_mismatch
from bettiscope.storage import atomic_path

__all__ = [
    "EpochRecord",
    "TrainConfig",
    "TrainHistory",
    "evaluate",
    "lr_at",
    "resolve_device",
    "train",
]

Data = tuple[Tensor, Tensor] | DataLoader
Progress = Callable[[str, int, int], None]
#: ``on_epoch_end(epoch, model, record)``; return True to stop training after this epoch.
EpochHook = Callable[[int, nn.Module, "EpochRecord"], bool | None]

OPTIMIZERS = ("adam", "sgd")
TRAIN_EVAL = ("full", "running")
#: Config fields that may differ between a checkpoint and the run resuming it.
_RESUMABLE_CHANGES = {"epochs", "checkpoint_path", "checkpoint_every", "device", "eval_batch_size"}


@dataclass
class TrainConfig:
    """Everything that decides a training run (recorded in checkpoints and results).

    Attributes
    ----------
    epochs : int, default=100
        Epoch budget (an epoch = one pass over the training set).
    lr : float, default=0.02
        Initial learning rate (the Naitzat study's example value).
    batch_size : int or None, default=None
        None = full batch (one optimiser step per epoch, as in the study).
    optimizer : {"adam", "sgd"}, default="adam"
    lr_decay_steps : float or None, default=None
        If set, ``lr * 0.5 ** (step / lr_decay_steps)`` per optimiser step (study: 2500).
    weight_decay : float, default=0.0
    momentum : float, default=0.9
        SGD only.
    seed : int, default=0
        Seeds the global torch RNG at the start of a fresh run and the data order; in
        ``[-2**63, 2**64 - 1]`` (what ``torch.manual_seed`` takes).
    device : str, default="cpu"
        "cpu", "cuda", "cuda:N", "mps" (where available) or "auto" (CUDA when available).
    target_train_acc : float or None, default=1.0
        Training accuracy that counts as converged (1.0 = every training point right).
    target_val_acc : float or None, default=None
        Held-out accuracy target (needs ``val``).
    stop_at_target : bool, default=True
        Stop once every configured target has been reached.
    checkpoint_path : str or None, default=None
        Where to checkpoint; an existing checkpoint there is resumed.
    checkpoint_every : int, default=10
        Epochs between checkpoints (also written at the end and when the target is reached).
    train_eval : {"full", "running"}, default="full"
        "full": training accuracy from a pass over the training set after the epoch (the
        protocol's "at whose end the target holds"). "running": accuracy of the batches as they
        were trained (cheaper for big image sets; not comparable with "full").
    eval_batch_size : int, default=8192
        Batch size for evaluation passes (memory only; results do not depend on it).

    Numbers may be any ``numbers.Integral`` (int fields) or ``numbers.Real`` (float fields),
    NumPy scalars included; :meth:`validate` turns those into Python ``int`` / ``float``.
    """

    epochs: int = 100
    lr: float = 0.02
    batch_size: int | None = None
    optimizer: str = "adam"
    lr_decay_steps: float | None = None
    weight_decay: float = 0.0
    momentum: float = 0.9
    seed: int = 0
    device: str = "cpu"
    target_train_acc: float | None = 1.0
    target_val_acc: float | None = None
    stop_at_target: bool = True
    checkpoint_path: str | None = None
    checkpoint_every: int = 10
    train_eval: str = "full"
    eval_batch_size: int = 8192

    def validate(self) -> TrainConfig:
        """Raise ValueError naming the first bad field; return self.

        Numbers that are not Python's own (NumPy scalars, say) are converted to ``int`` /
        ``float`` in place, so the config is stored and serialised as plain numbers.
        """
        checks = [
            ("epochs", _is_int(self.epochs) and self.epochs >= 0, "an int >= 0"),
            ("lr", _is_number(self.lr) and self.lr > 0, "a float > 0"),
            (
                "batch_size",
                self.batch_size is None or (_is_int(self.batch_size) and self.batch_size > 0),
                "None (full batch) or an int >= 1",
            ),
            ("optimizer", self.optimizer in OPTIMIZERS, f"one of {OPTIMIZERS}"),
            (
                "lr_decay_steps",
                self.lr_decay_steps is None
                or (_is_number(self.lr_decay_steps) and self.lr_decay_steps > 0),
                "None or a number > 0",
            ),
            (
                "weight_decay",
                _is_number(self.weight_decay) and self.weight_decay >= 0,
                "a float >= 0",
            ),
            ("momentum", _is_number(self.momentum) and 0 <= self.momentum < 1, "in [0, 1)"),
            (
                "seed",
                _is_int(self.seed) and -(2**63) <= self.seed < 2**64,
                "an int in [-2**63, 2**64 - 1] (what torch.manual_seed takes)",
            ),
            (
                "target_train_acc",
                self.target_train_acc is None
                or (_is_number(self.target_train_acc) and 0 < self.target_train_acc <= 1),
                "None or in (0, 1]",
            ),
            (
                "target_val_acc",
                self.target_val_acc is None
                or (_is_number(self.target_val_acc) and 0 < self.target_val_acc <= 1),
                "None or in (0, 1]",
            ),
            ("stop_at_target", isinstance(self.stop_at_target, (bool, np.bool_)), "True or False"),
            (
                "checkpoint_path",
                self.checkpoint_path is None
                or isinstance(self.checkpoint_path, (str, os.PathLike)),
                "None or a file path",
            ),
            (
                "checkpoint_every",
                _is_int(self.checkpoint_every) and self.checkpoint_every >= 1,
                "an int >= 1",
            ),
            ("train_eval", self.train_eval in TRAIN_EVAL, f"one of {TRAIN_EVAL}"),
            (
                "eval_batch_size",
                _is_int(self.eval_batch_size) and self.eval_batch_size >= 1,
                "an int >= 1",
            ),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(
                    f"TrainConfig.{name} must be {expected}; got {getattr(self, name)!r}."
                )
        try:
            resolve_device(self.device)
        except ValueError as error:
            raise ValueError(f"TrainConfig.{error}") from None
        for name in (f.name for f in fields(self)):
            value = getattr(self, name)
            if isinstance(value, np.bool_):
                setattr(self, name, bool(value))
            elif type(value) not in (int, float, bool) and isinstance(value, numbers.Real):
                setattr(
                    self, name, int(value) if isinstance(value, numbers.Integral) else float(value)
                )
        return self


def _is_int(value: Any) -> bool:
    """An integer (Python's or NumPy's), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    """A finite real number (Python's or NumPy's), not a bool."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
    )


@dataclass
class EpochRecord:
    """What one epoch measured. Accuracies are fractions in [0, 1]; seconds are wall-clock."""

    epoch: int
    loss: float
    train_acc: float
    val_acc: float | None
    lr: float
    steps: int
    seconds: float  # training + evaluation of this epoch (probe time excluded)


@dataclass
class TrainHistory:
    """Per-epoch records and when the targets were first reached (epoch numbers start at 1).

    Attributes
    ----------
    records : list of EpochRecord
    epochs_to_train_target, epochs_to_val_target : int or None
        First epoch at whose end the training (held-out) accuracy reached its target; None if
        never (or if that target is not configured).
    epochs_to_target : int or None
        First epoch by whose end every configured target had been reached (the larger of the
        two above); None if some target was missed.
    stopped : str
        Why training ended: "target", "budget", "diverged" (non-finite loss) or "callback".
    resumed_from : int or None
        Epoch of the checkpoint this run resumed from.
    diverged_at_init : bool
        True when the loss of the untrained network (the first batch, before any optimiser
        step) was already non-finite: its outputs overflow, so no learning rate can train it.
    """

    records: list[EpochRecord] = field(default_factory=list)
    epochs_to_train_target: int | None = None
    epochs_to_val_target: int | None = None
    epochs_to_target: int | None = None
    stopped: str = "budget"
    resumed_from: int | None = None
    diverged_at_init: bool = False

    @property
    def epochs(self) -> int:
        """Epochs completed."""
        return self.records[-1].epoch if self.records else 0

    @property
    def steps(self) -> int:
        """Optimiser steps taken."""
        return self.records[-1].steps if self.records else 0

    @property
    def seconds_per_epoch(self) -> float | None:
        """Median wall-clock seconds per epoch (robust to a slow first epoch)."""
        if not self.records:
            return None
        return float(np.median([r.seconds for r in self.records]))

    def column(self, name: str) -> list[Any]:
        """One field over the epochs, e.g. ``history.column("train_acc")``."""
        return [getattr(r, name) for r in self.records]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per-epoch columns plus the summary fields."""
        names = [f.name for f in fields(EpochRecord)]
        return {
            "epochs_to_target": self.epochs_to_target,
            "epochs_to_train_target": self.epochs_to_train_target,
            "epochs_to_val_target": self.epochs_to_val_target,
            "stopped": self.stopped,
            "resumed_from": self.resumed_from,
            "diverged_at_init": self.diverged_at_init,
            "epochs": self.epochs,
            "steps": self.steps,
            "seconds_per_epoch": self.seconds_per_epoch,
            "per_epoch": {name: self.column(name) for name in names},
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> TrainHistory:
        """Inverse of :meth:`to_dict`."""
        columns = payload["per_epoch"]
        count = len(columns["epoch"])
        records = [EpochRecord(**{k: v[i] for k, v in columns.items()}) for i in range(count)]
        return cls(
            records=records,
            epochs_to_train_target=payload.get("epochs_to_train_target"),
            epochs_to_val_target=payload.get("epochs_to_val_target"),
            epochs_to_target=payload.get("epochs_to_target"),
            stopped=payload.get("stopped", "budget"),
            resumed_from=payload.get("resumed_from"),
            diverged_at_init=payload.get("diverged_at_init", False),
        )


# --------------------------------------------------------------------------------------------
# small named pieces of the loop
# --------------------------------------------------------------------------------------------


#: Device types bettiscope trains and evaluates on ("meta" tensors, for one, hold no data).
_DEVICE_TYPES = ("cpu", "cuda", "mps")


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; refuse devices that are absent or unusable.

    Parameters
    ----------
    device : str or torch.device
        "cpu", "cuda", "cuda:N", "mps" (Apple GPUs) or "auto".

    Raises
    ------
    ValueError
        Any other device (e.g. "meta", which holds no data), or a CUDA / MPS device this
        machine does not have. The message starts "device ..." for callers to prefix.
    """
    expected = "device must be 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'"
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        resolved = device
    elif isinstance(device, str):
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f"{expected}; got {device!r} ({error}).") from None
    else:
        raise ValueError(f"{expected}; got {device!r} ({type(device).__name__}).")
    if resolved.type not in _DEVICE_TYPES:
        why = "it holds no data" if resolved.type == "meta" else "bettiscope does not run there"
        raise ValueError(f"{expected}; got {device!r} ({why}).")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} requested but CUDA is not available here; use --device cpu."
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(
                f"device {device!r} requested but this machine has {count} CUDA device(s) "
                f"(cuda:0 to cuda:{count - 1})."
            )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device {device!r} requested but MPS is not available here; use --device cpu."
        )
    return resolved


STUDY_DECAY_EPOCHS = 2500
"""The Naitzat study halves the learning rate every 2500 full-batch steps, i.e. epochs."""


def resolve_lr_decay_steps(
    value: float | str | None, n_train: int, batch_size: int | None
) -> float | None:
    """Optimiser steps per halving of the learning rate.

    Parameters
    ----------
    value : float, "auto", "none" or None
        A number of optimiser steps; None or "none" = no decay; "auto" = the study's half-life
        of 2500 *epochs*: 2500 steps in full batch, ``2500 * ceil(n_train / batch_size)``
        steps with mini-batches (a per-step half-life of 2500 would halve the rate every few
        epochs there and stall training).
    n_train : int
        Training points (sets the steps per epoch).
    batch_size : int or None
        None = full batch.

    Raises
    ------
    ValueError
        If ``value`` is not positive, "auto" or "none".
    """
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    if isinstance(value, str) and value.lower() == "auto":
        steps_per_epoch = 1 if batch_size is None else math.ceil(n_train / batch_size)
        return STUDY_DECAY_EPOCHS * steps_per_epoch
    try:
        steps = float(value)
    except (TypeError, ValueError):
        steps = math.nan
    if not math.isfinite(steps) or steps <= 0:
        raise ValueError(
            f"lr_decay_steps must be a positive number of steps, 'auto' or 'none'; got {value!r}."
        )
    return steps


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimiser step ``step`` (0-based): exponential halving if configured."""
    if cfg.lr_decay_steps is None:
        return cfg.lr
    return cfg.lr * 0.5 ** (step / cfg.lr_decay_steps)


def _make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("train: the model has no trainable parameters.")
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _input_dtype(model: nn.Module) -> torch.dtype:
    """The dtype inputs are cast to: that of the model's first floating-point weight (float32
    without one), as :mod:`bettiscope.probe` casts them; NumPy's float64 would not multiply with
    float32 weights."""
    return next((w.dtype for w in model.parameters() if w.dtype.is_floating_point), torch.float32)


def _check_tensors(
    data: Any,
    name: str,
    *,
    caller: str = "train",
    dtype: torch.dtype = torch.float32,
    batch: int | None = None,
) -> tuple[Tensor, Tensor]:
    """``data`` as an ``(X, y)`` pair: X cast to ``dtype`` and finite, y ``long`` class indices
    >= 0, one per sample; ``batch`` = the index of a DataLoader batch, for messages.

    One pass over X (finiteness), two over y; no copy where X already has ``dtype`` and y is
    ``long``.
    """
    where = name if batch is None else f"{name} DataLoader batch {batch}"
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        expected = (
            "a (X, y) pair of tensors or a DataLoader"
            if batch is None
            else "an (X, y) pair: make the dataset return (input, label) per sample"
        )
        size = f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""
        raise ValueError(f"{caller}: {where} must be {expected}; got {type(data).__name__}{size}.")
    try:
        X, y = (torch.as_tensor(v) for v in data)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(
            f"{caller}: {where} must be an (X, y) pair of numeric arrays or tensors; could not "
            f"convert it ({' '.join(str(error).split())})."
        ) from None
    for part, tensor in (("X", X), ("y", y)):
        if tensor.device.type not in _DEVICE_TYPES:
            why = "holds no data" if tensor.device.type == "meta" else "is not supported"
            raise ValueError(
                f"{caller}: {where} {part} is on the {tensor.device.type!r} device, which {why}; "
                "pass tensors on the CPU (or CUDA) with real values."
            )
    if X.ndim < 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"{caller}: {where} needs X of shape (n, ...) and y of shape (n,); "
            f"got X {tuple(X.shape)} and y {tuple(y.shape)}."
        )
    if len(X) == 0:
        raise ValueError(f"{caller}: {where} is empty.")
    if y.dtype.is_floating_point or y.dtype.is_complex:
        raise ValueError(
            f"{caller}: {where} labels must be integer class indices; got {y.dtype}. Convert "
            "whole-number labels with y.long()."
        )
    if int(y.min()) < 0:
        raise ValueError(
            f"{caller}: {where} labels must be class indices 0..K-1; got {int(y.min())}. "
            "Renumber the classes (bettiscope's data sets do this when they load a file)."
        )
    if X.dtype.is_complex:
        raise ValueError(f"{caller}: {where} X must be real-valued; got {X.dtype}.")
    given = X
    if X.dtype != dtype:
        X = X.to(dtype)
    finite = torch.isfinite(X)
    if not bool(finite.all()):
        rows = torch.nonzero(~finite.reshape(len(X), -1).all(dim=1)).flatten()
        kind = "NaN" if bool(torch.isnan(X).any()) else "infinity"
        first = int(rows[0])
        cast_note = (
            f" (values past the range of {dtype}, cast from {given.dtype})"
            if given.dtype.is_floating_point and bool(torch.isfinite(given[first]).all())
            else ""
        )
        raise ValueError(
            f"{caller}: {where} X contains {kind} in {len(rows)} sample(s) (first: sample "
            f"{first}){cast_note}. Drop or impute those samples: they would pass for a diverged "
            "run or a NaN loss."
        )
    return X, y.long()


@torch.no_grad()
def _check_model_fits(
    model: nn.Module,
    data: tuple[Tensor, Tensor],
    name: str,
    *,
    caller: str = "train",
    device: torch.device | None = None,
    where: str | None = None,
) -> int:
    """One forward pass on two inputs (eval mode: no batch-norm update, no dropout draw), so a
    model that does not take the data, or has fewer outputs than classes, fails here and
    clearly instead of deep inside PyTorch. Returns the number of classes (outputs). The RNG
    states are restored afterwards: the check draws nothing from the run's random numbers.
    ``where`` names the labels' source in messages (default: ``name``)."""
    X, y = data
    sample = X[:2] if device is None else X[:2].to(device)
    was_training = model.training
    model.eval()
    forked = [sample.device.index] if sample.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=forked, device_type="cuda"):
            logits = model(sample)
    except RuntimeError as error:
        raise input_mismatch(caller, f"the {name} inputs", tuple(X.shape[1:]), error) from None
    finally:
        model.train(was_training)
    if logits.ndim != 2:
        raise ValueError(
            f"{caller}: the model must return logits of shape (batch, classes); got "
            f"{tuple(logits.shape)} for a batch of {len(sample)}."
        )
    classes = int(logits.shape[1])
    _check_label_range(y, classes, where or name, caller)
    return classes


def _check_label_range(y: Tensor, classes: int, where: str, caller: str) -> None:
    """Refuse labels past the model's last output (cross-entropy would index past it)."""
    top = int(y.max())
    if top >= classes:
        raise ValueError(
            f"{caller}: {where} labels go up to {top} but the model has {classes} "
            f"outputs (classes 0..{classes - 1}); build it with more classes."
        )


class _Checked(tuple):
    """An ``(X, y)`` pair :func:`train` has checked, cast and moved: :func:`evaluate` runs it
    without checking it again every epoch."""


class _CheckedLoader:
    """A DataLoader whose batches are checked as they arrive, as :func:`_check_tensors` checks
    tensors (and cast alike); the first batch also by :func:`_check_model_fits`, later ones for
    labels past the model's outputs. A cheap pass over each batch (the DataLoader is iterated
    once per epoch as before: no extra pass, no extra draw from its shuffling RNG)."""

    def __init__(
        self, loader: DataLoader, model: nn.Module, *, name: str, caller: str, device: torch.device
    ) -> None:
        self.loader, self.model, self.name, self.caller = loader, model, name, caller
        self.device = device
        self.dtype = _input_dtype(model)
        self.classes: int | None = None

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for index, batch in enumerate(self.loader):
            X, y = _check_tensors(
                batch, self.name, caller=self.caller, dtype=self.dtype, batch=index
            )
            where = f"{self.name} DataLoader batch {index}"
            if self.classes is None:
                self.classes = _check_model_fits(
                    self.model,
                    (X, y),
                    self.name,
                    caller=self.caller,
                    device=self.device,
                    where=where,
                )
            else:
                _check_label_range(y, self.classes, where, self.caller)
            yield X, y


def _check_model_device(model: nn.Module, device: torch.device, caller: str) -> None:
    """Refuse a model whose weights are not on ``device`` (the batches go there)."""
    weight = next(iter(model.parameters()), None)
    if weight is not None and (
        weight.device.type != device.type
        or (device.index is not None and weight.device.index != device.index)
    ):
        raise ValueError(
            f"{caller}: the model is on {str(weight.device)!r} but device is {str(device)!r}; "
            f"move it with model.to({str(device)!r}) or pass device={str(weight.device)!r}."
        )


def _batches(
    data: tuple[Tensor, Tensor] | _CheckedLoader,
    batch_size: int | None,
    order: torch.Generator | None,
) -> Iterable[tuple[Tensor, Tensor]]:
    """Training batches of one epoch: shuffled tensors, the whole set, or the loader's own."""
    if isinstance(data, _CheckedLoader):
        yield from data
        return
    X, y = data
    if batch_size is None or batch_size >= len(X):
        yield X, y
        return
    permutation = torch.randperm(len(X), generator=order)
    for start in range(0, len(X), batch_size):
        index = permutation[start : start + batch_size]
        yield X[index], y[index]


def _eval_slices(n: int, batch_size: int) -> list[slice]:
    """The evaluation batches of ``n`` samples: :func:`evaluate` and the kept-pass check must
    split alike, or their logits could differ in the last bit."""
    return [slice(i, i + batch_size) for i in range(0, n, batch_size)]


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: tuple[Tensor, Tensor] | DataLoader,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 8192,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``data`` (eval mode, no gradients).

    Parameters
    ----------
    model : nn.Module
        A classifier returning logits ``(batch, classes)``, already on ``device``.
    data : (X, y) tensors or arrays, or DataLoader
        ``y`` holds integer class indices ``0..classes-1``; ``X`` must be finite and is cast to
        the dtype of the model's weights, as :func:`train` casts it. A DataLoader's batches
        are checked alike as they arrive.
    device : str or torch.device, default="cpu"
        Where the batches go: "cpu", "cuda", "cuda:N", "mps" or "auto".
    batch_size : int, default=8192
        Samples per forward pass for tensors, >= 1 (memory only; a DataLoader keeps its own).

    Returns
    -------
    (loss, accuracy) : tuple of float
        Accuracy is a fraction in [0, 1].

    Raises
    ------
    ValueError
        Bad ``batch_size`` or ``device``, a model on another device, or data the checks of
        :func:`train` refuse (shapes, labels, NaN or infinity, a model that does not take it).
    """
    check_param("batch_size", batch_size, Interval(int, 1, None, closed="left"), caller="evaluate")
    if not isinstance(model, nn.Module):
        raise ValueError(f"evaluate: model must be a torch.nn.Module; got {type(model).__name__}.")
    try:
        device = resolve_device(device)
    except ValueError as error:
        raise ValueError(f"evaluate: {error}") from None
    _check_model_device(model, device, "evaluate")
    batches: Iterable[tuple[Tensor, Tensor]]
    if isinstance(data, _CheckedLoader):  # from train(): checked there as train's data
        batches = data
    elif isinstance(data, DataLoader):
        batches = _CheckedLoader(data, model, name="data", caller="evaluate", device=device)
    else:
        if isinstance(data, _Checked):  # train()'s tensors, checked once at its start
            X, y = data
        else:
            X, y = _check_tensors(data, "data", caller="evaluate", dtype=_input_dtype(model))
            _check_model_fits(model, (X, y), "data", caller="evaluate", device=device)
        batches = ((X[part], y[part]) for part in _eval_slices(len(X), batch_size))
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    try:
        for xb, yb in batches:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            logits = model(xb)  # (B, num_classes)
            total_loss += float(F.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(dim=1) == yb).sum())
            count += len(yb)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the data yielded no samples.")
    return total_loss / count, correct / count


@torch.no_grad()
def _eval_logits(model: nn.Module, X: Tensor, batch_size: int) -> Tensor:
    """Logits of ``model`` on ``X`` in eval mode, batched exactly as :func:`evaluate` batches."""
    was_training = model.training
    model.eval()
    logits = torch.cat([model(X[part]) for part in _eval_slices(len(X), batch_size)])
    model.train(was_training)
    return logits


#: Layers that act differently in training and evaluation (or draw random numbers in training):
#: with any of them the training forward pass cannot stand in for the evaluation pass.
_MODE_DEPENDENT = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._NormBase)


class _Lookahead:
    """Full-batch training evaluates the whole training set after every step, and the next
    step's forward pass computes the very same logits again (same weights, same data). This
    keeps that evaluation pass, with its autograd graph, as the next step's forward pass: one
    forward per epoch instead of two (1.17-1.30x faster epochs of the study's MLPs,
    ``benchmarks/full_batch_epoch.py``). The graph is held through ``on_epoch_end``, so a probe
    there runs beside one training step's activations in memory.

    It is used only where the answer cannot change: full batch on tensors, accuracy after the
    epoch (``train_eval="full"``), no dropout or batch norm, and - checked once per run - the
    training-mode logits equal :func:`evaluate`'s eval-mode, batched logits bit for bit.
    Otherwise training falls back to the separate evaluation pass.
    """

    def __init__(self, model: nn.Module, train: Data, cfg: TrainConfig) -> None:
        self.enabled = (
            not isinstance(train, DataLoader)
            and cfg.train_eval == "full"
            and (cfg.batch_size is None or cfg.batch_size >= len(train[0]))
            and not any(isinstance(m, _MODE_DEPENDENT) for m in model.modules())
        )
        self.verified = False
        self.logits: Tensor | None = None  # the current weights' logits, graph attached
        self.versions: list[int] = []

    @staticmethod
    def _versions(model: nn.Module) -> list[int]:
        # bumped by every in-place change: weights changed after the kept pass (by an
        # on_epoch_end hook, say) make its logits stale
        return [p._version for p in model.parameters()]

    def take(self, model: nn.Module) -> Tensor | None:
        """The logits kept for this step's forward pass (None: compute them)."""
        logits, self.logits = self.logits, None
        return logits if logits is not None and self._versions(model) == self.versions else None

    def accuracy(self, model: nn.Module, train: Data, batch_size: int) -> float | None:
        """Training accuracy after the step from a kept forward pass; None where not usable."""
        if not self.enabled:
            return None
        X, y = train
        logits = model(X)  # training mode, with grad: the next step backpropagates through it
        if not self.verified:
            self.verified = torch.equal(logits.detach(), _eval_logits(model, X, batch_size))
            self.enabled = self.verified
            if not self.enabled:
                return None
        self.logits, self.versions = logits, self._versions(model)
        # counted as evaluate() counts: the same float, so histories match the separate pass
        return int((logits.detach().argmax(dim=1) == y).sum()) / len(y)


def _rng_state() -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    cfg: TrainConfig,
    history: TrainHistory,
    order: torch.Generator,
) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": history.epochs,
        "config": asdict(cfg),
        "history": history.to_dict(),
        "rng": _rng_state(),
        "data_order": order.get_state(),
    }
    with atomic_path(path) as temporary:
        torch.save(state, temporary)


def _load_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    cfg: TrainConfig,
    order: torch.Generator,
    device: torch.device,
) -> TrainHistory:
    try:
        state = torch.load(path, map_location=device, weights_only=False)
    except Exception as error:  # torch raises many types for a damaged file
        raise ValueError(
            f"{path}: cannot read the checkpoint ({type(error).__name__}: {error}). Delete it to "
            "start over."
        ) from None
    saved = state.get("config", {})
    mine = asdict(cfg)
    changed = sorted(
        name
        for name in mine
        if name not in _RESUMABLE_CHANGES and name in saved and saved[name] != mine[name]
    )
    if changed:
        detail = ", ".join(f"{n}: {saved[n]!r} -> {mine[n]!r}" for n in changed)
        raise ValueError(
            f"{path}: this checkpoint was written with a different training config ({detail}). "
            "Use another checkpoint path, or delete it to start over."
        )
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:
        raise ValueError(
            f"{path}: the checkpoint does not fit this model ({error}). Use another checkpoint "
            "path."
        ) from None
    optimizer.load_state_dict(state["optimizer"])
    _set_rng_state(state["rng"])
    order.set_state(state["data_order"])
    history = TrainHistory.from_dict(state["history"])
    history.resumed_from = int(state["epoch"])
    return history


# --------------------------------------------------------------------------------------------
# the loop
# --------------------------------------------------------------------------------------------


def train(
    model: nn.Module,
    train: tuple[Tensor, Tensor] | DataLoader,
    cfg: TrainConfig,
    *,
    val: tuple[Tensor, Tensor] | DataLoader | None = None,
    on_epoch_end: EpochHook | None = None,
    progress: Progress | None = None,
) -> TrainHistory:
    """Train ``model`` (any classifier returning logits ``(batch, classes)``) with cross-entropy.

    Parameters
    ----------
    model : nn.Module
        Trained in place (moved to ``cfg.device``).
    train : (X, y) tensors or arrays, or DataLoader
        Training data; ``y`` holds integer class indices below the model's number of outputs;
        ``X`` must be finite and is cast to the dtype of the model's weights (float64 arrays
        to float32, say; float32 input is used as is). Tensors are batched by
        ``cfg.batch_size`` (None = full batch) in a seeded, resumable order; a DataLoader
        supplies its own batches (``cfg.batch_size`` is then ignored), each checked and cast
        the same way as it arrives, every epoch.
    cfg : TrainConfig
        Budget, optimiser, targets, checkpointing; see :class:`TrainConfig`.
    val : (X, y) tensors or arrays, or DataLoader, optional
        Held-out data, evaluated every epoch and checked like ``train``; needed for
        ``cfg.target_val_acc``.
    on_epoch_end : callable, optional
        ``on_epoch_end(epoch, model, record)`` after each epoch's evaluation (e.g. a Betti
        probe); its time is not counted in ``record.seconds``. Return True to stop.
    progress : callable, optional
        ``progress("train", epoch, cfg.epochs)`` after each epoch.

    Returns
    -------
    TrainHistory
        Per-epoch loss, accuracies, learning rate, steps and seconds, and epochs-to-target.

    Raises
    ------
    ValueError
        Bad model, config, callbacks or data; an incompatible checkpoint at
        ``cfg.checkpoint_path``. Tensors are checked up front, a DataLoader's batches as they
        arrive: NaN or infinity in ``X`` is refused, not reported as divergence.

    Notes
    -----
    If ``cfg.checkpoint_path`` holds a checkpoint written with the same config (the epoch budget
    and device may differ), training resumes from it: model, optimiser, epoch, history and all
    RNG states are restored, so a resumed full-batch run matches an uninterrupted one. A run that
    produces a non-finite loss stops with ``stopped == "diverged"`` (it never reaches a target);
    ``diverged_at_init`` says whether the untrained network's loss was already non-finite.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"train: model must be a torch.nn.Module; got {type(model).__name__}.")
    if not isinstance(cfg, TrainConfig):
        raise ValueError(
            f"train: cfg must be a TrainConfig; got {type(cfg).__name__}. Build one with "
            "TrainConfig(**values)."
        )
    for hook_name, hook in (("on_epoch_end", on_epoch_end), ("progress", progress)):
        if hook is not None and not callable(hook):
            raise ValueError(f"train: {hook_name} must be a function or None; got {hook!r}.")
    cfg.validate()
    if cfg.target_val_acc is not None and val is None:
        raise ValueError("train: cfg.target_val_acc is set but no val data was given.")
    device = resolve_device(cfg.device)
    dtype = _input_dtype(model)
    if not isinstance(train, DataLoader):
        train = _check_tensors(train, "train", dtype=dtype)
        train = _Checked((train[0].to(device), train[1].to(device)))  # small sets: move once
    if val is not None and not isinstance(val, DataLoader):
        val = _check_tensors(val, "val", dtype=dtype)
        val = _Checked((val[0].to(device), val[1].to(device)))
    model.to(device)
    for name, data in (("train", train), ("val", val)):
        if data is not None and not isinstance(data, DataLoader):
            _check_model_fits(model, data, name)
    # a DataLoader's batches are checked as they arrive (evaluate() takes these too)
    train_data: tuple[Tensor, Tensor] | _CheckedLoader = (
        _CheckedLoader(train, model, name="train", caller="train", device=device)
        if isinstance(train, DataLoader)
        else train
    )
    val_data: Any = (
        _CheckedLoader(val, model, name="val", caller="train", device=device)
        if isinstance(val, DataLoader)
        else val
    )
    optimizer = _make_optimizer(model, cfg)
    order = torch.Generator().manual_seed(cfg.seed)  # data order, independent of the model RNG
    checkpoint = Path(cfg.checkpoint_path) if cfg.checkpoint_path else None
    if checkpoint is not None and checkpoint.exists():
        history = _load_checkpoint(checkpoint, model, optimizer, cfg, order, device)
    else:
        torch.manual_seed(cfg.seed)
        history = TrainHistory()
    report = progress or (lambda stage, done, total: None)
    if _done(history, cfg):
        return history
    step = history.steps
    history.stopped = "budget"  # until something else ends the run
    model.train()
    lookahead = _Lookahead(model, train, cfg)
    for epoch in range(history.epochs + 1, cfg.epochs + 1):
        started = time.perf_counter()
        total_loss, correct, count = 0.0, 0, 0
        for xb, yb in _batches(train_data, cfg.batch_size, order):
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            lr = lr_at(step, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            kept = lookahead.take(model)
            logits = model(xb) if kept is None else kept  # (B, num_classes)
            loss = F.cross_entropy(logits, yb)
            if step == 0:  # the untrained network: a non-finite loss here is no lr's fault
                history.diverged_at_init = not bool(torch.isfinite(loss))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            total_loss += float(loss.detach()) * len(yb)
            correct += int((logits.detach().argmax(dim=1) == yb).sum())
            count += len(yb)
        if count == 0:
            raise ValueError("train: the training data yielded no samples.")
        train_loss = total_loss / count
        if not math.isfinite(train_loss):
            history.stopped = "diverged"  # a miss: lr too high (or diverged_at_init: overflow)
            if checkpoint is not None:
                _save_checkpoint(checkpoint, model, optimizer, cfg, history, order)
            break
        if cfg.train_eval == "full":
            kept_acc = lookahead.accuracy(model, train, cfg.eval_batch_size)
            train_acc = (
                kept_acc
                if kept_acc is not None
                else evaluate(
                    model, cast(Any, train_data), device=device, batch_size=cfg.eval_batch_size
                )[1]
            )
        else:
            train_acc = correct / count
        val_acc = None
        if val_data is not None:
            _, val_acc = evaluate(model, val_data, device=device, batch_size=cfg.eval_batch_size)
        record = EpochRecord(
            epoch=epoch,
            loss=train_loss,
            train_acc=train_acc,
            val_acc=val_acc,
            lr=lr_at(step - 1, cfg),
            steps=step,
            seconds=time.perf_counter() - started,
        )
        history.records.append(record)
        _update_targets(history, record, cfg)
        stop = bool(on_epoch_end(epoch, model, record)) if on_epoch_end is not None else False
        report("train", epoch, cfg.epochs)
        reached = cfg.stop_at_target and history.epochs_to_target is not None
        if reached:
            history.stopped = "target"
        elif stop:
            history.stopped = "callback"
        if checkpoint is not None and (
            epoch % cfg.checkpoint_every == 0 or reached or stop or epoch == cfg.epochs
        ):
            _save_checkpoint(checkpoint, model, optimizer, cfg, history, order)
        if reached or stop:
            break
    return history


def _update_targets(history: TrainHistory, record: EpochRecord, cfg: TrainConfig) -> None:
    """Record the first epoch each configured target holds, and when all have been reached."""
    if (
        cfg.target_train_acc is not None
        and history.epochs_to_train_target is None
        and record.train_acc >= cfg.target_train_acc
    ):
        history.epochs_to_train_target = record.epoch
    if (
        cfg.target_val_acc is not None
        and history.epochs_to_val_target is None
        and record.val_acc is not None
        and record.val_acc >= cfg.target_val_acc
    ):
        history.epochs_to_val_target = record.epoch
    wanted = [
        reached
        for target, reached in (
            (cfg.target_train_acc, history.epochs_to_train_target),
            (cfg.target_val_acc, history.epochs_to_val_target),
        )
        if target is not None
    ]
    reached_all = [r for r in wanted if r is not None]
    if wanted and len(reached_all) == len(wanted) and history.epochs_to_target is None:
        history.epochs_to_target = max(reached_all)


def _done(history: TrainHistory, cfg: TrainConfig) -> bool:
    """True when a resumed run has nothing left to do."""
    if history.stopped == "diverged":
        return True
    if cfg.stop_at_target and history.epochs_to_target is not None:
        return True
    return history.epochs >= cfg.epochs

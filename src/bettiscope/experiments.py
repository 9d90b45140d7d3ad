"""The activation comparison: does an activation reach the training target in fewer epochs?

Follows the project's convergence protocol (``docs/study.md``):

1. Targets fixed before running: 100% training accuracy (the Naitzat "well-trained" criterion)
   and, separately, an optional held-out accuracy.
2. Per activation, the learning rate is tuned on *tuning seeds* over the same log grid with the
   same epoch budget, by median epochs-to-target (a miss counts as infinity).
3. Evaluation on >= 10 fresh seeds, paired across activations (same data, split, init seed).
4. Speed-up vs ReLU = median epochs(ReLU) / median epochs(activation), with a 95% bootstrap
   interval over seeds (10,000 paired resamples), a paired Wilcoxon signed-rank test and the
   probability of improvement (:mod:`bettiscope.statistics`); success rate; wall-clock per
   epoch.
5. Betti numbers per layer and class (the mechanism) traced in every evaluation run.

A study is defined by a :class:`StudyTask` (data, model builder, probe set, measurement,
training defaults). Tasks are built by name from :data:`TASK_BUILDERS` so any worker process can
rebuild one from a plain-dict run spec: the MLP task on a point-cloud data set is built in here;
other tasks (CNNs on images) register theirs with :func:`register_task`.

Jobs: :func:`tuning_specs` / :func:`evaluation_specs` list plain-dict run specs and
:func:`execute_run` runs one and returns its JSON record, so any executor (local processes, Ray)
can run them in parallel; :func:`run_compare` wires the phases together with resume (one atomic
JSON file per finished run in ``DIR/runs/``).
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from bettiscope.executor import RERUN_REMEDY, map_resumable
from bettiscope.statistics import (
    censored,
    format_percent,
    paired_wilcoxon,
    probability_of_improvement,
    speedup_interval,
)
from bettiscope.storage import (
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    check_out_folder,
    environment_info,
    read_json,
    to_jsonable,
)
from bettiscope.training import TrainConfig, resolve_device, resolve_lr_decay_steps

__all__ = [
    "DEFAULT_LR_GRID",
    "TASK_BUILDERS",
    "CompareConfig",
    "StudyTask",
    "build_task",
    "choose_lrs",
    "evaluation_specs",
    "execute_run",
    "export_results",
    "init_divergence_warnings",
    "mlp_task",
    "register_task",
    "run_compare",
    "summarise",
    "tuning_specs",
    "tuning_warnings",
]

Progress = Callable[[str, int, int], None]

#: 8 log-spaced learning rates from 1e-4 to 3e-1 (the protocol's "7-9 points").
DEFAULT_LR_GRID: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)


# --------------------------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------------------------


@dataclass
class StudyTask:
    """Everything one comparison needs besides the activation, seed and learning rate.

    Attributes
    ----------
    name : str
        Shown in results (e.g. "D-II").
    build_model : callable
        ``build_model(activation, seed) -> nn.Module``; the same seed gives the same initial
        weights for every activation whose shapes match (paired runs).
    train : (X, y) tensors or DataLoader
    val : (X, y) tensors, DataLoader, or None
    probe_inputs : Tensor or None
        Points whose per-layer Betti numbers are traced (None: no traces).
    probe_labels : Tensor or None
        Their true labels (for accuracy; classes are split by predicted label).
    measure : dict
        Engine parameters for the probe (metric, k, scale, stride, max_dim).
    train_defaults : TrainConfig
        Optimiser, batch size, decay, targets; lr, epochs and seed are set per run.
    info : dict
        Provenance for the results (data set parameters, true Betti numbers, model shape).
    """

    name: str
    build_model: Callable[[Any, int], nn.Module]
    train: Any
    val: Any = None
    probe_inputs: Tensor | None = None
    probe_labels: Tensor | None = None
    measure: dict[str, Any] = field(default_factory=dict)
    train_defaults: TrainConfig = field(default_factory=TrainConfig)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the probe first measures at a trace, possibly hours into a comparison: a bad Betti
        # parameter (k=0, a negative scale) must fail here, before any run starts
        from bettiscope._validation import check_param, check_params
        from bettiscope.probe import DEFAULT_MEASURE
        from bettiscope.topology import KNN_HOP_SCALE, KNN_HOP_SCALE_HINT, PARAMETER_CONSTRAINTS

        caller = f"the Betti measurement of {self.name}"
        check_params(self.measure, PARAMETER_CONSTRAINTS, caller=caller)
        metric = self.measure.get("metric", DEFAULT_MEASURE["metric"])
        if metric == "knn-hop" and self.measure.get("scale") is not None:
            check_param(
                "scale",
                self.measure["scale"],
                KNN_HOP_SCALE,
                caller=caller,
                hint=KNN_HOP_SCALE_HINT,
            )


#: kind -> builder ``builder(dataset, *, data_seed, **options) -> StudyTask``.
TASK_BUILDERS: dict[str, Callable[..., StudyTask]] = {}
#: data set name -> task kind, for data sets that are not point clouds (e.g. "digits" -> "cnn").
DATASET_TASKS: dict[str, str] = {}


def register_task(
    kind: str, builder: Callable[..., StudyTask], *, datasets: Sequence[str] = ()
) -> None:
    """Make a task kind available to ``compare`` (and to worker processes that import it).

    Parameters
    ----------
    kind : str
        Task kind, stored in every run spec (e.g. "cnn").
    builder : callable
        ``builder(dataset: str, *, data_seed: int, **options) -> StudyTask``; must be a
        module-level function so run specs can be executed in other processes.
    datasets : sequence of str
        Data set names that default to this kind in :func:`task_kind_for`.
    """
    TASK_BUILDERS[kind] = builder
    for name in datasets:
        DATASET_TASKS[name] = kind


#: Modules that register further task kinds when imported (missing ones are skipped).
TASK_MODULES: tuple[str, ...] = ("bettiscope.image_study",)


def _import_task_modules() -> None:
    import importlib

    for name in TASK_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:  # the module exists but one of its imports is missing
                raise


def task_kind_for(dataset: str) -> str:
    """The task kind for a data set name: a registered one, else "mlp" (point clouds)."""
    _import_task_modules()
    return DATASET_TASKS.get(dataset, DATASET_TASKS.get(dataset.lower(), "mlp"))


class _MLPBuilder:
    """Picklable ``build_model(activation, seed)`` for the MLP task."""

    def __init__(
        self, in_features: int, num_classes: int, width: int, depth: int, bias_init: str = "zeros"
    ) -> None:
        self.in_features, self.num_classes = in_features, num_classes
        self.width, self.depth, self.bias_init = width, depth, bias_init

    def __call__(self, activation: Any, seed: int) -> nn.Module:
        from bettiscope.models.mlp import build_mlp

        return build_mlp(
            self.in_features,
            self.num_classes,
            width=self.width,
            depth=self.depth,
            activation=activation,
            bias_init=self.bias_init,
            seed=seed,
        )


def _stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, val): ``fraction`` of each class held out, chosen by ``seed``.

    Masks keep the file order, so stride subsampling of the training part stays deterministic.
    """
    rng = np.random.default_rng(seed)
    val = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        index = np.flatnonzero(y == label)
        count = round(fraction * len(index))
        val[rng.choice(index, size=count, replace=False)] = True
    return ~val, val


def mlp_task(
    dataset: str,
    *,
    data_seed: int = 0,
    width: int = 15,
    depth: int = 10,
    bias_init: str = "zeros",
    val_fraction: float = 0.2,
    probe: str = "auto",
    lr_decay_steps: float | str | None = "auto",
    batch_size: int | None = None,
    dataset_params: dict[str, Any] | None = None,
    measure: dict[str, Any] | None = None,
) -> StudyTask:
    """The synthetic-data task: an MLP (Naitzat defaults) on a point-cloud data set.

    Parameters
    ----------
    dataset : str
        A name known to :func:`bettiscope.datasets.load_dataset` ("D-I", "D-II", ...) or a
        path to a ``.npz``/``.csv`` point cloud with labels.
    data_seed : int, default=0
        Seed (>= 0) of the data set generator and of the train/val split (fixed across runs:
        paired).
    width, depth : int, default=15, 10
        MLP width and layers counting the output layer, both >= 1 (Naitzat: 15 and 10).
    bias_init : {"zeros", "uniform"}, default="zeros"
        MLP bias initialisation (see :func:`bettiscope.models.mlp.build_mlp`): zero as in the
        study, or PyTorch's uniform default, which breaks the mirror symmetry an even
        activation imposes at initialisation on origin-symmetric data.
    val_fraction : float, default=0.2
        Fraction of each class held out for the held-out target (0 = train on everything).
    probe : {"auto", "train", "eval"}, default="auto"
        Points traced: "eval" = the data set's evaluation set (D-I's grid), "train" = the
        training points; "auto" = "eval" when the data set has one.
    lr_decay_steps : float, "auto", "none" or None, default="auto"
        Optimiser steps per halving of the learning rate; "auto" = the study's half-life of
        2500 epochs (2500 steps in full batch; see
        :func:`bettiscope.training.resolve_lr_decay_steps`).
    batch_size : int or None, default=None
        Points per optimiser step (>= 1); None = full batch (the study).
    dataset_params : dict, optional
        Passed to ``load_dataset`` (e.g. a smaller ``n_points`` for a quick run).
    measure : dict, optional
        Overrides of the data set's recommended Betti parameters.

    Raises
    ------
    ValueError
        An option of the wrong type or out of range (checked before the data set is built), a
        data set with fewer than two classes, or training that would not fit in memory.
    """
    from bettiscope.datasets import load_dataset
    from bettiscope.models.mlp import check_bias_init

    check_bias_init(bias_init, "mlp_task")  # before any work: models are built in the workers
    _check_mlp_options(data_seed, width, depth, batch_size, val_fraction)
    width, depth = int(width), int(depth)  # build_mlp takes Python ints (not NumPy's)
    if probe not in ("auto", "train", "eval"):
        raise ValueError(f"mlp_task: probe must be 'auto', 'train' or 'eval'; got {probe!r}.")
    data = load_dataset(dataset, seed=data_seed, **(dataset_params or {}))
    X = np.asarray(data.X, dtype=np.float32)
    y = np.asarray(data.y).astype(np.int64)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"{dataset}: labels must be one integer per point.")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"{dataset}: a classification study needs at least two classes.")
    num_classes = int(classes.max()) + 1
    if val_fraction > 0:
        train_mask, val_mask = _stratified_split(y, val_fraction, data_seed)
    else:
        train_mask, val_mask = np.ones(len(y), dtype=bool), np.zeros(len(y), dtype=bool)
    train = (torch.from_numpy(X[train_mask]), torch.from_numpy(y[train_mask]))
    val = None
    if val_mask.any():
        val = (torch.from_numpy(X[val_mask]), torch.from_numpy(y[val_mask]))
    X_eval = getattr(data, "X_eval", None)
    use_eval = X_eval is not None and probe in ("auto", "eval")
    if probe == "eval" and X_eval is None:
        raise ValueError(f"mlp_task: {dataset} has no evaluation set; use probe='train'.")
    if use_eval:
        probe_inputs = torch.as_tensor(np.asarray(X_eval, dtype=np.float32))
        y_eval = getattr(data, "y_eval", None)
        probe_labels = None if y_eval is None else torch.as_tensor(np.asarray(y_eval))
    else:
        probe_inputs, probe_labels = train
    _check_training_memory(X.shape[1], num_classes, width, depth, len(train[1]), batch_size)
    recommended = dict(getattr(data, "measure", {}) or {})
    recommended.update(measure or {})
    defaults = TrainConfig(
        lr=0.02,
        batch_size=batch_size,
        optimizer="adam",
        lr_decay_steps=resolve_lr_decay_steps(lr_decay_steps, len(train[1]), batch_size),
        target_train_acc=1.0,
    )
    return StudyTask(
        name=str(getattr(data, "name", dataset)),
        build_model=_MLPBuilder(X.shape[1], num_classes, width, depth, bias_init),
        train=train,
        val=val,
        probe_inputs=probe_inputs,
        probe_labels=probe_labels,
        measure=recommended,
        train_defaults=defaults,
        info={
            "dataset": str(getattr(data, "name", dataset)),
            "dataset_params": to_jsonable(getattr(data, "params", {})),
            "true_betti": to_jsonable(getattr(data, "true_betti", {})),
            "n_train": int(train_mask.sum()),
            "n_val": int(val_mask.sum()),
            "n_probe": len(probe_inputs),
            "probe": "eval" if use_eval else "train",
            "model": {
                "kind": "mlp",
                "width": width,
                "depth": depth,
                # only when not the study's zeros, so earlier run folders still resume
                **({"bias_init": bias_init} if bias_init != "zeros" else {}),
            },
        },
    )


def _check_mlp_options(
    data_seed: Any, width: Any, depth: Any, batch_size: Any, val_fraction: Any
) -> None:
    """Refuse, before the data set is built, options that would fail later: in NumPy (a
    negative seed), in a worker's first run (a zero width) or as a bare ZeroDivisionError
    (a zero batch size)."""
    from bettiscope._validation import Interval, check_param

    caller = "mlp_task"
    check_param(
        "data_seed",
        data_seed,
        Interval(int, 0, None, closed="left"),
        caller=caller,
        hint="It seeds the data set and the train/val split (NumPy seeds are non-negative).",
    )
    check_param(
        "width",
        width,
        Interval(int, 1, None, closed="left"),
        caller=caller,
        hint="Units per layer.",
    )
    check_param(
        "depth",
        depth,
        Interval(int, 1, None, closed="left"),
        caller=caller,
        hint="Dense layers counting the output layer (1 = a linear model).",
    )
    if batch_size is not None:
        check_param(
            "batch_size",
            batch_size,
            Interval(int, 1, None, closed="left"),
            caller=caller,
            hint="Give a positive number of points per step, or None for full batch.",
        )
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real):
        raise ValueError(f"mlp_task: val_fraction must be in [0, 1); got {val_fraction!r}.")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"mlp_task: val_fraction must be in [0, 1); got {val_fraction!r}.")


def _check_training_memory(
    in_features: int,
    num_classes: int,
    width: int,
    depth: int,
    n_train: int,
    batch_size: int | None,
) -> None:
    """Refuse, before any run starts, an MLP task whose training would not fit in the memory
    available now."""
    from bettiscope._validation import check_memory
    from bettiscope.models.mlp import mlp_memory_bytes

    if width < 1 or depth < 1:
        return  # build_mlp's own message says what is wrong
    batch = n_train if batch_size is None else min(batch_size, n_train)
    needed = mlp_memory_bytes(in_features, num_classes, [width] * (depth - 1), batch)
    smaller_batch = (
        "a --batch-size (now full batch: every point at once)"
        if batch_size is None
        else "a smaller --batch-size"
    )
    check_memory(
        f"Training a width-{width:,}, depth-{depth} MLP on batches of {batch:,} points "
        "(weights, gradients, Adam's state and the activations kept for the backward pass)",
        needed["training"],
        f"Use a smaller --width or --depth, {smaller_batch}, or fewer points (--data-param).",
    )


def _mlp_builder(dataset: str, *, data_seed: int = 0, **options: Any) -> StudyTask:
    return mlp_task(dataset, data_seed=data_seed, **options)


register_task("mlp", _mlp_builder)


@functools.lru_cache(maxsize=4)
def _cached_task(key: str) -> StudyTask:
    spec = json.loads(key)
    kind = spec["kind"]
    if kind not in TASK_BUILDERS:
        _import_task_modules()
    if kind not in TASK_BUILDERS:
        raise ValueError(
            f"unknown task kind {kind!r}; known: {sorted(TASK_BUILDERS)}. Import the module that "
            "registers it (register_task) before running its specs."
        )
    return TASK_BUILDERS[kind](spec["dataset"], data_seed=spec["data_seed"], **spec["options"])


def build_task(task: dict[str, Any]) -> StudyTask:
    """Build (and cache per process) the task ``{"kind", "dataset", "data_seed", "options"}``."""
    return _cached_task(json.dumps(to_jsonable(task), sort_keys=True))


# --------------------------------------------------------------------------------------------
# configuration and run specs
# --------------------------------------------------------------------------------------------


@dataclass
class CompareConfig:
    """One comparison (what ``bettiscope compare`` runs; recorded in ``results.json``).

    Attributes
    ----------
    dataset : str
        Data set name or point-cloud file.
    activations : list of str
        Registry names; "relu" is added (the baseline) if missing, unless ``relu_baseline`` is
        False.
    seeds : int, default=10
        Paired evaluation seeds ``first_seed .. first_seed + seeds - 1``.
    first_seed : int, default=0
        First evaluation seed (a screening study uses e.g. 2000 to stay off the evaluation
        seeds 0..9).
    tuning_seeds : int, default=3
        Tuning seeds ``1000 .. 1000+tuning_seeds-1``; when tuning runs (``lr_grid`` has two or
        more values) :meth:`validate` refuses evaluation seeds that overlap them.
    max_epochs : int, default=500
        Same epoch budget for every activation and phase.
    lr_grid : list of float
        One value skips tuning.
    target_train_acc : float, default=1.0
    target_val_acc : float or None, default=None
        Held-out target (needs ``task_options['val_fraction'] > 0``).
    trace_every : int, default=25
        Betti traces at epoch 0, every ``trace_every`` epochs and at the end (0 = start and end).
    relu_lr_runs : bool, default=False
        Also evaluate every activation at ReLU's tuned learning rate (protocol item 5).
    relu_baseline : bool, default=True
        Add ReLU, the baseline every speed-up is measured against. False runs only the given
        activations (no speed-up columns): for an arm that is compared with another folder's
        by :func:`bettiscope.paired.paired_speedup` (``bettiscope speedup``), where the ReLU
        runs would be wasted time.
    stop_at_target : bool, default=True
        Stop each run once its targets are reached. False trains every run for the whole
        budget (the Naitzat study's fixed 12,000 steps), still recording the first epoch at
        each target, so the Betti trace is of the network at the end of the budget.
    task_kind : str or None
        Task kind; None = :func:`task_kind_for` the data set.
    task_options : dict
        Builder options (MLP: width, depth, val_fraction, dataset_params, measure, ...).
    data_seed : int, default=0
    device : str, default="cpu"
    bootstrap : int, default=10000
        Bootstrap resamples for the speed-up intervals.
    """

    dataset: str
    activations: list[str] = field(
        default_factory=lambda: ["proposed", "relu", "leaky_relu", "tanh"]
    )
    seeds: int = 10
    first_seed: int = 0
    tuning_seeds: int = 3
    max_epochs: int = 500
    lr_grid: list[float] = field(default_factory=lambda: list(DEFAULT_LR_GRID))
    target_train_acc: float = 1.0
    target_val_acc: float | None = None
    trace_every: int = 25
    relu_lr_runs: bool = False
    relu_baseline: bool = True
    stop_at_target: bool = True
    task_kind: str | None = None
    task_options: dict[str, Any] = field(default_factory=dict)
    data_seed: int = 0
    device: str = "cpu"
    bootstrap: int = 10_000

    def validate(self) -> CompareConfig:
        """Check values and normalise the activation names; return self.

        Raises
        ------
        ValueError
            A value of the wrong type (a float or text count, an activation that is not a
            registry name, ...) or out of range, an unknown activation or device, or evaluation
            seeds that overlap the tuning seeds while tuning runs.
        """
        from bettiscope.activations import activation_name, get_activation

        self._check_types()
        if isinstance(self.activations, str) or not any(a.strip() for a in self.activations):
            raise ValueError(
                f"compare: activations must be a list of names, e.g. ['proposed', 'relu']; "
                f"got {self.activations!r}."
            )
        if isinstance(self.lr_grid, str) or not all(
            isinstance(lr, numbers.Real) and not isinstance(lr, bool) for lr in self.lr_grid
        ):
            raise ValueError(
                f"compare: lr_grid must be a list of numbers, e.g. [0.001, 0.01]; "
                f"got {self.lr_grid!r}."
            )
        names = []
        for text in self.activations:
            if text.strip():
                try:
                    get_activation(text)
                except (ValueError, TypeError) as error:
                    raise ValueError(f"compare: activation {text!r}: {error}") from None
                names.append(activation_name(text))
        if self.relu_baseline and "relu" not in names:
            names.append("relu")  # the baseline every speed-up is measured against
        self.activations = list(dict.fromkeys(names))
        checks = [
            (
                not self.relu_lr_runs or "relu" in self.activations,
                "relu_lr_runs needs relu among the activations (its lr is the one used)",
            ),
            (self.seeds >= 1, f"seeds must be >= 1; got {self.seeds}"),
            (self.tuning_seeds >= 1, f"tuning_seeds must be >= 1; got {self.tuning_seeds}"),
            (self.max_epochs >= 1, f"max_epochs must be >= 1; got {self.max_epochs}"),
            (len(self.lr_grid) >= 1, "lr_grid needs at least one learning rate"),
            (
                all(math.isfinite(lr) and lr > 0 for lr in self.lr_grid),
                f"learning rates must be finite and > 0: {self.lr_grid}",
            ),
            (0 < self.target_train_acc <= 1, "target_train_acc must be in (0, 1]"),
            (
                self.target_val_acc is None or 0 < self.target_val_acc <= 1,
                "target_val_acc must be in (0, 1] or None",
            ),
            (
                self.target_val_acc is None or self.task_options.get("val_fraction") != 0,
                "target_val_acc needs held-out data: a val_fraction above 0, or no val target",
            ),
            (self.trace_every >= 0, f"trace_every must be >= 0; got {self.trace_every}"),
            (self.bootstrap >= 100, f"bootstrap must be >= 100; got {self.bootstrap}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"compare: {message}.")
        self._check_seeds_disjoint()
        try:
            resolve_device(self.device)  # here, not in every worker's first run
        except ValueError as error:
            raise ValueError(f"compare: {error}") from None
        self.lr_grid = sorted({float(lr) for lr in self.lr_grid})
        return self

    def _check_types(self) -> None:
        """Refuse values of the wrong type with one line each, before any comparison of them
        (``"2" >= 1`` would raise a bare TypeError, ``2.5`` seeds would fail in ``range``)."""
        caller = "compare"
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(
                    f"{caller}: {name} must be an int; got {value!r} ({type(value).__name__}). "
                    f"Give a whole number, e.g. {name}={getattr(CompareConfig, name)}."
                )
        for name in ("target_train_acc", "target_val_acc"):
            value = getattr(self, name)
            if value is None and name == "target_val_acc":
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(
                    f"{caller}: {name} must be a number in (0, 1]; got {value!r} "
                    f"({type(value).__name__}). Give a fraction, e.g. {name}=0.99."
                )
            if not math.isfinite(value):
                raise ValueError(f"{caller}: {name} must be a number in (0, 1]; got {value!r}.")
        for name in ("relu_lr_runs", "relu_baseline", "stop_at_target"):
            value = getattr(self, name)
            if not isinstance(value, bool | np.bool_):
                raise ValueError(
                    f"{caller}: {name} must be True or False; got {value!r} "
                    f"({type(value).__name__})."
                )
        if not isinstance(self.task_options, Mapping):
            raise ValueError(
                f"{caller}: task_options must be a dict of builder options, e.g. "
                f"{{'width': 15}}; got {self.task_options!r}."
            )
        if self.task_kind is not None and not isinstance(self.task_kind, str):
            raise ValueError(
                f"{caller}: task_kind must be a task name (str) or None; got {self.task_kind!r}."
            )
        if not isinstance(self.lr_grid, str):
            try:
                self.lr_grid = list(self.lr_grid)
            except TypeError:
                raise ValueError(
                    f"{caller}: lr_grid must be a list of numbers, e.g. [0.001, 0.01]; "
                    f"got {self.lr_grid!r}."
                ) from None
        if isinstance(self.activations, str):
            return  # validate() names the fix: a list of names
        try:
            self.activations = list(self.activations)
        except TypeError:
            raise ValueError(
                f"{caller}: activations must be a list of names, e.g. ['proposed', 'relu']; "
                f"got {self.activations!r}."
            ) from None
        for position, item in enumerate(self.activations):
            if not isinstance(item, str):
                raise ValueError(
                    f"{caller}: activations must be registry names (str), e.g. ['proposed', "
                    f"'relu']; got {item!r} ({type(item).__name__}) at position {position}. "
                    "Run specs store names: register a custom module with "
                    "bettiscope.activations.register_activation(name, factory) and give the name."
                )

    def _check_seeds_disjoint(self) -> None:
        """Refuse evaluation seeds that overlap the tuning seeds (1000 + i) when tuning runs."""
        if len({float(lr) for lr in self.lr_grid}) == 1:
            return  # one learning rate: no tuning runs, so no tuning seeds to collide with
        tuning = self.tuning_seed_list
        evaluation = self.evaluation_seeds
        if evaluation[0] <= tuning[-1] and tuning[0] <= evaluation[-1]:
            shared = range(max(evaluation[0], tuning[0]), min(evaluation[-1], tuning[-1]) + 1)
            below = tuning[0] - self.seeds  # the last first_seed that ends before the tuning
            where = f"<= {below} or >= {tuning[-1] + 1}" if below >= 0 else f">= {tuning[-1] + 1}"
            raise ValueError(
                f"compare: the evaluation seeds {evaluation[0]}..{evaluation[-1]} (first_seed="
                f"{self.first_seed}, seeds={self.seeds}) overlap the tuning seeds "
                f"{tuning[0]}..{tuning[-1]} (tuning_seeds={self.tuning_seeds}) in "
                f"{shared.start}..{shared.stop - 1}; they must be disjoint. Use first_seed "
                f"{where}, or one learning rate (no tuning runs)."
            )

    def task(self) -> dict[str, Any]:
        """The task reference stored in every run spec."""
        return {
            "kind": self.task_kind or task_kind_for(self.dataset),
            "dataset": self.dataset,
            "data_seed": self.data_seed,
            "options": to_jsonable(self.task_options),
        }

    @property
    def evaluation_seeds(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.seeds))

    @property
    def tuning_seed_list(self) -> list[int]:
        return [1000 + i for i in range(self.tuning_seeds)]


#: Integer fields of :class:`CompareConfig` (type-checked before their ranges).
_INT_FIELDS = (
    "seeds",
    "first_seed",
    "tuning_seeds",
    "max_epochs",
    "trace_every",
    "data_seed",
    "bootstrap",
)


def run_id(spec: dict[str, Any]) -> str:
    """File-name-safe identifier of a run spec."""
    activation = re.sub(r"[^A-Za-z0-9_.=-]+", "_", spec["activation"]).strip("_")
    return f"{spec['phase']}-{activation}-lr{spec['lr']:g}-seed{spec['seed']}"


def _spec(
    config: CompareConfig, phase: str, activation: str, lr: float, seed: int, trace: bool
) -> dict[str, Any]:
    return {
        "phase": phase,
        "activation": activation,
        "lr": float(lr),
        "seed": int(seed),
        "max_epochs": config.max_epochs,
        "target_train_acc": config.target_train_acc,
        "target_val_acc": config.target_val_acc,
        "trace_every": config.trace_every if trace else None,
        "device": config.device,
        "task": config.task(),
        # only when not the default, so runs recorded before the option existed stay identical
        **({} if config.stop_at_target else {"stop_at_target": False}),
    }


def tuning_specs(config: CompareConfig) -> list[dict[str, Any]]:
    """Run specs of the tuning phase (empty when the grid has one value: no tuning)."""
    if len(config.lr_grid) == 1:
        return []
    return [
        _spec(config, "tune", activation, lr, seed, trace=False)
        for activation in config.activations
        for lr in config.lr_grid
        for seed in config.tuning_seed_list
    ]


def choose_lrs(
    config: CompareConfig, tuning_records: Sequence[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per activation, the learning rate with the fewest median epochs-to-target on tuning seeds.

    Ties (and the all-miss case) go to more successes, then to the lower mean final training
    loss. Returns ``{activation: {"lr", "median_epochs", "successes", "grid": [...]}}``.
    """
    if len(config.lr_grid) == 1:
        only = config.lr_grid[0]
        return {a: {"lr": only, "tuned": False} for a in config.activations}
    chosen: dict[str, dict[str, Any]] = {}
    for activation in config.activations:
        grid = []
        for lr in config.lr_grid:
            runs = [
                r
                for r in tuning_records
                if r["activation"] == activation and math.isclose(r["lr"], lr)
            ]
            if not runs:
                raise ValueError(f"choose_lrs: no tuning runs for {activation} at lr {lr:g}.")
            epochs = [censored(r["epochs_to_target"]) for r in runs]
            losses = [r.get("final_loss") for r in runs]
            finite_losses = [x for x in losses if x is not None and math.isfinite(x)]
            grid.append(
                {
                    "lr": lr,
                    "median_epochs": float(np.median(epochs)),
                    "successes": sum(math.isfinite(e) for e in epochs),
                    "runs": len(runs),
                    "diverged_at_init": sum(bool(r.get("diverged_at_init")) for r in runs),
                    "mean_final_loss": float(np.mean(finite_losses)) if finite_losses else None,
                }
            )

        def key(row: dict[str, Any]) -> tuple[float, int, float]:
            loss = row["mean_final_loss"]
            return (row["median_epochs"], -row["successes"], math.inf if loss is None else loss)

        best = min(grid, key=key)
        chosen[activation] = {
            "lr": best["lr"],
            "median_epochs": best["median_epochs"],
            "successes": best["successes"],
            "tuned": True,
            "grid": grid,
        }
    return chosen


def _tuning_overflowed(info: dict[str, Any]) -> bool:
    """True when every tuning run at every learning rate was non-finite before its first step."""
    grid = info.get("grid") or []
    return bool(info.get("tuned") and grid) and all(
        row.get("diverged_at_init", 0) == row.get("runs", -1) for row in grid
    )


def tuning_warnings(lrs: dict[str, dict[str, Any]]) -> list[str]:
    """Plain-language warnings about learning rates whose tuning may not have found the best.

    A learning rate chosen at the end of a grid of three or more points may be beaten by one
    beyond it, and one chosen when the median tuning run missed the target at every grid point
    was picked by the tie-breaks (successes, then final loss) only; both make that activation's
    speed-up less trustworthy. An activation whose every tuning run diverged before its first
    step (``diverged_at_init``) gets a warning of its own instead: no learning rate can help
    it. ``lrs`` is :func:`choose_lrs`'s result (also as reloaded from ``results.json``).
    Returns one sentence per affected activation (empty if none).
    """
    warnings: list[str] = []
    for activation, info in lrs.items():
        grid = info.get("grid") or []
        if _tuning_overflowed(info):
            warnings.append(
                f"{activation}: every tuning run's loss was already non-finite before the first "
                "optimiser step (the untrained network's outputs overflow), so no learning rate "
                "can train it and the chosen one means nothing; change the initialisation, the "
                "depth or the activation."
            )
            continue
        if not info.get("tuned") or len(grid) < 3:
            continue
        values = [row["lr"] for row in grid]
        problems = []
        if all(math.isinf(float(row["median_epochs"])) for row in grid):
            problems.append(
                "the median tuning run missed the target at every learning rate, so it was "
                "chosen by successes, then final loss"
            )
        if math.isclose(info["lr"], min(values)):
            problems.append("it is the lowest of the grid (extend --lr-grid downwards)")
        elif math.isclose(info["lr"], max(values)):
            problems.append("it is the highest of the grid (extend --lr-grid upwards)")
        if problems:
            warnings.append(f"{activation} (lr {info['lr']:g}): " + "; ".join(problems) + ".")
    return warnings


def init_divergence_warnings(summary: dict[str, Any]) -> list[str]:
    """One warning per activation some of whose evaluation runs were non-finite before their
    first optimiser step (``diverged_at_init``), unless :func:`tuning_warnings` already says
    that of every tuning run. ``summary`` is a comparison's ``results.json`` summary."""
    warnings = []
    for activation, row in summary["activations"].items():
        count = row.get("diverged_at_init", 0)
        if count and not _tuning_overflowed(summary["lrs"].get(activation, {})):
            warnings.append(
                f"{activation}: {count} of {row['runs']} evaluation runs were non-finite before "
                "their first optimiser step (the untrained network's outputs overflow); a "
                "different learning rate cannot change that."
            )
    return warnings


def evaluation_specs(config: CompareConfig, lrs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Run specs of the evaluation phase (plus runs at ReLU's lr if ``config.relu_lr_runs``)."""
    specs = [
        _spec(config, "eval", activation, lrs[activation]["lr"], seed, trace=True)
        for activation in config.activations
        for seed in config.evaluation_seeds
    ]
    if config.relu_lr_runs:
        relu_lr = lrs["relu"]["lr"]
        specs += [
            _spec(config, "relu_lr", activation, relu_lr, seed, trace=False)
            for activation in config.activations
            if activation != "relu" and not math.isclose(lrs[activation]["lr"], relu_lr)
            for seed in config.evaluation_seeds
        ]
    return specs


# --------------------------------------------------------------------------------------------
# one run
# --------------------------------------------------------------------------------------------


#: Progress stage of the epochs within one run (one run at a time, ``workers=1``).
RUN_EPOCHS_STAGE = "epochs of the run"
#: Progress stage of the epochs of the runs in flight (parallel workers).
RUNNING_EPOCHS_STAGE = "epochs of the runs in flight"
#: Suffix of the small file in ``checkpoints/`` where a run in a worker leaves its epoch.
PROGRESS_SUFFIX = ".progress.json"


class _EpochFile:
    """``progress(stage, epoch, total)`` that writes ``{"epoch", "total"}`` to ``path`` at most
    every ``every_seconds`` (a worker process cannot drive the parent's progress bar)."""

    def __init__(self, path: Path, every_seconds: float = 5.0) -> None:
        self.path, self.every, self.last = path, every_seconds, -math.inf

    def __call__(self, _stage: str, epoch: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            atomic_write_json(self.path, {"epoch": epoch, "total": total})

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class _EpochWatcher:
    """Sums the epochs the runs in flight left in ``folder`` (see :class:`_EpochFile`) and
    reports them every ``every_seconds``, from a thread, while a phase runs in workers."""

    def __init__(self, folder: Path, progress: Progress, every_seconds: float = 2.0) -> None:
        self.folder, self.progress, self.every = folder, progress, every_seconds
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _EpochWatcher:
        for stale in self.folder.glob(f"*{PROGRESS_SUFFIX}"):  # from an interrupted session
            stale.unlink(missing_ok=True)
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.thread.join()

    def _watch(self) -> None:
        while not self.stop.wait(self.every):
            done = total = 0
            for path in self.folder.glob(f"*{PROGRESS_SUFFIX}"):
                try:
                    entry = json.loads(path.read_text())
                    done, total = done + int(entry["epoch"]), total + int(entry["total"])
                except (OSError, ValueError, KeyError, TypeError):
                    continue  # a run that just ended and removed it
            if total:
                self.progress(RUNNING_EPOCHS_STAGE, done, total)


def execute_run(spec: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
    """Train one (activation, lr, seed) and return its JSON-ready record.

    Parameters
    ----------
    spec : dict
        From :func:`tuning_specs` / :func:`evaluation_specs`. An optional ``checkpoint_dir``
        key names a folder for a mid-run checkpoint and partial trace (resumed if present,
        removed when the run finishes).
    progress : callable, optional
        ``progress("epochs of the run", epoch, max_epochs)`` after every epoch.

    Returns
    -------
    dict
        ``activation, seed, lr, phase, epochs_to_target`` (int or None: all configured targets),
        ``epochs_to_train_target, epochs_to_val_target, stopped, epochs, steps, seconds``
        (training wall-clock of all epochs, probe excluded), ``seconds_per_epoch,
        probe_seconds`` (all trace entries, also those from before a resume), ``wall_seconds``
        (this call only: a resumed or continued run counts its last part), ``final_loss,
        final_train_acc, final_val_acc, history`` (per-epoch columns) and ``betti_trace``
        (None for untraced runs).
    """
    from bettiscope.probe import TraceRecorder
    from bettiscope.training import train

    started = time.perf_counter()
    task = build_task(spec["task"])
    model = task.build_model(spec["activation"], spec["seed"])
    cfg = replace(
        task.train_defaults,
        lr=spec["lr"],
        epochs=spec["max_epochs"],
        seed=spec["seed"],
        target_train_acc=spec["target_train_acc"],
        target_val_acc=spec["target_val_acc"],
        stop_at_target=spec.get("stop_at_target", True),
        device=spec.get("device", "cpu"),
        checkpoint_path=None,
    )
    partial_trace: Path | None = None
    origin: Path | None = None
    checkpoint_dir = spec.get("checkpoint_dir")
    if checkpoint_dir is not None:
        state, partial_trace, origin = _run_files(Path(checkpoint_dir), spec)
        cfg = replace(
            cfg,
            checkpoint_path=str(state),
            checkpoint_every=max(10, spec.get("trace_every") or 50),
        )
    recorder = None
    trace_every = spec.get("trace_every")
    if trace_every is not None and task.probe_inputs is not None:

        def save_partial(rec: TraceRecorder) -> None:
            if partial_trace is not None:
                atomic_write_json(partial_trace, rec.to_list())

        recorder = TraceRecorder(
            task.probe_inputs,
            measure=task.measure,
            every=trace_every if trace_every > 0 else None,
            epochs=[] if trace_every == 0 else None,
            labels=task.probe_labels,
            on_record=save_partial,
        )
        if partial_trace is not None and partial_trace.exists():
            # a resumed or continued run reports the probe time of its whole trace
            recorder.load(read_json(partial_trace))
        if 0 not in recorder.entries:
            recorder.record(0, model)
    epoch_file = None
    if progress is None and checkpoint_dir is not None:
        # in a worker process: leave the epoch where the comparison's process can read it
        epoch_file = _EpochFile(Path(checkpoint_dir) / f"{run_id(spec)}{PROGRESS_SUFFIX}")
    report = progress or epoch_file
    history = train(
        model,
        task.train,
        cfg,
        val=task.val,
        on_epoch_end=recorder,
        progress=None
        if report is None
        else lambda _stage, done, total: report(RUN_EPOCHS_STAGE, done, total),
    )
    if epoch_file is not None:
        epoch_file.remove()
    if recorder is not None and history.epochs > 0:
        recorder.finish(history.epochs, model, history.records[-1])
    last = history.records[-1] if history.records else None
    record = {
        "id": run_id(spec),
        "phase": spec["phase"],
        "activation": spec["activation"],
        "seed": spec["seed"],
        "lr": spec["lr"],
        "epochs_to_target": history.epochs_to_target,
        "epochs_to_train_target": history.epochs_to_train_target,
        "epochs_to_val_target": history.epochs_to_val_target,
        "stopped": history.stopped,
        "diverged_at_init": history.diverged_at_init,
        "resumed_from": history.resumed_from,
        "epochs": history.epochs,
        "steps": history.steps,
        "seconds": float(sum(history.column("seconds"))),
        "seconds_per_epoch": history.seconds_per_epoch,
        "probe_seconds": None if recorder is None else recorder.seconds,
        "wall_seconds": time.perf_counter() - started,
        "final_loss": None if last is None else last.loss,
        "final_train_acc": None if last is None else last.train_acc,
        "final_val_acc": None if last is None else last.val_acc,
        "history": {
            name: history.column(name) for name in ("loss", "train_acc", "val_acc", "seconds")
        },
        "betti_trace": None if recorder is None else _compact_trace(recorder.to_list()),
        "spec": spec,
    }
    if origin is not None and origin.exists():
        record["extended_from"] = read_json(origin)
        origin.unlink()
    if checkpoint_dir is not None and cfg.checkpoint_path is not None:
        _retire_checkpoint(
            spec,
            Path(checkpoint_dir),
            Path(cfg.checkpoint_path),
            partial_trace,
            keep=history.stopped == "budget" and spec.get("keep_final_state", True),
        )
    return to_jsonable(record)


#: Sub-folder of a comparison's ``checkpoints/`` where runs that ended on their epoch budget
#: leave their final state, so that a comparison with a larger budget can continue them.
FINAL_STATE_DIR = "final"


def _run_files(folder: Path, spec: dict[str, Any]) -> tuple[Path, Path, Path]:
    """A run's checkpoint, partial trace and origin note (set when it continues a shorter run)
    in ``folder``: the one place their names are made."""
    # not with_suffix: a run id such as "...-lr0.02-seed0" contains dots
    base = folder / run_id(spec)
    return Path(f"{base}.pt"), Path(f"{base}.trace.json"), Path(f"{base}.origin.json")


def _retire_checkpoint(
    spec: dict[str, Any], checkpoint_dir: Path, state: Path, trace: Path | None, keep: bool
) -> None:
    """A finished run's checkpoint: kept under ``final/`` when ``keep``, else deleted."""
    final_state, final_trace, _ = _run_files(checkpoint_dir / FINAL_STATE_DIR, spec)
    for current, final in ((state, final_state), (trace, final_trace)):
        if current is None or not current.exists():
            continue
        if keep:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(current, final)  # same folder tree: an atomic rename
        else:
            current.unlink()


def _compact_trace(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Trace entries without repeating the layer names and parameters in each."""
    if not entries:
        return None
    first = entries[0]
    return {
        "layers": first["layers"],
        "classes": first["classes"],
        "measure": first["measure"],
        "labels": first["labels"],
        "entries": [
            {
                "epoch": e["epoch"],
                "train_acc": None if e["train"] is None else e["train"]["train_acc"],
                "betti": e["betti"],
                "n_points": e["n_points"],
                "n_class": e["n_class"],
                "notes": e["notes"],
                "seconds": e["seconds"],
            }
            for e in entries
        ],
    }


# --------------------------------------------------------------------------------------------
# summary statistics (the paired tests themselves are in bettiscope.statistics)
# --------------------------------------------------------------------------------------------


def _median_or_none(values: Sequence[float] | np.ndarray) -> float | None:
    median = float(np.median(values)) if len(values) else math.nan
    return None if not math.isfinite(median) else median


def _betti_score(record: dict[str, Any]) -> float | None:
    """Mean over classes and hidden layers of (sum of Betti numbers) at the run's last trace,
    divided by the same at the input: lower = topology simplified faster (mechanism check)."""
    trace = record.get("betti_trace")
    if not trace or not trace["entries"]:
        return None
    entry = trace["entries"][-1]
    ratios = []
    for by_layer in entry["betti"].values():
        if by_layer[0] is None:
            continue
        inner = [sum(b) for b in by_layer[1:-1] if b is not None]
        if inner and sum(by_layer[0]) > 0:
            ratios.append(float(np.mean(inner)) / sum(by_layer[0]))
    return float(np.mean(ratios)) if ratios else None


def mean_betti_by_layer(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Mean and standard deviation of each class's Betti numbers per layer at the final trace.

    Returns ``{"layers", "classes", "mean": {class: [[b0, b1..] per layer]}, "std": ..., "n"}``
    or None when no run was traced. Unmeasured cells are skipped (``n`` counts the rest).
    """
    traced = [r["betti_trace"] for r in records if r.get("betti_trace")]
    if not traced:
        return None
    layers = traced[0]["layers"]
    classes = [str(c) for c in traced[0]["classes"]]
    mean: dict[str, list[list[float] | None]] = {}
    std: dict[str, list[list[float] | None]] = {}
    count: dict[str, list[int]] = {}
    for c in classes:
        stacks = [t["entries"][-1]["betti"][c] for t in traced]
        mean[c], std[c], count[c] = [], [], []
        for i in range(len(layers)):
            cells = [s[i] for s in stacks if s[i] is not None]
            count[c].append(len(cells))
            if cells:
                array = np.asarray(cells, dtype=float)
                mean[c].append(array.mean(axis=0).tolist())
                std[c].append(array.std(axis=0).tolist())
            else:
                mean[c].append(None)
                std[c].append(None)
    return {"layers": layers, "classes": classes, "mean": mean, "std": std, "n": count}


def summarise(config: CompareConfig, records: Sequence[dict[str, Any]], lrs: dict) -> dict:
    """Per-activation statistics and speed-ups vs ReLU from the evaluation runs."""
    evaluation = [r for r in records if r["phase"] == "eval"]
    seeds = config.evaluation_seeds
    per: dict[str, Any] = {}

    def epochs_of(activation: str, key: str, phase: str = "eval") -> np.ndarray:
        by_seed = {
            r["seed"]: r for r in records if r["phase"] == phase and r["activation"] == activation
        }
        missing = [s for s in seeds if s not in by_seed]
        if missing:
            raise ValueError(f"summarise: {activation} has no {phase} run for seeds {missing}.")
        return np.array([censored(by_seed[s][key]) for s in seeds])

    targets = ["epochs_to_train_target"]
    if config.target_val_acc is not None:
        targets += ["epochs_to_val_target", "epochs_to_target"]
    # without ReLU (relu_baseline=False) there is nothing to measure a speed-up against
    relu = (
        {key: epochs_of("relu", key) for key in targets} if "relu" in config.activations else None
    )

    def target_cell(
        activation: str, key: str, phase: str, seconds_per_epoch: float | None
    ) -> dict[str, Any]:
        """Epochs to one target over the paired seeds, and the statistics against ReLU."""
        epochs = epochs_of(activation, key, phase)
        finite = epochs[np.isfinite(epochs)]
        median = _median_or_none(epochs)
        cell: dict[str, Any] = {
            "epochs": [None if math.isinf(e) else int(e) for e in epochs],
            "success_rate": float(np.isfinite(epochs).mean()),
            "median_epochs": median,
            "mean_epochs_converged": float(finite.mean()) if len(finite) else None,
            "median_seconds_to_target": (
                None if seconds_per_epoch is None or median is None else seconds_per_epoch * median
            ),
        }
        if relu is not None and activation != "relu":
            cell["speedup_vs_relu"] = speedup_interval(
                relu[key], epochs, resamples=config.bootstrap
            )
            cell["wilcoxon_vs_relu"] = paired_wilcoxon(relu[key], epochs, config.max_epochs)
            cell["prob_improvement_vs_relu"] = probability_of_improvement(relu[key], epochs)
        return cell

    for activation in config.activations:
        runs = [r for r in evaluation if r["activation"] == activation]
        row: dict[str, Any] = {
            "lr": lrs[activation]["lr"],
            "runs": len(runs),
            "seconds_per_epoch": _median_or_none(
                [r["seconds_per_epoch"] for r in runs if r["seconds_per_epoch"] is not None]
            ),
            "diverged": sum(r["stopped"] == "diverged" for r in runs),
            "diverged_at_init": sum(bool(r.get("diverged_at_init")) for r in runs),
            # where every run misses, the accuracy reached within the budget still compares
            "final_train_acc_median": _median_or_none(
                [r["final_train_acc"] for r in runs if r["final_train_acc"] is not None]
            ),
            "final_val_acc_median": _median_or_none(
                [r["final_val_acc"] for r in runs if r["final_val_acc"] is not None]
            ),
            "betti_score_median": _median_or_none(
                [s for s in (_betti_score(r) for r in runs) if s is not None]
            ),
        }
        for key in targets:
            label = key.replace("epochs_to_", "")
            row[label] = target_cell(activation, key, "eval", row["seconds_per_epoch"])
        per[activation] = row
    mechanism = _mechanism(evaluation)
    betti = {a: mean_betti_by_layer([r for r in evaluation if r["activation"] == a]) for a in per}

    # the Naitzat study averages well-trained networks only (100% training accuracy). A run
    # that trained on past the target is judged at the end, where its trace was taken: full
    # batch Adam at a high lr can reach 100% and then lose it.
    def at_target(r: dict[str, Any]) -> bool:
        if config.stop_at_target:
            return r["epochs_to_train_target"] is not None
        return r["final_train_acc"] is not None and r["final_train_acc"] >= config.target_train_acc

    betti_converged = {
        a: mean_betti_by_layer([r for r in evaluation if r["activation"] == a and at_target(r)])
        for a in per
    }
    at_relu_lr = {}
    for activation in config.activations:
        runs = [r for r in records if r["phase"] == "relu_lr" and r["activation"] == activation]
        if runs:
            # the same seeds as the evaluation, so the statistics pair with ReLU's runs
            seconds = _median_or_none(
                [r["seconds_per_epoch"] for r in runs if r["seconds_per_epoch"] is not None]
            )
            cells = {
                key.replace("epochs_to_", ""): target_cell(activation, key, "relu_lr", seconds)
                for key in targets
            }
            at_relu_lr[activation] = {
                "lr": runs[0]["lr"],
                "runs": len(runs),
                "seconds_per_epoch": seconds,
                "final_train_acc_median": _median_or_none(
                    [r["final_train_acc"] for r in runs if r["final_train_acc"] is not None]
                ),
                **cells,
            }
    published = None
    if config.task_options.get("width", 15) == 15:  # the study's width; its depth is checked
        from bettiscope.naitzat import published_comparison

        # "well-trained" is the study's 100%; a lower target does not qualify a network
        well_trained = betti_converged if config.target_train_acc >= 1.0 else {}
        published = published_comparison(config.dataset, well_trained, betti)
    return {
        "targets": targets,
        "activations": per,
        "lrs": lrs,
        "mechanism": mechanism,
        "betti_by_layer": betti,
        "betti_by_layer_converged": betti_converged,
        "at_relu_lr": at_relu_lr,
        "published": published,
    }


def _mechanism(evaluation: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Do faster Betti decay and fewer epochs co-occur? Spearman over all evaluation runs."""
    from scipy.stats import spearmanr

    pairs = [
        (score, censored(r["epochs_to_train_target"]))
        for r in evaluation
        if (score := _betti_score(r)) is not None
    ]
    if len(pairs) < 3:
        return {"n": len(pairs), "spearman_rho": None, "p_value": None}
    scores, epochs = zip(*pairs, strict=True)
    budget = max([e for e in epochs if math.isfinite(e)], default=0) + 1
    ranked = [e if math.isfinite(e) else budget for e in epochs]  # misses rank last
    if len(set(scores)) < 2 or len(set(ranked)) < 2:
        return {"n": len(pairs), "spearman_rho": None, "p_value": None}
    rho, p = spearmanr(scores, ranked)
    return {
        "n": len(pairs),
        "spearman_rho": float(rho),
        "p_value": float(p),
        "score": "mean over classes and hidden layers of sum(Betti) at the last trace, "
        "relative to the input; misses ranked last",
    }


# --------------------------------------------------------------------------------------------
# the whole comparison
# --------------------------------------------------------------------------------------------


def _same_run(spec: dict[str, Any], other: Any) -> bool:
    """Whether a stored spec describes the same run (where it was run does not count)."""
    if not isinstance(other, dict):
        return False

    def comparable(s: dict[str, Any]) -> dict[str, Any]:
        s = {k: v for k, v in s.items() if k not in _PLACE_KEYS}
        if s.get("trace_every") is None and isinstance(s.get("task"), dict):
            # an untraced run (tuning) never measures: its Betti settings cannot matter
            options = {k: v for k, v in s["task"].get("options", {}).items() if k != "measure"}
            s["task"] = {**s["task"], "options": options}
        return s

    return comparable(to_jsonable(spec)) == comparable(other)


#: Spec keys that say where and how a run is stored, not what it computes.
_PLACE_KEYS = ("checkpoint_dir", "device", "keep_final_state")


def _other_budget(spec: dict[str, Any], stored: Any) -> int | None:
    """The stored run's epoch budget if it is ``spec``'s run with only another budget."""
    if not isinstance(stored, dict) or not isinstance(stored.get("max_epochs"), int):
        return None
    budget = stored["max_epochs"]
    if budget == spec["max_epochs"] or not _same_run({**spec, "max_epochs": budget}, stored):
        return None
    return budget


def _ended_within(record: dict[str, Any], spec: dict[str, Any]) -> bool:
    """Whether a run ended by itself early enough that ``spec``'s budget gives the same run.

    A run that stopped at its target (when runs stop there) or diverged is the same run under
    any budget that lets it get that far; only runs that used up their budget depend on it.
    """
    epochs, budget = record.get("epochs"), spec["max_epochs"]
    if not isinstance(epochs, int):
        return False
    if record.get("stopped") == "diverged":
        return epochs < budget  # it diverged in epoch ``epochs + 1``
    return (
        record.get("stopped") == "target" and spec.get("stop_at_target", True) and epochs <= budget
    )


def _continue_shorter_run(
    spec: dict[str, Any], record: dict[str, Any], folder: Path, source: Path, out: Path
) -> bool:
    """Seed ``out/checkpoints`` with the final state of a run that used up a smaller budget.

    :func:`execute_run` then resumes it there and trains on to ``spec``'s budget. The learning
    rate schedule does not depend on the budget and the checkpoint holds the model, optimiser,
    data order and RNG states, so the result is the run a from-scratch training to the larger
    budget gives (tested). Returns False when the earlier folder kept no final state.
    """
    state, trace, _ = _run_files(folder / "checkpoints" / FINAL_STATE_DIR, spec)
    if not state.is_file():
        return False
    target_state, target_trace, origin = _run_files(out / "checkpoints", spec)
    if target_state.exists():
        # interrupted here: keep the progress made (a continuation if it came from elsewhere)
        return origin.exists()
    old_end = int(record["epochs"])
    if trace.is_file():
        every = spec.get("trace_every") or 0
        on_schedule = old_end == 0 or (every > 0 and old_end % every == 0)
        # the old run's last entry was taken only because it ended there: a longer run has none
        entries = [e for e in read_json(trace) if on_schedule or e["epoch"] != old_end]
        atomic_write_json(target_trace, entries)
    atomic_write_json(origin, {"run": str(source), "epochs": old_end})
    with atomic_path(target_state) as temporary:
        shutil.copyfile(state, temporary)  # last: its presence marks the run as under way
    return True


#: What marks an exported comparison (see :func:`export_results`) and its format version.
ARCHIVE_KEY = "exported"
ARCHIVE_FORMAT = 1


def read_archive(path: str | Path) -> dict[str, Any]:
    """A comparison's results from a run folder's ``results.json`` or an exported archive.

    Raises
    ------
    ValueError
        Not readable, not JSON, or not a comparison's results (no ``config`` or ``runs``).
    """
    payload = read_json(path)
    if not isinstance(payload, dict) or "config" not in payload or "runs" not in payload:
        raise ValueError(f"{path}: not a comparison's results (no config or runs).")
    return payload


def export_results(
    folder: str | Path, out: str | Path, *, traces: bool = True, partial: bool = False
) -> Path:
    """Write a finished comparison, every run included, as one small JSON archive.

    A run folder holds one file per run with its per-epoch history and a mid-run checkpoint
    folder (tens of MB for a grid); the archive keeps what the results rest on, small enough
    to publish beside a paper or commit: ``results.json`` (configuration, summary, library
    versions) with every evaluation run, and the tuning runs under ``tuning_runs``, each run
    with its full spec, epochs to each target, final accuracies and (unless ``traces=False``)
    its Betti trace; only the per-epoch ``history`` is left out.

    The archive stands in for the folder wherever a finished comparison is read:
    ``bettiscope speedup`` / ``speedup-plot`` (``ARCHIVE.json:ACTIVATION``) and ``compare
    --reuse ARCHIVE.json``, which copies its runs instead of running them again (it cannot
    continue runs to a larger budget: no model state is kept).

    With ``partial=True`` an unfinished comparison (interrupted, or still running) is exported
    too: its configuration and the runs finished so far, without a summary, marked
    ``exported.partial``. Such an archive carries a long comparison from one machine to the
    next (``compare --reuse`` copies its runs, so only the rest is trained) and pairs in
    ``speedup`` like an unfinished folder; runs still training are not in it.

    Parameters
    ----------
    folder : path
        A finished comparison folder (with ``results.json``); with ``partial``, also an
        unfinished one (``config.json`` and ``runs/``).
    out : path
        The archive to write (JSON, written atomically).
    traces : bool, default=True
        Keep each evaluation run's Betti trace (per layer, class and checkpoint).
    partial : bool, default=False
        Export an unfinished comparison's finished runs (a finished one is exported whole).

    Returns
    -------
    Path
        ``out``.
    """
    source = Path(folder)
    results = source / "results.json"
    if not source.is_dir():
        raise ValueError(f"{source}: no such comparison folder.")
    if Path(out).is_dir():
        raise ValueError(f"{out}: is a folder; name the archive file, e.g. {Path(out) / 'x.json'}.")
    finished = results.is_file()
    if not finished and not (partial and (source / "config.json").is_file()):
        raise ValueError(
            f"{source}: no results.json; export a finished comparison (re-run the same compare "
            "command on it to finish it)"
            + (
                ", or add --partial to export the runs finished so far."
                if (source / "config.json").is_file()
                else "; it is not a comparison folder (no config.json either)."
            )
        )
    dropped = ["history"] + ([] if traces else ["betti_trace"])

    def slim(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k not in dropped}

    stored = [read_json(path) for path in sorted((source / "runs").glob("*.json"))]
    if finished:
        payload = read_archive(results)
        evaluation = {record["id"] for record in payload["runs"]}
    else:
        # what results.json would hold so far: the configuration and the finished evaluation
        # runs; no summary, as the runs it would rest on are not all there
        evaluation = {r["id"] for r in stored if r.get("phase") != "tune"}
        payload = {
            "config": read_json(source / "config.json"),
            "runs": [r for r in stored if r["id"] in evaluation],
            "environment": environment_info(),
        }
    archive = {
        **payload,
        "runs": [slim(record) for record in payload["runs"]],
        "tuning_runs": [slim(r) for r in stored if r["id"] not in evaluation],
        ARCHIVE_KEY: {
            "format": ARCHIVE_FORMAT,
            "from": str(source),
            "dropped_run_fields": dropped,
            "created": datetime.now().isoformat(timespec="seconds"),
            **({} if finished else {"partial": True}),
        },
    }
    return atomic_write_text(out, _archive_text(to_jsonable(archive)))


def is_partial_archive(archive: dict[str, Any]) -> bool:
    """Whether ``archive`` (from :func:`read_archive`) holds an unfinished comparison's runs."""
    exported = archive.get(ARCHIVE_KEY)
    return isinstance(exported, dict) and bool(exported.get("partial"))


def _archive_text(archive: dict[str, Any]) -> str:
    """JSON with one top-level key, or one run, per line: ~3x smaller than indented JSON, and a
    diff of two archives shows which runs changed."""

    def value(item: Any) -> str:
        if isinstance(item, list) and item:
            return "[\n" + ",\n".join(f"  {json.dumps(entry)}" for entry in item) + "\n ]"
        return json.dumps(item)

    fields = ",\n".join(f" {json.dumps(key)}: {value(item)}" for key, item in archive.items())
    return "{\n" + fields + "\n}\n"


def _stored_runs(folder: str | Path) -> Callable[[str], tuple[str, dict[str, Any]] | None]:
    """``lookup(run_id) -> (where, record)`` over an earlier comparison's finished runs.

    ``folder`` is a run folder (``runs/<id>.json``) or an archive from :func:`export_results`;
    anything else raises ValueError.
    """
    path = Path(folder)
    if not path.exists():
        raise ValueError(f"reuse: {folder} does not exist.")
    if not path.is_file() and not (path / "runs").is_dir():
        raise ValueError(
            f"reuse: {folder} is neither a comparison folder (no runs/ inside) nor an "
            "exported comparison (.json)."
        )
    if path.is_dir():

        def in_folder(name: str) -> tuple[str, dict[str, Any]] | None:
            source = path / "runs" / f"{name}.json"
            return (str(source), read_json(source)) if source.is_file() else None

        return in_folder
    archive = read_archive(path)
    if ARCHIVE_KEY not in archive:
        raise ValueError(
            f"reuse: {path} is not an exported comparison (see `bettiscope export-results`)."
        )
    records = {r["id"]: r for r in [*archive["runs"], *archive.get("tuning_runs", [])]}

    def in_archive(name: str) -> tuple[str, dict[str, Any]] | None:
        record = records.get(name)
        return None if record is None else (f"{path}#{name}", record)

    return in_archive


_RunSource = tuple[Path, Callable[[str], "tuple[str, dict[str, Any]] | None"]]


def _reusable(
    spec: dict[str, Any], sources: Sequence[_RunSource]
) -> tuple[str, Path, str, dict[str, Any], int | None] | None:
    """How an earlier run serves ``spec``, deciding only (nothing is copied): ``("copy", folder,
    source, record, budget)`` for the same run (``budget``: the earlier budget if it differed),
    ``("continue", ...)`` for a run that used up a smaller budget and kept its final state;
    None when no source has one. The rules are :func:`import_finished_runs`'s."""
    identity = run_id(spec)
    for folder, lookup in sources:
        found = lookup(identity)
        if found is None:
            continue
        source, record = found
        stored: Any = record.get("spec")  # a dict when either check below accepts it
        same = _same_run(spec, stored)
        budget = None if same else _other_budget(spec, stored)
        if budget is None and not same:
            continue
        if same or _ended_within(record, spec):
            return "copy", folder, source, record, budget
        final_state = _run_files(folder / "checkpoints" / FINAL_STATE_DIR, spec)[0]
        if (
            budget is not None
            and budget < spec["max_epochs"]
            and record.get("stopped") == "budget"
            and final_state.is_file()
        ):
            return "continue", folder, source, record, budget
    return None


def import_finished_runs(
    specs: list[dict[str, Any]], out: Path, reuse_from: Sequence[str | Path]
) -> dict[str, int]:
    """Take over runs from other run folders instead of running them again.

    Lets a comparison grow (a wider lr grid, more activations, more tuning seeds, a larger
    budget) without redoing what an earlier folder already holds. For each spec, the first
    folder with a run of the same id decides:

    * same run: its stored ``spec`` equals the new one in every field that decides the result
      (activation, lr, seed, budget, targets, trace spacing, data set, model and measurement
      options; the device and storage folders may differ): the record is copied;
    * same run but another epoch budget, and the run ended by itself within the new budget
      (stopped at its target, or diverged): the record is copied too, as it is the same run;
    * a run that used up a smaller budget and kept its final state (``checkpoints/final/``):
      its state is copied into ``out/checkpoints`` and the run is continued from there, so
      only the extra epochs are trained.

    A folder may also be an archive from :func:`export_results`: its runs are copied the same
    way; it holds no model state, so none is continued.

    Returns ``{"imported": n, "continued": m}``.
    """
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    counts = {"imported": 0, "continued": 0}
    sources = [(Path(folder), _stored_runs(folder)) for folder in reuse_from]
    for spec in specs:
        name = f"{run_id(spec)}.json"
        if (runs_dir / name).exists():
            continue
        match = _reusable(spec, sources)
        if match is None:
            continue
        how, folder, source, record, budget = match
        if how == "copy":
            taken = {**record, "imported_from": str(source)}
            if budget is not None:
                taken["spec"] = {**record["spec"], "max_epochs": spec["max_epochs"]}
                taken["imported_budget"] = budget
            atomic_write_json(runs_dir / name, taken)
            counts["imported"] += 1
        elif _continue_shorter_run(spec, record, folder, Path(source), out):
            counts["continued"] += 1
    return counts


def _run_phase(
    specs: list[dict[str, Any]],
    out: Path,
    executor: Any,
    progress: Progress | None,
    stage: str,
    reuse_from: Sequence[str | Path] = (),
    keep_final_state: bool = True,
) -> list[dict[str, Any]]:
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    if reuse_from:
        import_finished_runs(specs, out, reuse_from)
    paths = [runs_dir / f"{run_id(s)}.json" for s in specs]
    # every run checkpoints, in parallel too, so an interrupted comparison resumes its
    # unfinished runs where they stopped instead of from epoch 0
    place = {"checkpoint_dir": str(out / "checkpoints"), "keep_final_state": keep_final_state}
    specs = [{**spec, **place} for spec in specs]
    if executor is None:
        report = progress or (lambda stage, done, total: None)
        results = []
        for done, (spec, path) in enumerate(zip(specs, paths, strict=True)):
            report(stage, done, len(specs))
            if path.exists():
                results.append(read_json(path, remedy=RERUN_REMEDY))
                continue
            record = execute_run(spec, progress=progress)
            atomic_write_json(path, record)
            results.append(record)
        report(stage, len(specs), len(specs))
        return results
    if progress is None:
        return map_resumable(executor, execute_run, specs, paths, stage=stage)
    folder = out / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    with _EpochWatcher(folder, progress):
        return map_resumable(executor, execute_run, specs, paths, progress=progress, stage=stage)


def _seconds_per_epoch(
    task: StudyTask, activation: str, lr: float, device: str, epochs: int
) -> float | None:
    """Median wall-clock seconds per epoch over ``epochs`` epochs and a warm-up epoch."""
    from bettiscope.training import train

    model = task.build_model(activation, 0)
    cfg = replace(
        task.train_defaults,
        lr=lr,
        epochs=epochs + 1,
        seed=0,
        target_train_acc=None,
        target_val_acc=None,
        device=device,
        checkpoint_path=None,
    )
    return train(model, task.train, cfg, val=task.val).seconds_per_epoch


def _check_compare_folder(out_dir: str | Path, config: CompareConfig) -> tuple[Path, bool]:
    """``out_dir`` as a Path if it can hold this comparison, and whether it holds another
    configuration's leftovers to clear (creates and deletes nothing).

    A folder with another configuration is refused while it holds work (finished runs or
    training checkpoints); one whose runs all failed to start is taken over.
    """
    out = check_out_folder(out_dir, "comparison", {"trace.json": "a trace (bettiscope trace)"})
    config_path = out / "config.json"
    if not config_path.exists():
        return out, False
    previous = read_json(config_path)
    mine = to_jsonable(asdict(config))
    defaults = to_jsonable(asdict(CompareConfig(dataset=config.dataset)))
    # a folder written before an option existed holds that option at its default
    previous = {**{k: defaults[k] for k in mine if k not in previous}, **previous}
    same = {k: v for k, v in previous.items() if k != "device"} == {
        k: v for k, v in mine.items() if k != "device"
    }
    holds_work = any((out / "runs").glob("*.json")) or any((out / "checkpoints").rglob("*.pt"))
    if not same and holds_work:
        raise ValueError(
            f"{out}: this folder holds a comparison with a different configuration; use "
            "another --out folder or delete it."
        )
    return out, not same


def plan_compare(
    config: CompareConfig,
    out_dir: str | Path,
    *,
    reuse_from: Sequence[str | Path] = (),
    timing_epochs: int = 3,
) -> dict[str, Any]:
    """What :func:`run_compare` with these arguments would still train, and an upper bound on
    how long it takes, without training it or creating ``out_dir``.

    A run counts as done when ``out_dir/runs`` holds it or :func:`import_finished_runs` would
    copy it from a ``reuse_from`` folder or archive; a run it would *continue* counts with the
    epochs still to train; a run interrupted in ``out_dir`` counts with its whole budget.
    The evaluation runs' learning rates are known only once tuning is done: until then every
    evaluation run counts as to train. Each activation's seconds per epoch are measured here on
    ``timing_epochs`` epochs (after one warm-up epoch, one thread as in a worker), and the bound
    assumes every run uses its whole budget; runs that reach the target stop earlier. Training
    only: the Betti traces of the evaluation runs (``trace_every``) come on top.

    Returns
    -------
    dict
        ``phases``: ``{"tune" | "evaluate" | "relu_lr": {"runs", "done", "to_train",
        "continued", "epochs"}}`` (``continued``: runs to train that go on from a shorter
        earlier run; ``epochs``: the epochs still to train, summed); ``lrs_known``;
        ``seconds_per_epoch`` per activation; ``core_seconds`` (the upper bound on one core).
    """
    config.validate()
    task = build_task(config.task())
    sources = [(Path(folder), _stored_runs(folder)) for folder in reuse_from]
    runs_dir = _check_compare_folder(out_dir, config)[0] / "runs"

    def status(spec: dict[str, Any]) -> tuple[dict[str, Any] | None, int]:
        """(the finished record or None, epochs still to train): what run_compare would do."""
        path = runs_dir / f"{run_id(spec)}.json"
        if path.is_file():
            return read_json(path, remedy=RERUN_REMEDY), 0
        match = _reusable(spec, sources)
        if match is None:
            return None, config.max_epochs
        how, _, _, record, _ = match
        if how == "copy":
            return record, 0
        return None, config.max_epochs - int(record["epochs"])  # continued

    tuning = tuning_specs(config)
    tuning_status = [status(spec) for spec in tuning]
    lrs_known = all(record is not None for record, _ in tuning_status)
    phases: dict[str, list[tuple[dict[str, Any], int]]] = {
        "tune": [(spec, left) for spec, (_, left) in zip(tuning, tuning_status, strict=True)]
    }
    if lrs_known:
        lrs = choose_lrs(config, [record for record, _ in tuning_status if record is not None])
        later = evaluation_specs(config, lrs)
        for phase in ("eval", "relu_lr"):
            specs = [s for s in later if s["phase"] == phase]
            phases["evaluate" if phase == "eval" else phase] = [
                (spec, status(spec)[1]) for spec in specs
            ]
    else:  # learning rates unknown: every evaluation run is still to train
        phases["evaluate"] = [
            (_spec(config, "eval", a, config.lr_grid[0], s, trace=True), config.max_epochs)
            for a in config.activations
            for s in config.evaluation_seeds
        ]
        if config.relu_lr_runs:  # at most one set per activation but ReLU
            phases["relu_lr"] = [
                (
                    _spec(config, "relu_lr", a, config.lr_grid[0], s, trace=False),
                    config.max_epochs,
                )
                for a in config.activations
                if a != "relu"
                for s in config.evaluation_seeds
            ]
    middle = config.lr_grid[len(config.lr_grid) // 2]
    pending = {spec["activation"] for entries in phases.values() for spec, left in entries if left}
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # only what is still to train is timed
        speed = {
            a: _seconds_per_epoch(task, a, middle, config.device, timing_epochs)
            if a in pending
            else None
            for a in config.activations
        }
    finally:
        torch.set_num_threads(previous_threads)
    summary, core_seconds = {}, 0.0
    for phase, entries in phases.items():
        to_train = [(spec, left) for spec, left in entries if left]
        summary[phase] = {
            "runs": len(entries),
            "done": len(entries) - len(to_train),
            "to_train": len(to_train),
            "continued": sum(left < config.max_epochs for _, left in to_train),
            "epochs": sum(left for _, left in to_train),
        }
        core_seconds += sum(left * (speed[s["activation"]] or 0.0) for s, left in to_train)
    return {
        "phases": summary,
        "lrs_known": lrs_known,
        "seconds_per_epoch": speed,
        "timing_epochs": timing_epochs,
        "core_seconds": core_seconds,
    }


def run_compare(
    config: CompareConfig,
    out_dir: str | Path,
    *,
    executor: Any = None,
    progress: Progress | None = None,
    reuse_from: Sequence[str | Path] = (),
    keep_final_state: bool = True,
) -> dict[str, Any]:
    """Tune, evaluate, summarise and plot; write ``results.json``, figures, ``summary.md`` and
    ``report.html``.

    Parameters
    ----------
    config : CompareConfig
    out_dir : path
        Run folder. Finished runs are kept as ``runs/<id>.json``; re-running on the same folder
        skips them (and resumes an interrupted run from ``checkpoints/``).
    executor : bettiscope.executor.Executor, optional
        Runs the jobs of each phase (e.g. in parallel processes or on Ray). None runs them here,
        one by one, with mid-run checkpoints.
    progress : callable, optional
        ``progress(stage, done, total)`` with stage "tune" or "evaluate".
    reuse_from : sequence of paths, default=()
        Earlier run folders whose finished runs with identical specs are copied instead of
        being run again, and whose runs that used up a smaller budget are continued instead of
        restarted (see :func:`import_finished_runs`).
    keep_final_state : bool, default=True
        Keep the final checkpoint of every run that used up its budget in
        ``checkpoints/final/`` (a few hundred kB per MLP run), so that a later comparison with a
        larger budget and ``reuse_from`` this folder continues these runs. False deletes it.

    Returns
    -------
    dict
        The content of ``results.json``: ``config``, ``runs`` (evaluation and ReLU-lr runs;
        tuning runs are summarised under ``summary.lrs``), ``summary``, ``environment``.
    """
    config.validate()
    # fail early on a bad data set, before any run starts or the folder is claimed
    task = build_task(config.task())
    for folder in reuse_from:
        _stored_runs(folder)  # a bad folder or archive fails here, before any run starts
    out, stale = _check_compare_folder(out_dir, config)
    if stale:  # partial traces of runs that failed to start under the old configuration
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "config.json", asdict(config))
    tuning = _run_phase(
        tuning_specs(config), out, executor, progress, "tune", reuse_from, keep_final_state
    )
    lrs = choose_lrs(config, tuning)
    evaluation = _run_phase(
        evaluation_specs(config, lrs),
        out,
        executor,
        progress,
        "evaluate",
        reuse_from,
        keep_final_state,
    )
    summary = summarise(config, evaluation, lrs)
    results = {
        "config": {**asdict(config), "task": config.task(), "task_info": task.info},
        "created": datetime.now().isoformat(timespec="seconds"),
        "runs": evaluation,
        "summary": summary,
        "environment": environment_info(),
    }
    atomic_write_json(out / "results.json", results)
    from bettiscope.report import (
        comparison_report,
        figure_title,
        plot_betti_by_layer,
        plot_fraction_converged,
        render_html,
        render_summary_md,
    )

    title = figure_title(task.name, config)
    plot_fraction_converged(
        evaluation,
        config.max_epochs,
        out / "fraction_converged.png",
        title=title,
        target_train_acc=config.target_train_acc,
    )
    # as in the Naitzat study: well-trained networks only, where an activation has any
    converged = summary["betti_by_layer_converged"]
    plot_betti_by_layer(
        {a: converged[a] or summary["betti_by_layer"][a] for a in converged},
        out / "betti_by_layer.png",
        title=f"{title}; networks at {format_percent(config.target_train_acc)} training accuracy",
        label_notes={a: "all runs: none at the target" for a in converged if not converged[a]},
    )
    others = [a for a in summary["activations"] if a != "relu"]
    if config.relu_baseline and others:
        from bettiscope.paired import plot_speedups, summary_rows

        plot_speedups(
            summary_rows(summary, config.max_epochs, config.evaluation_seeds),
            out / "speedups.png",
            title=f"{title}: speed-up over ReLU, epochs to "
            f"{format_percent(config.target_train_acc)} training accuracy",
        )
    atomic_write_text(out / "summary.md", render_summary_md(to_jsonable(results)))

    atomic_write_text(
        out / "report.html", render_html(comparison_report(to_jsonable(results)), out)
    )
    return to_jsonable(results)

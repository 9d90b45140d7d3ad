"""The pruning comparison behind ``bettiscope prune``: Betti rule vs the standard baselines.

One checkpoint, one image sample, one fine-tuning budget, one set of counters::

    checkpoint -> score filters (betti, l1, hrank, random)      scores/<method>.json, .csv
               -> plans: betti rule (threshold or ratio), then the baselines sized from it
               -> for each plan: prune a copy (Torch-Pruning), measure, save, reload-check
                  (-> fine-tune E epochs, measure, save, reload-check)
               -> pruning.json, summary.md, figures/

Methods (all but ``betti`` are sized from the Betti rule's plan):

=================  ==========================================================================
``betti``          the rule: every filter with score > threshold (or the top ``ratio``)
``random``         random filters, the Betti rule's count in every layer
``l1``             L1-norm (smallest), the Betti rule's *total* spread uniformly over layers
                   (Li et al.'s uniform budget); with ``ratio``, the same ratio and ``scope``
``hrank``          HRank (lowest mean rank), sized like ``l1``
``l1-matched``     L1-norm, the Betti rule's count in every layer (matched-count control)
``hrank-matched``  HRank, the Betti rule's count in every layer (matched-count control)
``betti-lowest``   the *lowest*-Betti filters, the Betti rule's count in every layer (direction
                   check: if this does as well, the Betti ranking carries no information)
=================  ==========================================================================

Every step writes its result atomically under the output folder; re-running with the same
settings skips what is done (``state/``), so an interrupted run resumes.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from bettiscope._validation import Interval, Options, check_param
from bettiscope.pruning.removal import count_macs, count_params, prune_filters
from bettiscope.pruning.scoring import (
    BettiConfig,
    BettiScorer,
    FilterScores,
    HRankScorer,
    L1Scorer,
    RandomScorer,
    conv_layers,
)
from bettiscope.pruning.selection import (
    counts,
    select_count,
    select_ratio,
    select_threshold,
    uniform_counts,
)
from bettiscope.storage import (
    atomic_write_json,
    atomic_write_text,
    check_out_folder,
    environment_info,
    read_json,
    to_jsonable,
)

if TYPE_CHECKING:  # models.cnn is imported where used: pruning does not need it to load
    from bettiscope.models.cnn import CNN

__all__ = ["BASELINES", "METHODS", "PruneConfig", "load_task", "run_pruning"]

Progress = Callable[[str, int, int], None]

#: Every comparison method, in report order ("betti" is the rule itself).
METHODS = ("betti", "random", "l1", "hrank", "l1-matched", "hrank-matched", "betti-lowest")
#: The baselines ``--baselines all`` runs.
BASELINES = METHODS[1:]


@dataclass
class PruneConfig:
    """Everything that decides a pruning comparison (recorded in ``pruning.json``).

    Attributes
    ----------
    threshold : float or None, default=None
        The paper's rule: remove every filter whose Betti score is above it. Exclusive with
        ``ratio``; when neither is given, 300 (the paper's value).
    ratio : float or None, default=None
        Remove this fraction of filters by Betti score instead (``scope`` decides where).
    scope : {"layer", "global"}, default="layer"
        ``ratio`` per layer, or over all filters at once.
    min_keep : int, default=1
        Filters that always stay in every layer.
    samples : int, default=500
        Training images scored (the same seeded sample for Betti and HRank).
    baselines : tuple of str, default=BASELINES
        Which of :data:`BASELINES` to run besides ``betti``.
    finetune_epochs : int, default=0
        Fine-tuning budget after pruning (0: none); the same for every method.
    finetune_lr : float, default=0.001
        Adam learning rate for fine-tuning.
    finetune_batch_size : int, default=64
    latency_repeats : int, default=20
        Timed forward passes per batch size (after 3 warm-up passes); the median is reported.
    latency_batches : tuple of int, default=(1, 64)
        Batch sizes timed (``latency_ms`` keys ``batch1``, ``batch64``).
    seed : int, default=0
        Seeds the image sample, the random baseline and fine-tuning.
    device : str, default="cpu"
        Scoring and fine-tuning device ("cpu", "cuda", "auto"); latency is always CPU.
    betti : BettiConfig
        How the Betti score is computed (metric, scale, number, where, processes).
    hrank_where : {"conv", "activation"}, default="activation"
        Where HRank reads the maps (its paper: after the activation).
    """

    threshold: float | None = None
    ratio: float | None = None
    scope: str = "layer"
    min_keep: int = 1
    samples: int = 500
    baselines: tuple[str, ...] = BASELINES
    finetune_epochs: int = 0
    finetune_lr: float = 0.001
    finetune_batch_size: int = 64
    latency_repeats: int = 20
    latency_batches: tuple[int, ...] = (1, 64)
    seed: int = 0
    device: str = "cpu"
    betti: BettiConfig = field(default_factory=BettiConfig)
    hrank_where: str = "activation"

    def __post_init__(self) -> None:
        caller = "PruneConfig"
        if self.threshold is not None and self.ratio is not None:
            raise ValueError(
                "PruneConfig: give one rule, threshold (e.g. 300, the paper's) or ratio "
                "(e.g. 0.3), not both."
            )
        if self.threshold is None and self.ratio is None:
            self.threshold = 300.0
        if self.threshold is not None:
            check_param("threshold", self.threshold, Interval(float, 0.0, None), caller=caller)
        if self.ratio is not None:
            check_param("ratio", self.ratio, Interval(float, 0.0, 1.0, "left"), caller=caller)
        check_param("scope", self.scope, Options(("layer", "global")), caller=caller)
        check_param("min_keep", self.min_keep, Interval(int, 1, None), caller=caller)
        check_param("samples", self.samples, Interval(int, 2, None), caller=caller)
        check_param("finetune_epochs", self.finetune_epochs, Interval(int, 0, None), caller=caller)
        check_param(
            "finetune_lr", self.finetune_lr, Interval(float, 0, None, "neither"), caller=caller
        )
        check_param(
            "finetune_batch_size", self.finetune_batch_size, Interval(int, 1, None), caller=caller
        )
        check_param("latency_repeats", self.latency_repeats, Interval(int, 1, None), caller=caller)
        check_param("hrank_where", self.hrank_where, Options(("conv", "activation")), caller=caller)
        self.baselines = tuple(self.baselines)
        unknown = [name for name in self.baselines if name not in BASELINES]
        if unknown:
            raise ValueError(
                f"PruneConfig: unknown baseline(s) {unknown}; choose from {list(BASELINES)} "
                "(or 'all')."
            )
        self.latency_batches = tuple(int(b) for b in self.latency_batches)
        if not self.latency_batches or min(self.latency_batches) < 1:
            raise ValueError("PruneConfig: latency_batches must list batch sizes >= 1.")
        if isinstance(self.betti, dict):
            self.betti = BettiConfig(**self.betti)
        from bettiscope.training import resolve_device

        resolve_device(self.device)  # fail now, not after scoring, if CUDA is asked for but absent

    @property
    def rule(self) -> str:
        if self.threshold is not None:
            return f"betti > {self.threshold:g}"
        return f"top {self.ratio:g} by betti ({self.scope})"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["betti"] = self.betti.to_dict()
        return data


# --------------------------------------------------------------------------------------------
# measuring one model
# --------------------------------------------------------------------------------------------


def steady_allocator() -> bool:
    """Fix glibc's malloc thresholds so CPU timings do not depend on allocation history.

    glibc moves its mmap threshold as blocks are freed; a forward pass whose ~0.5 MB
    activations land just above it page-faults on every call. Measured on the digits CNN at
    batch 64: the same model took 2.4 or 6.4 ms depending on what ran before. Pinning the
    thresholds (64 MiB mmap, 256 MiB trim) removes that. Process-wide; a no-op (False) off
    glibc.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold = -1, -3  # from <malloc.h>
        return bool(libc.mallopt(m_mmap_threshold, 64 * 1024**2)) and bool(
            libc.mallopt(m_trim_threshold, 256 * 1024**2)
        )
    except (OSError, AttributeError):
        return False


def measure_latencies(
    paths: Mapping[str, Path],
    image_shape: tuple[int, ...],
    batches: tuple[int, ...],
    repeats: int,
) -> dict[str, dict[str, float]]:
    """Median CPU forward time (ms) per saved model and batch size, measured interleaved.

    Every model is reloaded from its file (the portable artefact users get), warmed up with 3
    passes per batch size, then timed ``repeats`` rounds, each round visiting every model in
    turn, so a burst of load on a shared machine hits all models alike. The allocator is
    pinned first (:func:`steady_allocator`).
    """
    from bettiscope.models.cnn import load_model

    steady_allocator()
    models = {key: load_model(path)[0].eval() for key, path in paths.items()}
    generator = torch.Generator().manual_seed(0)
    inputs = {b: torch.randn(b, *image_shape, generator=generator) for b in batches}
    times: dict[str, dict[int, list[float]]] = {key: {b: [] for b in batches} for key in models}
    with torch.no_grad():
        for net in models.values():
            for b in batches:
                for _ in range(3):
                    net(inputs[b])
        for _ in range(repeats):
            for key, net in models.items():
                for b in batches:
                    started = time.perf_counter()
                    net(inputs[b])
                    times[key][b].append(1000.0 * (time.perf_counter() - started))
    return {
        key: {f"batch{b}": statistics.median(values) for b, values in per_batch.items()}
        for key, per_batch in times.items()
    }


def _accuracy(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], device: str) -> float:
    from bettiscope.training import evaluate, resolve_device

    target = resolve_device(device)
    try:
        _, accuracy = evaluate(model.to(target), data, device=target, batch_size=1024)
    finally:
        model.to("cpu")
    return float(accuracy)


def _save_and_check(model: CNN, path: Path, test_x: torch.Tensor, extra: dict) -> int:
    """Save portably, reload, and prove the outputs are identical; return the file size."""
    from bettiscope.models.cnn import load_model, save_model

    model = model.to("cpu").eval()
    save_model(model, model.config, path, extra=extra)
    reloaded, _ = load_model(path)
    with torch.no_grad():
        if not torch.equal(reloaded(test_x), model(test_x)):
            raise RuntimeError(f"{path}: the reloaded model's outputs differ from the saved one's.")
    return path.stat().st_size


def measure(
    model: CNN, data: Any, cfg: PruneConfig, path: Path, extra: dict[str, Any]
) -> dict[str, Any]:
    """Accuracy, parameters, MACs and saved bytes (after a reload check); latency comes later."""
    accuracy = _accuracy(model, data.test, cfg.device)
    model = model.to("cpu").eval()
    file_bytes = _save_and_check(model, path, data.test[0][:8], extra)
    return {
        "accuracy": accuracy,
        "params": count_params(model),
        "macs": count_macs(model, data.test[0][:1]),
        "file_bytes": file_bytes,
        "channels": [conv.out_channels for _, conv in conv_layers(model)],
        "checkpoint": str(path),
        "reload_identical": True,
    }


def _finetune(model: nn.Module, data: Any, cfg: PruneConfig) -> dict[str, Any]:
    from bettiscope.training import TrainConfig, train

    train_cfg = TrainConfig(
        epochs=cfg.finetune_epochs,
        lr=cfg.finetune_lr,
        batch_size=cfg.finetune_batch_size,
        optimizer="adam",
        seed=cfg.seed,
        device=cfg.device,
        target_train_acc=None,  # the budget is E epochs for every method, no early stop
        train_eval="running",
    )
    started = time.perf_counter()
    history = train(model, data.train, train_cfg)
    return {
        "epochs": cfg.finetune_epochs,
        "seconds": time.perf_counter() - started,
        "final_loss": history.records[-1].loss if history.records else None,
    }


# --------------------------------------------------------------------------------------------
# scores and plans
# --------------------------------------------------------------------------------------------


def sample_images(data: Any, samples: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """A seeded sample of training images (all of them if fewer) and their indices."""
    X = data.train[0]
    if len(X) < 2:
        raise ValueError("run_pruning: the training split has fewer than 2 images to score.")
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(X), size=min(samples, len(X)), replace=False))
    return X[torch.as_tensor(index)], index


def _scorers(cfg: PruneConfig) -> dict[str, Any]:
    needed = {"betti"}
    for name in cfg.baselines:
        needed.add({"betti-lowest": "betti"}.get(name, name.split("-")[0]))
    scorers = {
        "betti": BettiScorer(cfg.betti),
        "random": RandomScorer(seed=cfg.seed),
        "l1": L1Scorer(),
        "hrank": HRankScorer(where=cfg.hrank_where),
    }
    return {name: scorer for name, scorer in scorers.items() if name in needed}


def make_plans(
    scores: Mapping[str, FilterScores], cfg: PruneConfig
) -> dict[str, dict[str, np.ndarray]]:
    """The Betti rule's plan and every baseline's plan sized from it."""
    betti = scores["betti"]
    if cfg.threshold is not None:
        betti_plan = select_threshold(betti, cfg.threshold, min_keep=cfg.min_keep)
    else:
        assert cfg.ratio is not None  # PruneConfig keeps exactly one rule
        betti_plan = select_ratio(betti, cfg.ratio, scope=cfg.scope, min_keep=cfg.min_keep)
    matched = counts(betti_plan)
    widths = {layer: len(values) for layer, values in betti.scores.items()}
    total = sum(matched.values())
    plans = {"betti": betti_plan}
    for name in cfg.baselines:
        if name == "random":
            plans[name] = select_count(scores["random"], matched, min_keep=cfg.min_keep)
        elif name == "betti-lowest":
            plans[name] = select_count(betti, matched, direction="low", min_keep=cfg.min_keep)
        elif name.endswith("-matched"):
            source = scores[name.split("-")[0]]
            plans[name] = select_count(source, matched, direction="low", min_keep=cfg.min_keep)
        else:  # l1, hrank: their own ranking, the Betti rule's total spread uniformly
            source = scores[name]
            if cfg.ratio is not None:
                plans[name] = select_ratio(
                    source, cfg.ratio, direction="low", scope=cfg.scope, min_keep=cfg.min_keep
                )
            else:
                uniform = uniform_counts(widths, total, min_keep=cfg.min_keep)
                plans[name] = select_count(source, uniform, direction="low", min_keep=cfg.min_keep)
    return plans


# --------------------------------------------------------------------------------------------
# the whole comparison
# --------------------------------------------------------------------------------------------


def _state(folder: Path, key: str, compute: Callable[[], Any], config: dict[str, Any]) -> Any:
    """Resume point: the JSON at ``folder/key.json`` if written with this config, else compute."""
    path = folder / f"{key}.json"
    if path.exists():
        saved = read_json(path)
        if saved.get("config") == config:
            return saved["result"]
    result = compute()
    atomic_write_json(path, {"config": config, "result": result})
    return result


def _score(scorer: Any, model: nn.Module, images: torch.Tensor, device: str) -> dict[str, Any]:
    """One scorer's result as a dict (the model is moved to ``device`` and back)."""
    from bettiscope.training import resolve_device

    if not scorer.needs_data:
        return scorer.score(model).to_dict()
    target = resolve_device(device)
    try:
        return scorer.score(model.to(target), images.to(target)).to_dict()
    finally:
        model.to("cpu")


def _measure_original(
    model: CNN,
    data: Any,
    cfg: PruneConfig,
    path: Path,
    extra: dict[str, Any],
    finetune: bool = False,
) -> dict[str, Any]:
    info = None
    if finetune:
        model = copy.deepcopy(model)
        info = _finetune(model, data, cfg)
    entry = {
        **measure(model, data, cfg, path, extra),
        "name": "original",
        "finetuned": finetune,
        "scoring_seconds": 0.0,
    }
    if info:
        entry["finetune"] = info
    return entry


def _measure_pruned(
    pruned: CNN,
    data: Any,
    cfg: PruneConfig,
    folder: Path,
    name: str,
    base: dict[str, Any],
    history: list[dict[str, Any]],
    extra: dict[str, Any],
    finetune: bool,
) -> dict[str, Any]:
    info = None
    if finetune:
        pruned = copy.deepcopy(pruned)
        info = _finetune(pruned, data, cfg)
    tag = f"{name}-finetuned" if finetune else name
    entry = {
        **base,
        "finetuned": finetune,
        **measure(pruned, data, cfg, folder / f"{tag}.pt", {**extra, "finetuned": finetune}),
        "history": history,
    }
    if info:
        entry["finetune"] = info
    return entry


def _check_model_and_data(model: CNN, data: Any) -> None:
    """Refuse what would make every score and accuracy meaningless, before any work."""
    broken = [
        name
        for name, tensor in model.state_dict().items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]
    if broken:
        raise ValueError(
            f"run_pruning: the model's weights hold NaN or infinity ({', '.join(broken[:3])}); "
            "the model diverged or was damaged. Use an earlier checkpoint or train again."
        )
    cfg = model.config
    wanted = (cfg.in_channels, cfg.input_size, cfg.input_size)
    for split in ("train", "test"):
        shape = tuple(getattr(data, split)[0].shape[1:])
        if shape != wanted:
            raise ValueError(
                f"run_pruning: the {split} images are {shape} (channels, height, width) but the "
                f"model was built for {wanted}; prune it on the data it was trained on."
            )


def run_pruning(
    model: CNN,
    data: Any,
    cfg: PruneConfig,
    out_dir: str | Path,
    *,
    checkpoint: str | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Prune ``model`` with the Betti rule and the baselines; measure, save and report all.

    Parameters
    ----------
    model : CNN
        A bettiscope CNN (``bettiscope.models.cnn``), e.g. from ``load_model``; not modified.
    data : ImageDataset
        The task the model was trained on (``train`` for scoring and fine-tuning, ``test`` for
        accuracy), from ``bettiscope.datasets.images.load_image_dataset``.
    cfg : PruneConfig
    out_dir : path-like
        Output folder: ``pruning.json``, ``summary.md``, ``figures/``, ``scores/``,
        ``checkpoints/``, ``state/`` (resume).
    checkpoint : str, optional
        Path of the model's file, recorded in the results.
    progress : callable, optional
        ``progress(stage, done, total)`` per step.
    dry_run : bool, default=False
        Score and plan only: return ``{"plans": {method: {layer: n}}, "groups": [...]}`` (the
        Torch-Pruning groups the Betti plan would cut) and write only ``scores/`` and
        ``figures/score_distributions.png``.

    Returns
    -------
    dict
        The ``pruning.json`` payload: ``original`` and ``methods`` (see the module docstring)
        plus config, seeds, sample, environment and ``leftover_files`` (files under
        ``scores/`` and ``checkpoints/`` that an earlier run in ``out_dir`` wrote for methods
        this run did not run; kept, not read).

    Notes
    -----
    Resume keys are layered: scores depend on the model, data, sample and scorer settings;
    pruned models also on the rule; fine-tuned ones also on the fine-tuning budget. Changing
    only ``finetune_epochs`` re-uses the scores and the un-tuned measurements.
    """
    from bettiscope.pruning.report import plot_accuracy_vs_params, plot_scores, summary_markdown

    if not hasattr(model, "config") or not hasattr(model, "conv_layers"):
        raise ValueError(
            "run_pruning: the model must be a bettiscope CNN (bettiscope.models.cnn), so the "
            "pruned model can be saved portably; load it with load_model."
        )
    _check_model_and_data(model, data)
    report = progress or (lambda stage, done, total: None)
    out = check_out_folder(out_dir, "pruning run")
    state = out / "state"
    torch.manual_seed(cfg.seed)
    model = copy.deepcopy(model).to("cpu").eval()
    images, sample_index = sample_images(data, cfg.samples, cfg.seed)
    full = cfg.to_dict()
    # through JSON once, so the resume check compares like with like (tuples become lists)
    config = json.loads(
        json.dumps(
            to_jsonable(
                {
                    "prune": full,
                    "checkpoint": checkpoint,
                    "dataset": data.to_dict() if hasattr(data, "to_dict") else None,
                    "model": model.config.to_dict(),
                }
            )
        )
    )
    base_key = {k: config[k] for k in ("checkpoint", "dataset", "model")}
    score_key = {
        **base_key,
        **{k: config["prune"][k] for k in ("betti", "samples", "seed", "hrank_where", "device")},
    }
    rule_key = {
        **score_key,
        **{k: config["prune"][k] for k in ("threshold", "ratio", "scope", "min_keep")},
    }
    tune_key = {
        **rule_key,
        **{
            k: config["prune"][k] for k in ("finetune_epochs", "finetune_lr", "finetune_batch_size")
        },
    }
    extra_base = {
        "class_names": list(getattr(data, "class_names", [])),
        "normalisation": {"mean": getattr(data, "mean", None), "std": getattr(data, "std", None)},
        "source_checkpoint": checkpoint,
    }
    steps_total = 3 + (1 + len(cfg.baselines)) * (2 if cfg.finetune_epochs else 1) + 1
    done = 0

    # 1. scores ------------------------------------------------------------------------------
    scores: dict[str, FilterScores] = {}
    written: set[Path] = set()  # this run's files under scores/ and checkpoints/
    for name, scorer in _scorers(cfg).items():
        report(f"scoring: {name}", done, steps_total)
        result = _state(
            state, f"scores-{name}", partial(_score, scorer, model, images, cfg.device), score_key
        )
        scores[name] = FilterScores.from_dict(result)
        written.update(scores[name].save(out / "scores"))
    done += 1
    plans = make_plans(scores, cfg)
    if dry_run:
        from bettiscope.pruning.removal import describe_plan

        plot_scores(
            scores["betti"], plans["betti"], out / "figures" / "score_distributions.png", cfg
        )
        report("done", steps_total, steps_total)
        return {
            "rule": cfg.rule,
            "plans": {name: counts(plan) for name, plan in plans.items()},
            "widths": {layer: len(v) for layer, v in scores["betti"].scores.items()},
            "groups": describe_plan(model, plans["betti"], data.test[0][:2]),
            "scores_folder": str(out / "scores"),
        }

    # 2. the original and every plan, pruned (and fine-tuned), measured, saved ---------------
    checkpoints = out / "checkpoints"
    original = _state(
        state,
        "original",
        partial(_measure_original, model, data, cfg, checkpoints / "original.pt", extra_base),
        {**base_key, "device": cfg.device},
    )
    original["filters_removed"] = {layer: 0 for layer in scores["betti"].scores}
    done += 1
    entries: dict[str, dict[str, Any]] = {}
    for name in ("betti", *cfg.baselines):
        report(f"pruning: {name}", done, steps_total)
        source = {"betti-lowest": "betti"}.get(name, name.split("-")[0])
        base = {
            "name": name,
            "filters_removed": counts(plans[name]),
            "removed_indices": {layer: idx.tolist() for layer, idx in plans[name].items()},
            "scoring_seconds": scores[source].seconds,
            "scorer": source,
        }
        pruned = copy.deepcopy(model)
        history = [step.to_dict() for step in prune_filters(pruned, plans[name], data.test[0][:2])]
        extra = {**extra_base, "pruning": {"method": name, "rule": cfg.rule, **base}}
        job = partial(_measure_pruned, pruned, data, cfg, checkpoints, name, base, history, extra)
        entries[name] = _state(state, name, partial(job, False), rule_key)
        done += 1
        if cfg.finetune_epochs:
            report(f"fine-tuning: {name}", done, steps_total)
            entries[f"{name}-finetuned"] = _state(
                state, f"{name}-finetuned", partial(job, True), tune_key
            )
            done += 1
    original_finetuned = None
    if cfg.finetune_epochs:
        # the unpruned model with the same budget: separates pruning from extra training
        report("fine-tuning: original", done, steps_total)
        original_finetuned = _state(
            state,
            "original-finetuned",
            partial(
                _measure_original,
                model,
                data,
                cfg,
                checkpoints / "original-finetuned.pt",
                extra_base,
                finetune=True,
            ),
            {**tune_key, "finetuned_original": True},
        )

    # 3. latency, all saved models interleaved ---------------------------------------------------
    report("latency", done, steps_total)
    every = {"original": original, **entries}
    if original_finetuned:
        every["original-finetuned"] = original_finetuned
    paths = {key: Path(entry["checkpoint"]) for key, entry in every.items()}
    latency = _state(
        state,
        "latency",
        partial(
            measure_latencies,
            paths,
            tuple(data.test[0].shape[1:]),
            cfg.latency_batches,
            cfg.latency_repeats,
        ),
        {
            **tune_key,
            "latency": [cfg.latency_repeats, list(cfg.latency_batches)],
            "models": sorted(paths),
            # a re-measured or re-tuned model has a new file: its size/mtime invalidate this
            "files": {key: [p.stat().st_size, p.stat().st_mtime_ns] for key, p in paths.items()},
        },
    )
    for key, entry in every.items():
        entry["latency_ms"] = latency[key]
    methods = list(entries.values())
    done += 1
    written.update(path.resolve() for path in paths.values())
    # files an earlier run in this folder wrote for methods this one did not run: kept (they are
    # someone's results), but named, so they are not read as this run's
    leftovers = sorted(
        str(path.relative_to(out))
        for folder, pattern in ((out / "scores", "*"), (checkpoints, "*.pt"))
        for path in folder.glob(pattern)
        if path.resolve() not in {p.resolve() for p in written}
    )

    payload = {
        "original": original,
        "original_finetuned": original_finetuned,
        "methods": methods,
        "rule": cfg.rule,
        "config": config,
        "seeds": {"sample": cfg.seed, "random_baseline": cfg.seed, "finetune": cfg.seed},
        "sample": {"n_images": len(images), "train_indices": sample_index.tolist()},
        "scoring_seconds": {name: s.seconds for name, s in scores.items()},
        "torch_threads": torch.get_num_threads(),
        "notes": [
            "latency: CPU wall time of one forward pass, median of latency_repeats after 3 "
            "warm-ups; the machine may be shared, so compare methods within one run",
            "macs: conv and linear multiply-accumulates per image (bettiscope count_macs)",
            "accuracy: fraction of the test split correct",
        ],
        "environment": environment_info(),
        "leftover_files": leftovers,
    }
    report("report", done, steps_total)
    figures = out / "figures"
    plot_scores(scores["betti"], plans["betti"], figures / "score_distributions.png", cfg)
    plot_accuracy_vs_params(payload, figures / "accuracy_vs_params.png")
    payload["figures"] = {
        "score_distributions": "figures/score_distributions.png",
        "accuracy_vs_params": "figures/accuracy_vs_params.png",
    }
    atomic_write_json(out / "pruning.json", payload)
    atomic_write_text(out / "summary.md", summary_markdown(payload))
    report("done", steps_total, steps_total)
    return payload


def load_task(
    checkpoint: str | Path,
    dataset: str,
    *,
    data_dir: str | Path | None = None,
    device: str = "cpu",
) -> tuple[CNN, Any, dict[str, Any]]:
    """A saved CNN and the data split it was trained on.

    The loader arguments (classes, limit, seed, fractions, image size) come from the
    checkpoint's ``extra["dataset"]["params"]`` when ``bettiscope train`` recorded them, so the
    test split is the one the model never saw.

    Returns
    -------
    model, data, info
        ``info`` says where the data arguments came from (``"checkpoint"`` or ``"defaults"``).

    Raises
    ------
    ValueError
        The checkpoint records another data set, or the data do not fit the model.
    """
    from bettiscope.datasets.images import load_image_dataset
    from bettiscope.models.cnn import load_model

    model, model_cfg = load_model(checkpoint, device="cpu")
    recorded = ((getattr(model, "extra", None) or {}).get("dataset") or {}).get("params") or {}
    kwargs: dict[str, Any] = {}
    source = "defaults"
    if recorded:
        if str(recorded.get("name")) != str(dataset):
            raise ValueError(
                f"{checkpoint}: the model was trained on {recorded.get('name')!r}, not "
                f"{dataset!r}; pass --dataset {recorded.get('name')}."
            )
        classes = recorded.get("class_indices") or recorded.get("classes")
        kwargs = {
            "classes": classes,
            "limit": recorded.get("limit"),
            "seed": recorded.get("seed", 0),
            "val_fraction": recorded.get("val_fraction", 0.1),
            "image_size": recorded.get("image_size"),
        }
        if recorded.get("test_fraction") is not None:
            kwargs["test_fraction"] = recorded["test_fraction"]
        source = "checkpoint"
    data = load_image_dataset(dataset, data_dir=data_dir, **kwargs)
    shape = tuple(data.test[0].shape[1:])
    if shape[0] != model_cfg.in_channels or data.num_classes != model_cfg.num_classes:
        raise ValueError(
            f"{checkpoint}: the model expects {model_cfg.in_channels} channel(s) and "
            f"{model_cfg.num_classes} classes; {dataset} gives {shape[0]} and "
            f"{data.num_classes}. Use the data set (and --classes) the model was trained on."
        )
    return model, data, {"data_args": kwargs, "data_args_from": source}


def config_from_dict(values: dict[str, Any]) -> PruneConfig:
    """Rebuild a :class:`PruneConfig` from :meth:`PruneConfig.to_dict` (unknown keys: error)."""
    known = {f.name for f in dataclasses.fields(PruneConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"PruneConfig: unknown field(s) {unknown}; known: {sorted(known)}.")
    return PruneConfig(**values)

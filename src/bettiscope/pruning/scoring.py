"""How much each convolutional filter matters: one score per filter, four criteria.

A scorer looks at a model's conv layers (and, if it needs data, a sample of images) and returns
:class:`FilterScores`: one float per filter per layer, plus the direction in which its criterion
prunes (``"high"``: remove high scores first; ``"low"``: remove low scores first).

===========  ===========================================================  =========  =========
name         score of filter f                                             prunes     data
===========  ===========================================================  =========  =========
``betti``    Betti number of the point cloud of f's output maps (below)    high       images
``l1``       sum of |weights| of f (Li et al. 2017)                        low        none
``hrank``    mean rank of f's output map over the images (Lin et al. 2020) low        images
``random``   uniform random numbers (seeded)                               high       none
===========  ===========================================================  =========  =========

The Betti score (the paper's criterion; its exact settings are not public)
---------------------------------------------------------------------------
Filter f's point cloud is ``{map_f(x_i)}``: its output map on each of N images, flattened to a
point of ``R^(H*W)``. Its Betti numbers are those of the Vietoris-Rips (flag) complex at one
scale, computed by the topology engine. Defaults (:class:`BettiConfig`; measured distributions
and the reasoning: docs/pruning.md):

* ``metric="euclidean"``, ``scale=0.4`` **relative** to the cloud's RMS pairwise distance.
  A relative scale makes the score blind to per-filter scaling and shifting, so batch norm (an
  affine map per channel) does not change it and it is no norm criterion in disguise.
* ``number="b0"``: the score is beta_0, the number of connected components -- groups of maps
  closer than 0.4 RMS distances. A count of hundreds at N ~ 500-1000 means that most maps are
  far from all others at that scale (scattered, high-dimensional responses). beta_1 stays
  small at this scale; ``"b1"`` and ``"sum"`` (beta_0 + beta_1) are options.
* ``where="conv"``: the conv layer's own output (pre-batch-norm, pre-activation).
* Calibration: on the default CNN trained on digits, 0.4 makes the paper's threshold of 300
  split the filters of the layers with 8x8 maps (about 40-80% above it for N = 500-1000) and
  leave the layers with 4x4 maps alone (all below ~160). The counts grow with N and with the
  map size, so a threshold only means something for the N and the architecture it was chosen
  for: look at the score distribution (``scores/*.png``) or use a ratio on other data.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from bettiscope._validation import Interval, Options, check_param, input_mismatch
from bettiscope.storage import atomic_write_json, atomic_write_text, environment_info, read_json
from bettiscope.topology import KNN_HOP_SCALE, KNN_HOP_SCALE_HINT

__all__ = [
    "SCORERS",
    "WHERE",
    "BettiConfig",
    "BettiScorer",
    "FilterScorer",
    "FilterScores",
    "HRankScorer",
    "L1Scorer",
    "RandomScorer",
    "capture_maps",
    "conv_layers",
    "get_scorer",
]

Progress = Callable[[str, int, int], None]
Layers = Sequence[tuple[str, nn.Conv2d]]

#: Where a filter's output maps are read: the conv output itself, or the output of the first
#: activation applied after it (skipping batch norm; for a ResNet's second conv, the block's
#: activation after the residual addition).
WHERE = ("conv", "activation")
#: Which Betti number is the score.
NUMBERS = ("b0", "b1", "sum")
DIRECTIONS = ("high", "low")

#: Module types skipped when looking for "the activation after a conv".
_NOT_ACTIVATIONS = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.Linear,
    nn.Identity,
    nn.Dropout,
    nn.Dropout2d,
    nn.modules.batchnorm._BatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.modules.instancenorm._InstanceNorm,
)


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------


@dataclass
class FilterScores:
    """One score per filter per conv layer, and how it was obtained.

    Attributes
    ----------
    method : str
        Scorer name ("betti", "l1", "hrank", "random").
    scores : dict of str to ndarray of shape (n_filters,)
        Per layer (qualified module name), in forward order.
    direction : {"high", "low"}
        The end of the score range the criterion prunes first.
    params : dict
        The scorer's settings.
    seconds : float
        Wall-clock time of the scoring, forward pass included.
    details : dict of str to list of dict
        Optional per-filter extras (Betti numbers, points, scale used).
    """

    method: str
    scores: dict[str, np.ndarray]
    direction: str
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    details: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def layers(self) -> list[str]:
        return list(self.scores)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (scores as lists)."""
        return {
            "method": self.method,
            "direction": self.direction,
            "params": self.params,
            "seconds": self.seconds,
            "scores": {layer: values.tolist() for layer, values in self.scores.items()},
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FilterScores:
        return cls(
            method=data["method"],
            direction=data["direction"],
            params=dict(data.get("params", {})),
            seconds=float(data.get("seconds", 0.0)),
            scores={k: np.asarray(v, dtype=np.float64) for k, v in data["scores"].items()},
            details={k: list(v) for k, v in data.get("details", {}).items()},
        )

    def to_csv(self) -> str:
        """One row per filter: method, layer, filter, score and the per-filter details."""
        extra_keys: list[str] = []
        for rows in self.details.values():
            for row in rows:
                extra_keys += [key for key in row if key not in extra_keys]
        lines = [",".join(["method", "layer", "filter", "score", *extra_keys])]
        for layer, values in self.scores.items():
            rows = self.details.get(layer, [])
            for index, value in enumerate(values):
                row = rows[index] if index < len(rows) else {}
                cells = [self.method, layer, str(index), repr(float(value))]
                cells += [_csv_cell(row.get(key, "")) for key in extra_keys]
                lines.append(",".join(cells))
        return "\n".join(lines) + "\n"

    def save(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``<folder>/<method>.json`` and ``.csv`` atomically; return both paths."""
        folder = Path(folder)
        payload = {**self.to_dict(), "environment": environment_info()}
        json_path = atomic_write_json(folder / f"{self.method}.json", payload)
        csv_path = atomic_write_text(folder / f"{self.method}.csv", self.to_csv())
        return json_path, csv_path

    @classmethod
    def load(cls, path: str | Path) -> FilterScores:
        return cls.from_dict(read_json(path))


def _csv_cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------------------------
# layers and feature maps
# --------------------------------------------------------------------------------------------


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """The model's prunable conv layers, in forward order.

    Uses ``model.conv_layers()`` when the model has it (bettiscope CNNs: the 3x3 convs, not the
    ResNet 1x1 shortcuts coupled to them), else every ``nn.Conv2d`` in ``named_modules()``.
    """
    own_layers = getattr(model, "conv_layers", None)
    if callable(own_layers):
        return list(own_layers())
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def _check_layers(
    model: nn.Module, layers: Layers | Sequence[str] | str | None, caller: str
) -> list[tuple[str, Any]]:
    """``(name, conv)`` pairs: the given pairs, the modules of the given names, or every conv."""
    if isinstance(layers, str):
        layers = [layers]
    modules = dict(model.named_modules())
    chosen: list[tuple[str, Any]] = []
    for entry in conv_layers(model) if layers is None else list(layers):
        if isinstance(entry, str):  # a name, as in capture() and conv_layers()' first items
            if entry not in modules:
                raise ValueError(
                    f"{caller}: the model has no module {entry!r}; its convs are "
                    f"{', '.join(name for name, _ in conv_layers(model)) or 'none'}."
                )
            entry = (entry, modules[entry])
        if not (isinstance(entry, tuple | list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise TypeError(
                f"{caller}: layers must be module names or (name, nn.Conv2d) pairs; got {entry!r}."
            )
        chosen.append((entry[0], entry[1]))
    if not chosen:
        raise ValueError(f"{caller}: the model has no Conv2d layers to score.")
    for name, module in chosen:
        if not isinstance(module, nn.Conv2d):
            raise ValueError(
                f"{caller}: layer {name!r} is a {type(module).__name__}, not an nn.Conv2d."
            )
    return chosen


def _check_images(images: Any, caller: str) -> torch.Tensor:
    if images is None:
        raise ValueError(f"{caller}: this scorer needs images (a tensor N x C x H x W).")
    if not isinstance(images, torch.Tensor):
        raise ValueError(
            f"{caller}: images must be a torch tensor (N, C, H, W); got {type(images).__name__} "
            "(convert with torch.as_tensor(images, dtype=torch.float32))."
        )
    if images.ndim != 4:
        raise ValueError(
            f"{caller}: images must be a float tensor of shape (N, C, H, W); got "
            f"{tuple(images.shape)}."
        )
    if len(images) < 2:
        raise ValueError(f"{caller}: need at least 2 images to score filters; got {len(images)}.")
    if not images.is_floating_point():
        raise ValueError(
            f"{caller}: images must be a float tensor, normalised as for training; got "
            f"{images.dtype}."
        )
    if not bool(torch.isfinite(images).all()):
        raise ValueError(f"{caller}: images contain NaN or infinity.")
    return images


def _activation_after(
    model: nn.Module, layers: list[tuple[str, nn.Conv2d]], example: torch.Tensor
) -> dict[str, nn.Module]:
    """For each conv, the first activation module run after it (skipping norms and convs)."""
    order: list[tuple[nn.Module, torch.Size | None]] = []
    handles = [
        module.register_forward_hook(
            lambda mod, _inputs, output: order.append((mod, getattr(output, "shape", None)))
        )
        for module in model.modules()
        if not list(module.children())
    ]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    found: dict[str, nn.Module] = {}
    for name, conv in layers:
        positions = [i for i, (module, _) in enumerate(order) if module is conv]
        if not positions:
            raise ValueError(f"capture_maps: conv layer {name!r} is not used in forward().")
        conv_shape = order[positions[0]][1]
        for module, shape in order[positions[0] + 1 :]:
            if isinstance(module, _NOT_ACTIVATIONS):
                continue
            if shape is not None and shape == conv_shape:  # torch.Size compares as a tuple
                found[name] = module
            break
        if name not in found:
            raise ValueError(
                f"capture_maps: no activation of the same shape directly follows conv {name!r} "
                "(a pooling or other layer comes first); use where='conv'."
            )
    return found


def capture_maps(
    model: nn.Module,
    images: torch.Tensor,
    layers: Layers | None = None,
    *,
    where: str = "conv",
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> dict[str, torch.Tensor]:
    """Every filter's output maps for every image, all layers from one forward pass per batch.

    Parameters
    ----------
    model : nn.Module
        Evaluated in eval mode without gradients; its mode is restored afterwards.
    images : Tensor of shape (N, C, H, W)
    layers : sequence of (name, nn.Conv2d) or of names, or one name, optional
        Default: :func:`conv_layers`.
    where : {"conv", "activation"}, default="conv"
        Read the conv's own output, or the first activation applied after it (see :data:`WHERE`).
    batch_size : int, default=256
        Images per forward pass (memory only; results do not depend on it).
    device : str or torch.device, optional
        Where to run; default the model's device. Maps are returned on the CPU.

    Returns
    -------
    dict of str to Tensor of shape (N, n_filters, H_out, W_out)
        float32, on the CPU, in layer order.
    """
    caller = "capture_maps"
    check_param("where", where, Options(WHERE), caller=caller)
    check_param("batch_size", batch_size, Interval(int, 1, None), caller=caller)
    chosen = _check_layers(model, layers, caller)
    images = _check_images(images, caller)
    if device is None:
        device = next(model.parameters()).device
    # the model's own dtype (float64 images into a float32 net fail inside the first conv)
    images = images.to(next(model.parameters()).dtype)
    was_training = model.training
    model.eval()
    try:  # two images first: a shape mismatch as one clear line, not from deep inside a conv
        with torch.no_grad():
            model(images[:2].to(device))
    except RuntimeError as error:
        model.train(was_training)
        raise input_mismatch(caller, "these images", tuple(images.shape[1:]), error) from None
    targets = dict(chosen)
    if where == "activation":
        targets = _activation_after(model, chosen, images[:2].to(device))
    collected: dict[str, list[torch.Tensor]] = {name: [] for name, _ in chosen}
    handles = [
        module.register_forward_hook(
            # a copy: an in-place activation after the conv would otherwise overwrite the maps
            lambda _mod, _inputs, output, name=name: collected[name].append(
                output.detach().to("cpu", torch.float32, copy=True)
            )
        )
        for name, module in targets.items()
    ]
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                model(images[start : start + batch_size].to(device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return {name: torch.cat(parts) for name, parts in collected.items()}


# --------------------------------------------------------------------------------------------
# scorers
# --------------------------------------------------------------------------------------------


@runtime_checkable
class FilterScorer(Protocol):
    """One score per filter. ``direction`` says which end the criterion prunes first."""

    name: str
    direction: str
    needs_data: bool

    def score(
        self,
        model: nn.Module,
        images: torch.Tensor | None = None,
        layers: Layers | None = None,
        *,
        progress: Progress | None = None,
    ) -> FilterScores: ...


class L1Scorer:
    """Sum of absolute weights of each filter (Li et al. 2017); the smallest are pruned."""

    name = "l1"
    direction = "low"
    needs_data = False

    def score(
        self,
        model: nn.Module,
        images: torch.Tensor | None = None,
        layers: Layers | None = None,
        *,
        progress: Progress | None = None,
    ) -> FilterScores:
        started = time.perf_counter()
        chosen = _check_layers(model, layers, "L1Scorer")
        scores = {
            name: conv.weight.detach().abs().sum(dim=(1, 2, 3)).cpu().double().numpy()
            for name, conv in chosen
        }
        return FilterScores(self.name, scores, self.direction, {}, time.perf_counter() - started)


class RandomScorer:
    """Seeded uniform random scores: the no-information baseline."""

    name = "random"
    direction = "high"
    needs_data = False

    def __init__(self, seed: int = 0) -> None:
        check_param(
            "seed",
            seed,
            Interval(int, 0, None, closed="left"),
            caller="RandomScorer",
            hint="Give a non-negative whole number (a NumPy seed).",
        )
        self.seed = seed

    def score(
        self,
        model: nn.Module,
        images: torch.Tensor | None = None,
        layers: Layers | None = None,
        *,
        progress: Progress | None = None,
    ) -> FilterScores:
        started = time.perf_counter()
        chosen = _check_layers(model, layers, "RandomScorer")
        rng = np.random.default_rng(self.seed)
        scores = {name: rng.random(conv.out_channels) for name, conv in chosen}
        return FilterScores(
            self.name, scores, self.direction, {"seed": self.seed}, time.perf_counter() - started
        )


class HRankScorer:
    """Mean rank of each filter's output map (an H x W matrix) over the images (HRank).

    Lin et al. (2020) prune the filters whose maps have the lowest average rank, read after
    the activation (``where="activation"``, as in their code); ranks use
    ``torch.linalg.matrix_rank`` on the float32 maps with its default tolerance.
    """

    name = "hrank"
    direction = "low"
    needs_data = True

    def __init__(self, *, where: str = "activation", batch_size: int = 256) -> None:
        check_param("where", where, Options(WHERE), caller="HRankScorer")
        self.where = where
        self.batch_size = batch_size

    def score(
        self,
        model: nn.Module,
        images: torch.Tensor | None = None,
        layers: Layers | None = None,
        *,
        progress: Progress | None = None,
    ) -> FilterScores:
        started = time.perf_counter()
        chosen = _check_layers(model, layers, "HRankScorer")
        images = _check_images(images, "HRankScorer")
        maps = capture_maps(model, images, chosen, where=self.where, batch_size=self.batch_size)
        scores = {}
        for done, (name, _) in enumerate(chosen):
            if progress is not None:
                progress(f"hrank {name}", done, len(chosen))
            # float32 as captured: float64's tolerance would count float32 rounding as rank
            ranks = torch.linalg.matrix_rank(maps[name])  # (N, n_filters)
            scores[name] = ranks.double().mean(dim=0).numpy()
        params = {"where": self.where, "n_images": len(images)}
        return FilterScores(
            self.name, scores, self.direction, params, time.perf_counter() - started
        )


@dataclass(frozen=True)
class BettiConfig:
    """Settings of the Betti-number score (defaults and reasons: module docstring).

    Attributes
    ----------
    metric : {"euclidean", "knn-hop"}, default="euclidean"
    scale : float, default=0.4
        Euclidean: the scale, in RMS pairwise distances of each filter's cloud when
        ``relative`` (else in the maps' units). knn-hop: hops (1.5 = 1 hop).
    relative : bool, default=True
        Euclidean only: scale relative to each cloud (invariant to batch norm).
    k : int or None, default=None
        knn-hop only (required there): neighbours counting the point itself.
    number : {"b0", "b1", "sum"}, default="b0"
        The score: beta_0, beta_1, or beta_0 + beta_1.
    where : {"conv", "activation"}, default="conv"
        Which output of the filter forms the point cloud (:data:`WHERE`).
    dedupe : bool, default=True
        Drop duplicate maps first (the engine's default).
    fast : bool, default=True
        Batched exact path (Euclidean); False calls the engine once per filter.
    n_jobs : int, default=1
        Worker processes; 1 scores in this process.
    chunk : int, default=16
        Filters per job.
    batch_size : int, default=256
        Images per forward pass.
    memory_limit : float or None, default=None
        GiB allowed per filter's complex.
    """

    metric: str = "euclidean"
    scale: float = 0.4
    relative: bool = True
    k: int | None = None
    number: str = "b0"
    where: str = "conv"
    dedupe: bool = True
    fast: bool = True
    n_jobs: int = 1
    chunk: int = 16
    batch_size: int = 256
    memory_limit: float | None = None

    def __post_init__(self) -> None:
        caller = "BettiConfig"
        check_param("metric", self.metric, Options(("euclidean", "knn-hop")), caller=caller)
        check_param("scale", self.scale, Interval(float, 0.0, None, "neither"), caller=caller)
        check_param("number", self.number, Options(NUMBERS), caller=caller)
        check_param("where", self.where, Options(WHERE), caller=caller)
        check_param("n_jobs", self.n_jobs, Interval(int, 1, None), caller=caller)
        check_param("chunk", self.chunk, Interval(int, 1, None), caller=caller)
        check_param("batch_size", self.batch_size, Interval(int, 1, None), caller=caller)
        if self.metric == "knn-hop":
            if self.k is None:
                raise ValueError(
                    "BettiConfig: metric='knn-hop' needs k (neighbours counting the point "
                    "itself), e.g. k=5 with scale=1.5 (one hop)."
                )
            check_param("k", self.k, Interval(int, 2, None), caller=caller)
            # the scale counts hops there (0.4, the euclidean default, would be read as 1 hop)
            check_param("scale", self.scale, KNN_HOP_SCALE, caller=caller, hint=KNN_HOP_SCALE_HINT)
        elif self.k is not None:
            raise ValueError("BettiConfig: k applies only to metric='knn-hop'; drop k.")

    @property
    def max_dim(self) -> int:
        return 0 if self.number == "b0" else 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BettiScorer:
    """Betti number of the point cloud of each filter's output maps (the paper's criterion).

    Parameters
    ----------
    config : BettiConfig, optional
        Default ``BettiConfig()``; keyword arguments override its fields.
    """

    name = "betti"
    direction = "high"
    needs_data = True

    def __init__(self, config: BettiConfig | None = None, **overrides: Any) -> None:
        base = config or BettiConfig()
        self.config = BettiConfig(**{**base.to_dict(), **overrides})

    def score(
        self,
        model: nn.Module,
        images: torch.Tensor | None = None,
        layers: Layers | None = None,
        *,
        progress: Progress | None = None,
    ) -> FilterScores:
        from bettiscope.pruning._kernel import betti_block_job

        cfg = self.config
        started = time.perf_counter()
        chosen = _check_layers(model, layers, "BettiScorer")
        images = _check_images(images, "BettiScorer")
        if cfg.k is not None and cfg.k >= len(images):
            # each filter's cloud has one point per image: too few for a kNN graph of k
            raise ValueError(
                f"BettiScorer: k={cfg.k} must be smaller than the number of images "
                f"({len(images)}); use more images (--samples) or a smaller k."
            )
        maps = capture_maps(model, images, chosen, where=cfg.where, batch_size=cfg.batch_size)
        options = {
            "metric": cfg.metric,
            "scale": cfg.scale,
            "relative": cfg.relative,
            "k": cfg.k,
            "max_dim": cfg.max_dim,
            "dedupe": cfg.dedupe,
            "fast": cfg.fast,
            "memory_limit": cfg.memory_limit,
        }
        jobs, owners = [], []
        for name, _ in chosen:
            n, c = maps[name].shape[:2]
            # (N, C, H, W) -> (C, N, H*W): one point cloud per filter, contiguous
            clouds = maps[name].reshape(n, c, -1).transpose(0, 1).contiguous().numpy()
            for start in range(0, c, cfg.chunk):
                jobs.append({"maps": clouds[start : start + cfg.chunk], "options": options})
                owners.append(name)
        results = _run_jobs(betti_block_job, jobs, cfg.n_jobs, progress)
        details: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in chosen}
        for name, block in zip(owners, results, strict=True):
            details[name].extend(block)
        scores = {
            name: np.array([_pick(entry["betti"], cfg.number) for entry in rows], dtype=float)
            for name, rows in details.items()
        }
        for rows in details.values():
            for entry in rows:
                entry["betti"] = list(entry["betti"])
        params = {**cfg.to_dict(), "n_images": len(images)}
        return FilterScores(
            self.name, scores, self.direction, params, time.perf_counter() - started, details
        )


def _pick(betti: Sequence[int], number: str) -> int:
    if number == "b0":
        return int(betti[0])
    if number == "b1":
        return int(betti[1])
    return int(betti[0]) + int(betti[1])


def _run_jobs(
    fn: Callable[[dict[str, Any]], Any],
    jobs: list[dict[str, Any]],
    n_jobs: int,
    progress: Progress | None,
) -> list[Any]:
    """Run jobs inline (``n_jobs == 1``) or in worker processes, results in input order.

    Workers are forked where the platform can (Linux): they run only the torch-free kernel
    (NumPy, SciPy, GUDHI), so the fork-after-OpenMP hazard of torch does not apply, and they
    start in milliseconds. A spawned worker would re-import the calling program (torch and
    all, seconds each), which costs more than scoring a small CNN.
    """
    report = progress or (lambda stage, done, total: None)
    results: list[Any]
    if n_jobs == 1 or len(jobs) <= 1:
        results = []
        for done, job in enumerate(jobs):
            report("betti", done, len(jobs))
            results.append(fn(job))
        report("betti", len(jobs), len(jobs))
        return results
    import concurrent.futures as cf
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    results = [None] * len(jobs)
    with cf.ProcessPoolExecutor(
        max_workers=min(n_jobs, len(jobs)), mp_context=multiprocessing.get_context(method)
    ) as pool:
        futures = {pool.submit(fn, job): index for index, job in enumerate(jobs)}
        report("betti", 0, len(jobs))
        for done, future in enumerate(cf.as_completed(futures), start=1):
            results[futures[future]] = future.result()  # a job's ValueError propagates as is
            report("betti", done, len(jobs))
    return results


#: Scorers by name (the CLI's choices come from these keys).
SCORERS: dict[str, Callable[..., FilterScorer]] = {
    "betti": BettiScorer,
    "l1": L1Scorer,
    "hrank": HRankScorer,
    "random": RandomScorer,
}


def get_scorer(name: str, **kwargs: Any) -> FilterScorer:
    """A fresh scorer by name (:data:`SCORERS`), with keyword settings.

    Raises
    ------
    ValueError
        An unknown name, or a setting the scorer does not take (e.g. ``seed`` for the
        deterministic ``"l1"``, ``"betti"`` and ``"hrank"``: only ``"random"`` is seeded).
    """
    check_param("name", name, Options(tuple(SCORERS)), caller="get_scorer")
    accepted = _scorer_settings(SCORERS[name])
    unknown = [] if accepted is None else sorted(set(kwargs) - set(accepted))
    if accepted is not None and unknown:
        takes = f"takes {', '.join(accepted)}" if accepted else "takes no settings"
        seeded = (
            " It is deterministic: only the 'random' scorer takes a seed."
            if "seed" in unknown
            else ""
        )
        raise ValueError(
            f"get_scorer: the {name!r} scorer {takes}; got {', '.join(unknown)}.{seeded}"
        )
    return SCORERS[name](**kwargs)


def _scorer_settings(factory: Callable[..., FilterScorer]) -> list[str] | None:
    """Keyword settings a scorer's constructor takes; None if it takes any (``**kwargs``).

    :class:`BettiScorer` takes ``config`` and, as ``**overrides``, every :class:`BettiConfig`
    field.
    """
    if factory is BettiScorer:
        return ["config", *(f.name for f in fields(BettiConfig))]
    settings = []
    for parameter in inspect.signature(factory).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if parameter.kind is not inspect.Parameter.VAR_POSITIONAL:
            settings.append(parameter.name)
    return settings

"""The data-set registry: a name (or a file) in, a labelled point cloud of known topology out.

A :class:`PointCloudDataset` is what every experiment consumes: points ``X``, binary labels ``y``
(0 = class a, 1 = class b), the true per-class Betti numbers and the measurement parameters
under which the topology engine recovers them. Built-in generators (``bettiscope.datasets.
synthetic``) register themselves here with :func:`register_dataset`; :func:`load_dataset` also
accepts a path to a user's labelled ``.npz`` / ``.csv`` file, so a file works wherever a name does.
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bettiscope import __version__
from bettiscope._validation import Interval, check_memory, check_param
from bettiscope.storage import (
    DataFileError,
    environment_info,
    load_point_cloud,
    save_figure,
    save_point_cloud,
)

__all__ = [
    "DATASETS",
    "DEFAULT_FILE_MEASURE",
    "DatasetSpec",
    "PointCloudDataset",
    "dataset_meta",
    "get_spec",
    "load_dataset",
    "parse_param_value",
    "plot_dataset",
    "register_dataset",
    "save_dataset",
]

#: Measurement parameters assumed for a user's file that records none: the Naitzat method's
#: k=35, 2 hops, all points, beta_0 and beta_1.
DEFAULT_FILE_MEASURE: dict[str, Any] = {
    "metric": "knn-hop",
    "k": 35,
    "scale": 2.5,
    "stride": 1,
    "max_dim": 1,
}

#: File suffixes :func:`load_dataset` reads as a user's labelled point cloud.
_FILE_SUFFIXES = (".npz", ".csv", ".txt")


@dataclass
class PointCloudDataset:
    """A labelled point cloud and its known topology.

    Attributes
    ----------
    name : str
        Registry name ("D-II", "disks-grid", ...) or, for a file, its recorded name or stem.
    X : ndarray of shape (n_points, n_features), float
        The points.
    y : ndarray of shape (n_points,), int
        Class labels: 0 = class a, 1 = class b (a user's file may have more classes).
    true_betti : dict of int to tuple of int
        The true Betti numbers ``(beta_0, ..., beta_max_dim)`` of each class's underlying space;
        empty when unknown (a user's file without metadata).
    measure : dict
        Measurement parameters under which the engine recovers ``true_betti`` exactly: keys
        ``metric``, ``k``, ``scale``, ``stride``, ``max_dim`` (pass them to
        :func:`bettiscope.topology.betti_by_class`).
    params : dict
        The generator's parameters, including ``seed`` (for a file: what its metadata recorded).
    X_eval, y_eval : ndarray, optional
        An evaluation set (D-I: the 88 x 88 grid on which its Betti numbers are measured) and
        its labels from the true geometry; None when the data set has none.
    components : ndarray of shape (n_points,), int, optional
        Index of the true connected component (disk, torus, shell, ...) each point of ``X``
        belongs to, unique across classes; lets tests check that components never touch.
    description : str
        One line on the geometry.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    true_betti: dict[int, tuple[int, ...]]
    measure: dict[str, Any]
    params: dict[str, Any]
    X_eval: np.ndarray | None = None
    y_eval: np.ndarray | None = None
    components: np.ndarray | None = None
    description: str = ""
    extra_meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        """Number of rows of ``X``."""
        return len(self.X)

    @property
    def dim(self) -> int:
        """Number of features (columns of ``X``)."""
        return int(self.X.shape[1])

    def class_sizes(self) -> dict[int, int]:
        """Points per class label, in label order."""
        labels, counts = np.unique(self.y, return_counts=True)
        return {int(label): int(count) for label, count in zip(labels, counts, strict=True)}

    def measure_kwargs(self) -> dict[str, Any]:
        """``measure`` as keyword arguments for :func:`bettiscope.topology.betti_numbers`."""
        kwargs = {key: self.measure[key] for key in ("metric", "scale", "max_dim", "stride")}
        if self.measure["metric"] == "knn-hop":
            kwargs["k"] = self.measure["k"]
        return kwargs

    def __repr__(self) -> str:
        betti = ", ".join(f"{label}: {tuple(b)}" for label, b in self.true_betti.items())
        return (
            f"PointCloudDataset(name={self.name!r}, X={self.X.shape}, "
            f"true_betti={{{betti}}}, measure={self.measure})"
        )


@dataclass(frozen=True)
class DatasetSpec:
    """A registered generator: ``generator(seed=..., **params) -> PointCloudDataset``.

    Every built-in data set also takes ``shift`` (see :meth:`make`), handled here rather than by
    each generator.

    Attributes
    ----------
    name : str
    generator : callable
    dim : int
        Dimension of the points.
    summary : str
        One line for ``bettiscope data list``.
    """

    name: str
    generator: Callable[..., PointCloudDataset]
    dim: int
    summary: str

    @property
    def defaults(self) -> dict[str, Any]:
        """The generator's keyword parameters (other than ``seed``) and their defaults."""
        own = {
            name: parameter.default
            for name, parameter in inspect.signature(self.generator).parameters.items()
            if name != "seed" and parameter.default is not inspect.Parameter.empty
        }
        return {**own, "shift": 0.0}

    def make(self, *, seed: int = 0, shift: float = 0.0, **params: Any) -> PointCloudDataset:
        """Generate the data set, refusing parameters the generator does not have.

        ``shift`` (data units, default 0, at most 10 in size) is added to every coordinate of
        the points and of the evaluation set, if any. The built-in sets are centred at the
        origin, and several are symmetric under ``x -> -x`` there; a shift breaks that without
        changing the shapes, their distances or their Betti numbers (a network with
        zero-initialised biases does see the difference: see docs/study.md).
        """
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown parameter{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(p) for p in unknown)}; valid parameters are "
                f"{', '.join(self.defaults)} (and seed)."
            )
        check_param("shift", shift, _SHIFT, caller=self.name)
        data = self.generator(seed=seed, **params)
        if shift == 0:
            return data
        return replace(
            data,
            X=data.X + shift,
            X_eval=None if data.X_eval is None else data.X_eval + shift,
            params={**data.params, "shift": shift},
        )


#: Allowed ``shift`` of a built-in data set (data units): a typo cannot move it far away.
_SHIFT = Interval(float, -10.0, 10.0)

#: name -> spec of every built-in data set, in registration order.
DATASETS: dict[str, DatasetSpec] = {}


def register_dataset(
    name: str, *, dim: int, summary: str
) -> Callable[[Callable[..., PointCloudDataset]], Callable[..., PointCloudDataset]]:
    """Decorator adding a generator to :data:`DATASETS` under ``name``."""

    def decorate(generator: Callable[..., PointCloudDataset]) -> Callable[..., PointCloudDataset]:
        if name in DATASETS:
            raise ValueError(f"register_dataset: a data set named {name!r} already exists.")
        DATASETS[name] = DatasetSpec(name=name, generator=generator, dim=dim, summary=summary)
        return generator

    return decorate


def get_spec(name: str) -> DatasetSpec:
    """The registered spec of a built-in data set (case-insensitive name); ValueError if none."""
    if name in DATASETS:
        return DATASETS[name]
    folded = {key.casefold(): spec for key, spec in DATASETS.items()}
    if name.casefold() in folded:
        return folded[name.casefold()]
    raise ValueError(
        f"unknown data set {name!r}; built-in names are {', '.join(DATASETS)}, or give a path "
        "to a labelled .npz (arrays X, y) or .csv (labels in the last column) file."
    )


def _looks_like_path(name_or_path: str | os.PathLike[str]) -> bool:
    if isinstance(name_or_path, os.PathLike):
        return True
    text = str(name_or_path)
    if text.casefold() in {name.casefold() for name in DATASETS}:
        return False  # a built-in name wins over a file of the same name in the working folder
    return text.lower().endswith(_FILE_SUFFIXES) or os.sep in text or Path(text).exists()


def load_dataset(
    name_or_path: str | os.PathLike[str], *, seed: int = 0, **params: Any
) -> PointCloudDataset:
    """A built-in data set by name, or a user's labelled point cloud from a file.

    Parameters
    ----------
    name_or_path : str or path-like
        A name in :data:`DATASETS` ("D-I", "D-II", "D-III", "disks-grid", "linked-rings",
        "nested-shells"; case-insensitive), or a path to a ``.npz`` file with arrays ``X`` and
        ``y`` (and optionally ``meta``, as written by :func:`save_dataset`: its ``eval_grid``
        is rebuilt as ``X_eval``, shifted by ``params["shift"]`` like the points) or a ``.csv``
        file whose last column holds the labels.
    seed : int, default=0
        Seed of the generator's random parts (ignored for files).
    **params
        The generator's parameters (see each generator in :mod:`bettiscope.datasets.synthetic`).
        Files take none.

    Returns
    -------
    PointCloudDataset

    Raises
    ------
    ValueError
        Unknown name or parameter, a parameter out of range, components that would overlap or
        hold too few points for the measure's ``k``, or an unreadable / unlabelled file, one
        with complex values, or one whose meta ``eval_grid`` is malformed or too large to build
        (:class:`bettiscope.storage.DataFileError`).

    Examples
    --------
    >>> data = load_dataset("disks-grid", n=3)
    >>> data.true_betti
    {0: (9, 0), 1: (1, 9)}
    """
    if _looks_like_path(name_or_path):
        if params:
            raise ValueError(
                f"{name_or_path}: parameters ({', '.join(params)}) apply to built-in data sets "
                "only; a file is loaded as it is."
            )
        return _load_file(Path(name_or_path))
    return get_spec(str(name_or_path)).make(seed=seed, **params)


def _load_file(path: Path) -> PointCloudDataset:
    is_text = path.suffix.lower() in (".csv", ".txt")
    cloud = load_point_cloud(path, labels_in_last_column=is_text)
    if cloud.y is None:
        raise DataFileError(
            f"{path}: a data set needs class labels; add an array 'y' (one label per row of X)."
        )
    for what, values in (("points X", cloud.X), ("labels y", cloud.y)):
        if np.iscomplexobj(values):
            raise DataFileError(
                f"{path}: {what} are complex ({np.asarray(values).dtype}); a data set needs real "
                "values. Store the parts as separate columns (np.c_[X.real, X.imag]) or keep "
                "only the real part (X.real) if the imaginary part is meant to be dropped."
            )
    meta = cloud.meta if isinstance(cloud.meta, dict) else {}
    y, label_names = _integer_labels(cloud.y)
    n_classes = int(y.max()) + 1
    if n_classes > max(2, len(y) // 2):
        raise DataFileError(
            f"{path}: {n_classes} distinct labels for {len(y)} points: y looks like a coordinate "
            "or a measurement, not class labels. For .csv the last column is the label."
        )
    params = dict(meta.get("params", {})) if isinstance(meta.get("params"), dict) else {}
    if label_names is not None:
        params["label_names"] = label_names
    measure = dict(DEFAULT_FILE_MEASURE)
    if isinstance(meta.get("measure"), dict):
        measure.update({k: v for k, v in meta["measure"].items() if k in DEFAULT_FILE_MEASURE})
    X_eval = _eval_grid(meta.get("eval_grid"), path, params.get("shift", 0.0))
    y_eval = _eval_labels(cloud.y_eval, X_eval, n_classes, label_names, path)
    return PointCloudDataset(
        name=str(meta.get("name", path.stem)),
        X=np.asarray(cloud.X, dtype=np.float64),
        y=y,
        true_betti=_parse_true_betti(meta.get("true_betti", {}), path, label_names),
        measure=measure,
        params=params,
        X_eval=X_eval,
        y_eval=y_eval,
        description=str(meta.get("description", f"loaded from {path}")),
    )


def _eval_labels(
    labels: np.ndarray | None,
    X_eval: np.ndarray | None,
    n_classes: int,
    label_names: list[str] | None,
    path: Path,
) -> np.ndarray | None:
    """The evaluation set's labels from a file's ``y_eval`` array, checked against its grid."""
    if labels is None:
        return None
    labels = np.asarray(labels)
    if X_eval is None:
        raise DataFileError(
            f"{path}: array 'y_eval' labels an evaluation set, but meta has no 'eval_grid' to "
            "build its points from; remove 'y_eval' or add the grid."
        )
    if labels.ndim != 1 or len(labels) != len(X_eval):
        raise DataFileError(
            f"{path}: array 'y_eval' must hold one label per evaluation point ({len(X_eval):,} "
            f"from meta 'eval_grid'); got shape {labels.shape}."
        )
    if label_names is not None:
        raise DataFileError(
            f"{path}: array 'y_eval' needs the labels in y to be 0..K-1 (they are "
            f"{', '.join(label_names[:5])}{', ...' if len(label_names) > 5 else ''})."
        )
    if (
        not np.issubdtype(labels.dtype, np.number)
        or not np.all(np.isfinite(labels))
        or np.any(labels != np.round(labels))
        or labels.min() < 0
        or labels.max() >= n_classes
    ):
        raise DataFileError(
            f"{path}: array 'y_eval' must hold class indices 0..{n_classes - 1}, like y."
        )
    return labels.astype(np.int64)


def _integer_labels(labels: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
    """Labels as class indices 0..K-1, and the original labels (as text) if they were others.

    Integer labels that already are 0..K-1 stay as they are; any others (negative, with gaps,
    fractional, text) are numbered in sorted order, so no class is empty and none is negative.
    """
    labels = np.asarray(labels)
    if np.issubdtype(labels.dtype, np.number) and np.all(labels == np.round(labels)):
        values, codes = np.unique(labels.astype(np.int64), return_inverse=True)
        if values[0] == 0 and values[-1] == len(values) - 1:
            return labels.astype(np.int64), None
        return codes.astype(np.int64), [str(v) for v in values]
    names, codes = np.unique(labels.astype(str), return_inverse=True)
    return codes.astype(np.int64), names.tolist()


def _parse_true_betti(
    raw: Any, path: Path, label_names: list[str] | None
) -> dict[int, tuple[int, ...]]:
    """``{label: Betti numbers}`` from the file's meta, keyed by class index like ``y``."""
    if not isinstance(raw, Mapping):
        raise DataFileError(f"{path}: meta 'true_betti' must map labels to lists of integers.")
    index = None if label_names is None else {name: i for i, name in enumerate(label_names)}
    parsed = {}
    for label, values in raw.items():
        try:
            betti = tuple(int(b) for b in values)
            key = int(_label_text(label)) if index is None else index[_label_text(label)]
        except (TypeError, ValueError, KeyError):
            raise DataFileError(
                f"{path}: meta 'true_betti' must map the labels in y to lists of integers; "
                f"got {label!r}: {values!r}."
            ) from None
        parsed[key] = betti
    return parsed


def _label_text(label: Any) -> str:
    """A meta key as the label's text in ``label_names`` ("1" and 1.0 both name label 1)."""
    try:
        number = float(label)
    except (TypeError, ValueError):
        return str(label)
    return str(int(number)) if number.is_integer() else str(label)


#: Most points an evaluation grid rebuilt from a file's meta may have (as many as the largest
#: data set a built-in generator builds), so a typo in ``eval_grid`` cannot exhaust memory.
MAX_EVAL_POINTS = 5_000_000

#: Bytes per point of the grid while it is built: ``meshgrid``'s two arrays, the stacked
#: (n, 2) result and, for a shifted set, the shifted copy (float64 each).
_GRID_BYTES_PER_POINT = 6 * 8


def _eval_grid(spec: Any, path: Path, shift: Any = 0.0) -> np.ndarray | None:
    """The square evaluation grid ``arange(start, stop, step)`` squared from a file's meta,
    plus ``shift`` (the data set's ``params["shift"]``: :meth:`DatasetSpec.make` shifts the
    evaluation set with the points, so the file's unshifted grid is shifted back here)."""
    if spec is None:
        return None
    try:
        start, stop, step = (float(spec[key]) for key in ("start", "stop", "step"))
    except (TypeError, KeyError, ValueError):
        raise DataFileError(
            f"{path}: meta 'eval_grid' must have numeric start, stop and step."
        ) from None
    if not all(math.isfinite(value) for value in (start, stop, step)) or step == 0:
        raise DataFileError(
            f"{path}: meta 'eval_grid' needs finite start and stop and a finite, non-zero step; "
            f"got start {start:g}, stop {stop:g}, step {step:g}."
        )
    if isinstance(shift, bool) or not isinstance(shift, numbers.Real) or not math.isfinite(shift):
        raise DataFileError(
            f"{path}: meta 'params' 'shift' must be a finite number (added to every "
            f"coordinate of the points and the evaluation grid); got {shift!r}."
        )
    ratio = (stop - start) / step  # np.arange gives ceil(ratio) values
    count = math.ceil(ratio) if math.isfinite(ratio) else math.inf
    if count < 1:
        raise DataFileError(
            f"{path}: meta 'eval_grid' is empty: no value from start {start:g} towards stop "
            f"{stop:g} in steps of {step:g}. Give start < stop with step > 0."
        )
    n_points = float(count) * float(count)
    size = (
        f"a {count:,} x {count:,} grid of {n_points:,.0f} points"
        if n_points < 1e15
        else f"a grid of about {n_points:.3g} points"
        if math.isfinite(n_points)
        else "more grid points than a float can count"
    )
    advice = (
        "Use a larger step or a smaller range in meta 'eval_grid' (D-I's is start -1.1, stop "
        "1.1, step 0.025: 88 x 88 points)."
    )
    if n_points > MAX_EVAL_POINTS:
        raise DataFileError(
            f"{path}: meta 'eval_grid' (start {start:g}, stop {stop:g}, step {step:g}) gives "
            f"{size}, more than the {MAX_EVAL_POINTS:,} allowed. {advice}"
        )
    check_memory(
        f"{path}: building the evaluation grid of meta 'eval_grid' ({size})",
        _GRID_BYTES_PER_POINT * n_points,
        advice,
    )
    grid = _square_grid(np.arange(start, stop, step))
    return grid if shift == 0 else grid + shift


def _square_grid(axis: np.ndarray) -> np.ndarray:
    """Points of ``axis x axis`` in row-major order (x fastest), shape (len(axis)**2, 2)."""
    xx, yy = np.meshgrid(axis, axis)
    return np.c_[xx.ravel(), yy.ravel()]


# --------------------------------------------------------------------------------------------
# files and pictures
# --------------------------------------------------------------------------------------------


def dataset_meta(data: PointCloudDataset) -> dict[str, Any]:
    """The JSON metadata stored with a data set: what it is, its truth, how to measure it."""
    meta: dict[str, Any] = {
        "name": data.name,
        "description": data.description,
        "true_betti": {str(label): list(b) for label, b in data.true_betti.items()},
        "measure": dict(data.measure),
        "params": dict(data.params),
        "n_points": data.n_points,
        "dim": data.dim,
        "class_sizes": {str(k): v for k, v in data.class_sizes().items()},
        "created_by": f"bettiscope {__version__}",
        "environment": environment_info(),
    }
    meta.update(data.extra_meta)
    return meta


def save_dataset(data: PointCloudDataset, path: str | os.PathLike[str]) -> Path:
    """Write ``X``, ``y`` and :func:`dataset_meta` to an ``.npz`` file, atomically.

    :func:`load_dataset` reads it back, and ``bettiscope betti FILE --by-class`` measures it with
    the recorded ``measure`` parameters. An evaluation set that the metadata can rebuild
    (``eval_grid``, as D-I's) keeps its labels ``y_eval`` too.
    """
    target = Path(path)
    if target.suffix.lower() != ".npz":
        raise ValueError(f"{target}: data sets are saved as .npz; use a name ending in .npz.")
    meta = dataset_meta(data)
    # without the grid in meta the points cannot be rebuilt, so their labels would mean nothing
    y_eval = data.y_eval if data.X_eval is not None and "eval_grid" in meta else None
    return save_point_cloud(target, data.X, data.y, meta, y_eval=y_eval)


def parse_param_value(spec: DatasetSpec, key: str, text: str) -> Any:
    """Convert a command-line ``key=value`` value to the type of the parameter's default."""
    defaults = spec.defaults
    if key not in defaults:
        raise ValueError(
            f"{spec.name}: unknown parameter {key!r}; valid parameters are {', '.join(defaults)}."
        )
    default = defaults[key]
    kind = type(default)
    try:
        if isinstance(default, bool):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return text.lower() in ("true", "1", "yes")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        raise ValueError(
            f"{spec.name}: parameter {key!r} must be {'an' if kind is int else 'a'} "
            f"{kind.__name__} (default {default!r}); got {text!r}."
        ) from None
    return text


def plot_dataset(
    data: PointCloudDataset,
    path: str | os.PathLike[str],
    *,
    max_points: int = 20000,
    seed: int = 0,
    title: str | None = None,
) -> Path:
    """Scatter plot of a 2-D or 3-D data set coloured by class, written atomically to ``path``.

    Parameters
    ----------
    data : PointCloudDataset
    path : path-like
        Image file; the format follows the suffix (``.png``, ``.pdf``, ``.svg``).
    max_points : int, default=20000
        Plot a seeded random subset of at most this many points (large clouds only blur).
    seed : int, default=0
        Seed of that subset.
    title : str, optional
        Default: the name and the true Betti numbers.
    """
    from bettiscope.storage import pyplot

    plt = pyplot()

    if data.dim not in (2, 3):
        raise ValueError(
            f"plot_dataset: can draw 2-D or 3-D points only; {data.name} has {data.dim} "
            "features. Project it first (e.g. PCA to 3 components)."
        )
    if max_points < 1:
        raise ValueError(f"plot_dataset: max_points must be >= 1; got {max_points}.")
    index = np.arange(data.n_points)
    if data.n_points > max_points:
        index = np.sort(np.random.default_rng(seed).choice(data.n_points, max_points, False))
    X, y = data.X[index], data.y[index]
    figure = plt.figure(figsize=(6.4, 6.0), dpi=110)
    axes = figure.add_subplot(projection="3d" if data.dim == 3 else None)
    colours = plt.get_cmap("tab10")
    size = 2.0 if len(X) > 5000 else 6.0
    for position, label in enumerate(np.unique(y)):
        points = X[y == label]
        name = {0: "class a", 1: "class b"}.get(int(label), f"class {label}")
        betti = data.true_betti.get(int(label))
        legend = f"{name} (y={label})" + (f", Betti {tuple(betti)}" if betti else "")
        axes.scatter(
            *points.T, s=size, color=colours(position % 10), label=legend, linewidths=0, alpha=0.7
        )
    if data.dim == 2:
        axes.set_aspect("equal")
    else:  # equal units on all three axes, so tori and spheres look round
        axes.set_box_aspect(np.maximum(np.ptp(X, axis=0), 1e-9))
    axes.legend(loc="upper right", fontsize=8, markerscale=3)
    shown = f" ({len(X):,} of {data.n_points:,} points shown)" if len(X) < data.n_points else ""
    axes.set_title(title or f"{data.name}: {data.n_points:,} points{shown}", fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path, dpi=100)

"""Input and parameter validation shared by every public entry point.

Modelled on scikit-learn's ``check_array`` / ``check_scalar``: cheap checks first, and every
message says what was expected, what arrived and how to fix it.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

#: Largest finite float64 (about 1.8e308).
FLOAT64_MAX = float(np.finfo(np.float64).max)

__all__ = [
    "Interval",
    "Options",
    "available_memory_bytes",
    "check_adjacency",
    "check_distance_range",
    "check_labels",
    "check_memory",
    "check_param",
    "check_points",
    "format_bytes",
    "memory_budget",
]


def _to_numpy(values: Any) -> np.ndarray:
    """Convert arrays, lists and torch tensors (detached, moved to CPU) to a NumPy array."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # torch.Tensor without importing torch
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def check_points(
    points: Any,
    *,
    caller: str = "betti_numbers",
    name: str = "points",
    min_points: int = 1,
    dtype: type = np.float64,
) -> np.ndarray:
    """Validate a point cloud and return it as a C-contiguous 2-D float array.

    Parameters
    ----------
    points : array-like or torch.Tensor of shape (n_points, n_features)
        The point cloud. Tensors are detached and copied to the CPU.
    caller : str, default="betti_numbers"
        Name of the public function, used in messages.
    name : str, default="points"
        Name of the argument, used in messages.
    min_points : int, default=1
        Fewest rows accepted.
    dtype : numpy dtype, default=np.float64
        Output dtype.

    Raises
    ------
    ValueError
        If the input is not numeric, not 2-D, has too few rows, holds NaN or infinity, or holds
        values so large (near the float64 limit) that their sum overflows.
    """
    try:
        array = _to_numpy(points)
    except Exception as exc:  # e.g. ragged nested lists
        raise ValueError(
            f"{caller}: {name} must be a 2-D numeric array of shape (n_points, n_features); "
            f"could not convert the input ({type(points).__name__}): {exc}"
        ) from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(
            f"{caller}: {name} must be numeric; got dtype {array.dtype}. "
            "Convert it with np.asarray(..., dtype=float) after removing non-numeric columns."
        )
    if np.iscomplexobj(array):
        raise ValueError(f"{caller}: {name} must be real-valued; got complex dtype {array.dtype}.")
    if array.ndim != 2:
        hint = (
            " Reshape with X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one point."
            if array.ndim == 1
            else " Flatten each sample first, e.g. X.reshape(len(X), -1)."
            if array.ndim > 2
            else ""
        )
        raise ValueError(
            f"{caller}: {name} must be 2-D (n_points, n_features); got shape {array.shape}.{hint}"
        )
    n_points, n_features = array.shape
    if n_points < min_points:
        raise ValueError(
            f"{caller}: {name} needs at least {min_points} point(s); got {n_points}. "
            "Check that the class or file is not empty."
        )
    if n_features < 1:
        raise ValueError(f"{caller}: {name} has no features (shape {array.shape}).")
    array = np.ascontiguousarray(array, dtype=dtype)
    # Sum first (O(1) extra memory); only scan element-wise to name the culprit on failure.
    with np.errstate(over="ignore"):
        total = float(np.sum(array))
    if not math.isfinite(total):
        bad = ~np.isfinite(array)
        rows = np.flatnonzero(bad.any(axis=1))
        if len(rows) == 0:  # every value is finite: the sum overflowed
            peak = float(np.max(np.abs(array)))
            raise ValueError(
                f"{caller}: {name} has values as large as {peak:.3g} in magnitude, so large "
                "that sums of them overflow float64. Rescale the data first, e.g. "
                "X / np.abs(X).max()."
            )
        kind = "NaN" if np.isnan(array[bad]).any() else "infinity"
        raise ValueError(
            f"{caller}: {name} contains {kind} in {len(rows)} row(s) (first: row {rows[0]}). "
            "Drop or impute those rows before computing topology."
        )
    return array


def check_distance_range(
    points: np.ndarray,
    *,
    caller: str,
    name: str = "points",
    about_origin: bool = False,
    max_distance: float | None = None,
) -> None:
    """Refuse a point cloud whose squared Euclidean distances would overflow.

    The bound used, ``sum_j (max_j - min_j)^2`` over the features, is at least the largest
    squared distance between two points and at most ``n_features`` times it; computing it
    takes two passes over the data and no copy.

    Parameters
    ----------
    points : ndarray of shape (n_points, n_features)
        Finite floats, as :func:`check_points` returns them.
    caller : str
        Name of the public function, used in messages.
    name : str, default="points"
        Name of the argument, used in messages.
    about_origin : bool, default=False
        The caller's distances are computed as ``|x|^2 + |y|^2 - 2 x.y`` (BLAS, scikit-learn's
        brute-force search) rather than from coordinate differences (k-d trees): then
        ``4 * sum_j max_i x_ij^2``, which bounds every term of that expansion, must not
        overflow float64 either.
    max_distance : float, optional
        Largest distance the caller can represent (e.g. float32's limit for ripser); default:
        squared distances only have to stay below the float64 limit.

    Raises
    ------
    ValueError
        If the bound exceeds the limit; the message says to rescale.
    """
    if points.size == 0:
        return
    limit = FLOAT64_MAX if max_distance is None else min(FLOAT64_MAX, float(max_distance) ** 2)
    with np.errstate(over="ignore", invalid="ignore"):
        high = points.max(axis=0)
        low = points.min(axis=0)
        spread = float(np.sum(np.square(high - low)))
        largest = np.maximum(high, -low)
        norms = 4.0 * float(np.sum(np.square(largest))) if about_origin else 0.0
    if spread <= limit and norms <= FLOAT64_MAX:
        return
    peak = float(np.max(largest))
    if spread > limit and max_distance is not None:
        problem = (
            f"distances between them (up to about {math.sqrt(spread):.3g}) exceed "
            f"{max_distance:.3g}, the largest this computation can represent"
        )
    elif spread > limit:
        problem = f"squared distances between them overflow float64 (above {limit:.3g})"
    else:
        problem = (
            "their squared lengths overflow float64 in the |x|^2 + |y|^2 - 2 x.y form this "
            "computation uses for distances"
        )
    raise ValueError(
        f"{caller}: {name} has coordinates as large as {peak:.3g} in magnitude, and "
        f"{problem}. Rescale the points first (e.g. divide them by {peak:.3g}) and divide any "
        "Euclidean scale by the same factor."
    )


def check_adjacency(adjacency: Any, *, caller: str, name: str = "adjacency") -> sp.csr_matrix:
    """Validate a graph's adjacency matrix and return it as a boolean CSR matrix.

    Parameters
    ----------
    adjacency : sparse matrix or array-like of shape (n_vertices, n_vertices)
        Real numbers; nonzero entries are edges.
    caller : str
        Name of the public function, used in messages.
    name : str, default="adjacency"
        Name of the argument, used in messages.

    Returns
    -------
    scipy.sparse.csr_matrix of bool
        ``scipy.sparse.csr_matrix(adjacency, dtype=bool)``, as given (not symmetrised).

    Raises
    ------
    TypeError
        If the input is not a matrix of real numbers (e.g. None, a string, complex numbers).
    ValueError
        If it is not square (or not 2-D), or holds NaN.
    """
    import scipy.sparse as sp

    expected = (
        f"{caller}: {name} must be a square scipy.sparse matrix or 2-D array of real numbers "
        "(nonzero entries are edges)"
    )
    if sp.issparse(adjacency):
        matrix: Any = adjacency
        values = adjacency.data
    else:
        try:
            matrix = values = _to_numpy(adjacency)
        except Exception as exc:
            raise TypeError(
                f"{expected}; could not convert {type(adjacency).__name__}: {exc}"
            ) from None
    dtype = np.dtype(matrix.dtype)
    if dtype.kind not in "biuf":  # bool, signed and unsigned int, float
        raise TypeError(f"{expected}; got {type(adjacency).__name__} of dtype {dtype}.")
    shape = tuple(matrix.shape)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(
            f"{expected}; got shape {shape}. Pass the (n_vertices, n_vertices) adjacency of "
            "the graph, not an edge list or a point cloud."
        )
    if values.dtype.kind == "f" and values.size:
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(np.sum(values))
        if math.isnan(total) and np.isnan(values).any():
            raise ValueError(
                f"{caller}: {name} contains NaN; use 0 for no edge and 1 (any nonzero) for an edge."
            )
    return sp.csr_matrix(matrix, dtype=bool)


def check_labels(labels: Any, n_points: int, *, caller: str = "betti_by_class") -> np.ndarray:
    """Validate a label vector of length ``n_points`` and return it as a 1-D array."""
    array = _to_numpy(labels)
    if array.ndim == 2 and 1 in array.shape:
        array = array.ravel()
    if array.ndim != 1:
        raise ValueError(
            f"{caller}: labels must be 1-D with one label per point; got shape {array.shape}."
        )
    if len(array) != n_points:
        raise ValueError(
            f"{caller}: labels has {len(array)} entries but points has {n_points} rows; "
            "they must match one to one."
        )
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{caller}: labels contain NaN or infinity.")
    if array.dtype.kind == "O":  # mixed Python objects: classes must sort, so one kind only
        kinds = {type(label).__name__ for label in array}
        if any(label is None for label in array) or len(kinds) > 1:
            raise ValueError(
                f"{caller}: labels must all be of one kind (numbers or strings), without None; "
                f"got {', '.join(sorted(kinds))}."
            )
    return array


@dataclass(frozen=True)
class Interval:
    """Numeric constraint: ``kind`` in a (half-)open or closed range."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right" or "neither"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            return False
        number = float(value)
        low_open = self.closed in ("right", "neither")
        high_open = self.closed in ("left", "neither")
        too_low = self.low is not None and (number < self.low or (number == self.low and low_open))
        too_high = self.high is not None and (
            number > self.high or (number == self.high and high_open)
        )
        return not (too_low or too_high)

    def describe(self) -> str:
        kind = "an int" if self.kind is int else "a float"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{kind} in the range {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """String constraint: one of a fixed set."""

    values: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


def check_param(
    name: str, value: Any, constraint: Interval | Options, *, caller: str, hint: str = ""
) -> Any:
    """Raise ``ValueError`` unless ``value`` satisfies ``constraint``; return it unchanged.

    One message template for every parameter: "The 'k' parameter of betti_numbers must be an int
    in the range [2, inf). Got 1 instead."
    """
    if not constraint.accepts(value):
        message = (
            f"The {name!r} parameter of {caller} must be {constraint.describe()}. "
            f"Got {value!r} instead."
        )
        raise ValueError(message + (f" {hint}" if hint else ""))
    return value


def check_params(
    values: dict[str, Any], constraints: dict[str, Interval | Options], *, caller: str
) -> None:
    """Check every ``values[name]`` that has an entry in ``constraints`` (``None`` is skipped)."""
    for name, value in values.items():
        if value is not None and name in constraints:
            check_param(name, value, constraints[name], caller=caller)


def unique_in_order(values: Iterable[Any]) -> list[Any]:
    """Distinct values in first-seen order (labels keep the order users gave them)."""
    seen: dict[Any, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


def available_memory_bytes() -> int:
    """Memory the OS reports as available now (bytes); 4 GiB if it cannot be read."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 * 1024**3


def memory_budget(memory_limit: float | None = None) -> float:
    """Bytes one computation may use: ``memory_limit`` GiB, or half of what is available now."""
    if memory_limit is not None:
        return float(memory_limit) * 1024**3
    return 0.5 * available_memory_bytes()


def format_bytes(n_bytes: float) -> str:
    """Human-readable size: '3.2 GiB', '12 MiB', '512 B' (binary units, 3 significant
    figures below 1,000 TiB)."""
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n_bytes >= size:
            return f"{n_bytes / size:.3g} {unit}"
    return f"{n_bytes:.0f} B"


def input_mismatch(
    caller: str, inputs: str, shape: tuple[int, ...], error: Exception
) -> ValueError:
    """PyTorch's shape error of a forward pass as one line that names the input shape.

    ``raise input_mismatch("train", "the train inputs", (3,), error) from None`` gives "train:
    the model does not take the train inputs (shape (3,) each): mat1 and mat2 shapes ...".
    """
    return ValueError(
        f"{caller}: the model does not take {inputs} (shape {shape} each): "
        f"{' '.join(str(error).split())}"
    )


def check_memory(what: str, needed_bytes: float, advice: str) -> None:
    """Refuse, before allocating, a computation estimated to need more than the memory
    available now (all of it: the same check runs again in each worker process, after the
    others have allocated, and must not refuse what fits).

    Parameters
    ----------
    what : str
        What would be computed, for the message ("training a width-50 MLP on 28,800 points").
    needed_bytes : float
        The estimate, in bytes.
    advice : str
        What to change, appended to the message.

    Raises
    ------
    ValueError
        ``needed_bytes`` exceeds the memory available.
    """
    available = available_memory_bytes()
    if needed_bytes > available:
        raise ValueError(
            f"{what} would need about {format_bytes(needed_bytes)}, more than the "
            f"{format_bytes(available)} available now. {advice}"
        )

"""Files in and out: point-cloud files, atomic result writes, and provenance.

Every result file bettiscope writes goes through :func:`atomic_write_json` (or a sibling), so an
interrupted run never leaves a half-written file, and records :func:`environment_info` so the
result can be reproduced.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import platform
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DataFileError",
    "PointCloudFile",
    "atomic_path",
    "atomic_write_json",
    "atomic_write_text",
    "check_out_folder",
    "environment_info",
    "load_point_cloud",
    "read_json",
    "save_figure",
    "save_point_cloud",
    "to_jsonable",
]

_TRACKED_PACKAGES = (
    "bettiscope",
    "numpy",
    "scipy",
    "scikit-learn",
    "torch",
    "gudhi",
    "ripser",
    "torch-pruning",
    "matplotlib",
)


class DataFileError(ValueError):
    """A file could not be read as the expected kind of data; the message names file and fault."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    Use for writers that want a file name (``torch.save``, ``savefig``, ``np.savez``)::

        with atomic_path("model.pt") as tmp:
            torch.save(state, tmp)
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp" + target.suffix
        )
    except OSError as error:  # the OS names the temporary file, the user gave the target
        raise OSError(f"cannot write {target}: {error.strerror or error}") from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        # mkstemp makes the file private (0600); give it the permissions a plain open() would
        os.chmod(temporary, 0o666 & ~_current_umask())
        try:
            os.replace(temporary, target)
        except OSError as error:
            raise OSError(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        if temporary.exists():
            temporary.unlink()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def pyplot() -> Any:
    """``matplotlib.pyplot``, on the headless Agg backend unless pyplot is already in use.

    Every figure bettiscope draws goes through this: scripts and servers need no display, and
    a notebook that imported pyplot first keeps its own backend.
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(
    figure: Any, path: str | os.PathLike[str], *, dpi: int = 120, tight: bool = False
) -> Path:
    """Save a Matplotlib figure atomically and close it (the format follows the suffix, PNG
    by default). ``tight=True`` trims the margins (``bbox_inches="tight"``)."""
    plt = pyplot()

    target = Path(path)
    extra = {"bbox_inches": "tight"} if tight else {}
    try:
        with atomic_path(target) as temporary:
            figure.savefig(temporary, format=target.suffix.lstrip(".") or "png", dpi=dpi, **extra)
    finally:
        plt.close(figure)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file, fsync, rename)."""
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(path)


def to_jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays, paths, tuples and dataclass-like objects for ``json``.

    Non-finite floats, Python's or NumPy's alike, become ``None`` (NaN) or the strings
    ``"inf"`` / ``"-inf"``, so the output is valid JSON (which has no NaN or infinity).
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())  # a Python scalar, then treated as one
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    return value


def check_out_folder(
    path: str | os.PathLike[str], what: str, foreign: dict[str, str] | None = None
) -> Path:
    """Refuse an output folder that cannot hold ``what``: a file, or another command's output.

    ``foreign`` maps a file or folder name that marks another command's output to what it is,
    e.g. ``{"trace.json": "a trace (bettiscope trace)"}``. Creates nothing.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: is a file; the {what} needs a folder (created if missing).")
    for marker, owner in (foreign or {}).items():
        if (out / marker).exists():
            raise ValueError(
                f"{out}: holds {owner} ({marker}); give the {what} a folder of its own."
            )
    return out


def atomic_write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(to_jsonable(payload), indent=2) + "\n")


def read_json(path: str | os.PathLike[str], *, remedy: str = "") -> Any:
    """Read a JSON file, raising :class:`DataFileError` with the file name on failure.

    ``remedy`` (e.g. "Delete it to run that job again.") ends the message of a file that
    exists but cannot be parsed.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as error:
        raise DataFileError(f"{path}: cannot read ({error.strerror or error}).") from None
    except json.JSONDecodeError as error:
        message = f"{path}: not valid JSON ({error})."
        raise DataFileError(f"{message} {remedy}" if remedy else message) from None


def environment_info() -> dict[str, Any]:
    """Python, platform and library versions, for every result file."""
    versions: dict[str, str | None] = {}
    for package in _TRACKED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": versions,
    }


# --------------------------------------------------------------------------------------------
# point-cloud files
# --------------------------------------------------------------------------------------------


@dataclass
class PointCloudFile:
    """A point cloud read from disk: points ``X``, optional labels ``y`` and metadata.

    ``y_eval`` holds the labels of an evaluation set (an ``.npz`` array of that name), whose
    points a data set rebuilds from ``meta`` (see :func:`bettiscope.datasets.load_dataset`).
    """

    X: np.ndarray
    y: np.ndarray | None
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    y_eval: np.ndarray | None = None


def _read_npz(path: Path) -> PointCloudFile:
    if path.is_file() and not zipfile.is_zipfile(path):
        # np.load would try it as a pickle and say so, which misleads about a damaged file
        raise DataFileError(
            f"{path}: not a readable .npz archive (not a zip file: damaged, truncated or of "
            "another format)."
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            if "X" not in names:
                raise DataFileError(
                    f"{path}: an .npz point cloud needs an array named 'X' (n x d); "
                    f"found {sorted(names) or 'no arrays'}."
                )
            X = archive["X"]
            y = archive["y"] if "y" in names else None
            y_eval = archive["y_eval"] if "y_eval" in names else None
            meta: dict[str, Any] = {}
            if "meta" in names:
                try:
                    meta = json.loads(str(archive["meta"]))
                except json.JSONDecodeError as error:
                    raise DataFileError(
                        f"{path}: array 'meta' is not a JSON string ({error})."
                    ) from None
    except DataFileError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise DataFileError(f"{path}: not a readable .npz archive ({error}).") from None
    return PointCloudFile(X, y, meta, path, y_eval)


def _read_npy(path: Path) -> PointCloudFile:
    try:
        X = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise DataFileError(f"{path}: not a readable .npy array ({error}).") from None
    return PointCloudFile(X, None, {}, path)


def _read_csv(path: Path, labels_in_last_column: bool) -> PointCloudFile:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError(f"{path}: cannot read as CSV text ({error}).") from None
    if rows and not _is_number(rows[0][0]):
        rows = rows[1:]  # header line
    if not rows:
        raise DataFileError(f"{path}: the CSV file has no data rows.")
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise DataFileError(
            f"{path}: rows have different numbers of columns ({sorted(widths)}); "
            "every row needs the same columns."
        )
    if labels_in_last_column:
        if widths.pop() < 2:
            raise DataFileError(
                f"{path}: --by-class needs at least one feature and a label column."
            )
        labels = [row[-1].strip() for row in rows]
        rows = [row[:-1] for row in rows]
    try:
        X = np.array([[float(c) for c in row] for row in rows], dtype=np.float64)
    except ValueError as error:
        raise DataFileError(f"{path}: non-numeric value in a feature column ({error}).") from None
    y = None
    if labels_in_last_column:
        y = np.array(labels)
        if all(_is_number(v) for v in labels):
            numeric = np.array([float(v) for v in labels])
            y = numeric.astype(np.int64) if np.all(numeric == np.round(numeric)) else numeric
    return PointCloudFile(X, y, {}, path)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_point_cloud(
    path: str | os.PathLike[str], *, labels_in_last_column: bool = False
) -> PointCloudFile:
    """Read a point cloud: ``.npz`` (arrays ``X``, optional ``y``, ``meta``), ``.npy`` or ``.csv``.

    Parameters
    ----------
    path : path-like
        The file. ``.csv`` may have one header line.
    labels_in_last_column : bool, default=False
        For ``.csv``: the last column holds class labels.

    Raises
    ------
    DataFileError
        Missing, unreadable or malformed file, with the file name and the fault.
    """
    file = Path(path)
    if not file.exists():
        raise DataFileError(f"{file}: no such file.")
    if file.is_dir():
        raise DataFileError(f"{file}: is a directory, expected a .npz, .npy or .csv file.")
    suffix = file.suffix.lower()
    if suffix == ".npz":
        cloud = _read_npz(file)
    elif suffix == ".npy":
        cloud = _read_npy(file)
    elif suffix in (".csv", ".txt"):
        cloud = _read_csv(file, labels_in_last_column)
    else:
        raise DataFileError(f"{file}: unknown file type {suffix!r}; use .npz, .npy or .csv.")
    X = np.asarray(cloud.X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataFileError(f"{file}: points must be a non-empty 2-D array (n x d); got {X.shape}.")
    if not np.issubdtype(X.dtype, np.number):
        raise DataFileError(f"{file}: points must be numeric; got dtype {X.dtype}.")
    if not np.all(np.isfinite(X)):
        raise DataFileError(f"{file}: points contain NaN or infinity.")
    if cloud.y is not None:
        y = np.asarray(cloud.y)
        if y.ndim > 1 and max(y.shape) != y.size:  # a column or row vector is fine
            raise DataFileError(
                f"{file}: labels y must hold one label per point (1-D); got shape {y.shape}."
            )
        y = y.ravel()
        if len(y) != len(X):
            raise DataFileError(f"{file}: {len(y)} labels for {len(X)} points; they must match.")
        if np.issubdtype(y.dtype, np.number) and not np.all(np.isfinite(y)):
            raise DataFileError(f"{file}: labels y contain NaN or infinity.")
        cloud.y = y
    return cloud


def save_point_cloud(
    path: str | os.PathLike[str],
    X: np.ndarray,
    y: np.ndarray | None = None,
    meta: dict[str, Any] | None = None,
    *,
    y_eval: np.ndarray | None = None,
) -> Path:
    """Write ``X``, ``y``, ``meta`` (as a JSON string) and optionally the evaluation set's
    labels ``y_eval`` to an ``.npz`` file, atomically."""
    arrays: dict[str, Any] = {"X": np.asarray(X)}
    if y is not None:
        arrays["y"] = np.asarray(y)
    if y_eval is not None:
        arrays["y_eval"] = np.asarray(y_eval)
    if meta is not None:
        arrays["meta"] = np.array(json.dumps(to_jsonable(meta)))
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return Path(path)

"""Image data sets for the CNN experiments, read from their standard files (no torchvision).

* ``"digits"``: scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes). Needs
  no files, so it is the offline default.
* ``"fashion-mnist"``: the four standard IDX files (``train-images-idx3-ubyte.gz`` ...),
  gzipped or not, 28x28 grey, 10 classes, official 60,000 / 10,000 train/test split.
* ``"cifar10"``: the python pickle batches, as the ``cifar-10-batches-py/`` folder or the
  ``cifar-10-python.tar.gz`` archive (read without unpacking), 32x32 RGB, 10 classes.
* ``"cat-vs-dog"``: a folder of JPEGs, either ``cat.*.jpg`` / ``dog.*.jpg`` side by side (Kaggle's
  dogs-vs-cats ``train/``) or one subfolder per class (Microsoft's ``PetImages/Cat``, ``/Dog``).
* Any folder path: the same two layouts with any class names.

Pipeline (:func:`load_image_dataset`)::

    files -> raw uint8 images + labels -> class selection -> seeded subset (limit)
          -> seeded split (train / val / test) -> float in [0, 1] -> normalise with train stats

Every fault in a file (missing, truncated, wrong magic number, wrong length, unreadable pickle,
label/image count mismatch) raises one :class:`~bettiscope.storage.DataFileError` naming the file
and the fault. In an image folder, an undecodable image is skipped with one summary warning and
counted in ``ImageDataset.skipped``; a folder with no decodable image is an error.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
import tarfile
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch.nn import functional

from bettiscope._validation import Interval, check_param
from bettiscope.storage import DataFileError

__all__ = [
    "IMAGE_DATASETS",
    "ImageDataset",
    "SkippedImageWarning",
    "default_data_dir",
    "load_image_dataset",
    "read_cifar10",
    "read_fashion_mnist",
    "read_idx",
    "read_image_folder",
]

#: Built-in names (anything else must be a folder path).
IMAGE_DATASETS = ("digits", "fashion-mnist", "cifar10", "cat-vs-dog")

_ALIASES = {
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "fmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "cifar_10": "cifar10",
    "cat_vs_dog": "cat-vs-dog",
    "cats-vs-dogs": "cat-vs-dog",
    "dogs-vs-cats": "cat-vs-dog",
}

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

ProgressFn = Callable[[str, int, int], None]


class SkippedImageWarning(UserWarning):
    """Some images in a folder could not be decoded and were left out (see ``skipped``)."""


def default_data_dir() -> Path:
    """``$BETTISCOPE_DATA_DIR`` if set, else ``~/.cache/bettiscope/data``."""
    env = os.environ.get("BETTISCOPE_DATA_DIR")
    return Path(env) if env else Path.home() / ".cache" / "bettiscope" / "data"


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------


@dataclass
class ImageDataset:
    """An image classification task, split and normalised, ready for a CNN.

    Attributes
    ----------
    name : str
        Data set name (or folder path).
    train, val, test : tuple of (Tensor, Tensor)
        ``X`` float32 of shape (N, C, H, W), normalised per channel with the training split's
        mean and standard deviation; ``y`` int64 of shape (N,), values ``0 .. num_classes-1``.
        ``val`` may hold zero images (``val_fraction=0``).
    num_classes : int
        Number of labels in the task (2 for one-vs-rest and two-class tasks).
    class_names : list of str
        Name of each label of the task, in label order.
    mean, std : list of float
        Per-channel statistics of the training split (in [0, 1] pixel units) used to normalise;
        keep them with a model to normalise new images the same way.
    skipped : list of str
        Image files left out because they could not be decoded (``"path: reason"``).
    params : dict
        The loader arguments, for result files.
    source : dict
        Where the images came from (files or folder), and the original class names.
    """

    name: str
    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    num_classes: int
    class_names: list[str]
    mean: list[float]
    std: list[float]
    skipped: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width)."""
        return tuple(self.train[0].shape[1:])  # type: ignore[return-value]

    @property
    def in_channels(self) -> int:
        return int(self.train[0].shape[1])

    @property
    def input_size(self) -> int:
        return int(self.train[0].shape[-1])

    def to_dict(self) -> dict[str, Any]:
        """Description for result files (no pixel data)."""
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "image_shape": list(self.image_shape),
            "sizes": {
                "train": len(self.train[1]),
                "val": len(self.val[1]),
                "test": len(self.test[1]),
            },
            "class_counts": {
                split: np.bincount(y.numpy(), minlength=self.num_classes).tolist()
                for split, (_, y) in (("train", self.train), ("val", self.val), ("test", self.test))
            },
            "mean": self.mean,
            "std": self.std,
            "skipped": len(self.skipped),
            "params": self.params,
            "source": self.source,
        }

    def __repr__(self) -> str:
        c, h, w = self.image_shape
        return (
            f"ImageDataset({self.name!r}, {self.num_classes} classes, {c}x{h}x{w}, "
            f"train/val/test = {len(self.train[1])}/{len(self.val[1])}/{len(self.test[1])})"
        )


@dataclass
class _Raw:
    """Images as read from disk, before task selection and splitting."""

    images: np.ndarray  # (N, C, H, W) uint8, or float in [0, 1]
    labels: np.ndarray  # (N,) int64
    class_names: list[str]
    test_images: np.ndarray | None = None  # the official test split, if the data set has one
    test_labels: np.ndarray | None = None
    source: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# IDX (Fashion-MNIST)
# --------------------------------------------------------------------------------------------

_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    """File contents, gunzipped when the name ends in .gz; faults name the file."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file.") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataFileError(
            f"{path}: truncated or corrupt gzip data ({error}); download the file again."
        ) from None
    except OSError as error:
        raise DataFileError(f"{path}: cannot read ({error}).") from None


def read_idx(path: str | os.PathLike[str], *, expect_ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (the MNIST / Fashion-MNIST format), gzipped or not.

    Layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, one
    big-endian int32 per dimension, then the values in C order.

    Parameters
    ----------
    path : path-like
        ``*-idx3-ubyte`` (images: 3 dimensions) or ``*-idx1-ubyte`` (labels: 1), optionally ``.gz``.
    expect_ndim : int or None, default=None
        Required number of dimensions (3 for images, 1 for labels).

    Raises
    ------
    DataFileError
        Missing or truncated file, bad magic number, wrong number of dimensions, or a data
        length that disagrees with the header.
    """
    file = Path(path)
    data = _read_bytes(file)
    if len(data) < 4:
        raise DataFileError(f"{file}: only {len(data)} bytes; too short for an IDX header.")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or code not in _IDX_DTYPES:
        raise DataFileError(
            f"{file}: bad IDX magic number 0x{int.from_bytes(data[:4], 'big'):08x} (expected "
            "0x00000801 for labels or 0x00000803 for images); not an IDX file or corrupt."
        )
    if expect_ndim is not None and ndim != expect_ndim:
        kind = "images (idx3)" if expect_ndim == 3 else "labels (idx1)"
        raise DataFileError(
            f"{file}: IDX magic number 0x{int.from_bytes(data[:4], 'big'):08x} says {ndim} "
            f"dimension(s); {kind} need {expect_ndim}. Are the image and label files swapped?"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFileError(f"{file}: truncated IDX header ({len(data)} bytes, need {header}).")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        raise DataFileError(
            f"{file}: wrong length: the header promises shape {shape} ({expected:,} bytes of "
            f"data) but the file holds {actual:,}; it is truncated or corrupt. Download it again."
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_file(folders: Sequence[Path], stem: str) -> Path | None:
    for folder in folders:
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                return candidate
    return None


def _missing(what: str, data_dir: Path, looked: Sequence[Path], key: str) -> DataFileError:
    places = ", ".join(str(p) for p in looked)
    return DataFileError(
        f"{what} not found (looked in {places}). Put the files there, or pass "
        f"--data-dir DIR / data_dir=DIR; with a network, bettiscope.datasets.download."
        f"download({key!r}, {str(data_dir)!r}) fetches and verifies them."
    )


def read_fashion_mnist(data_dir: str | os.PathLike[str]) -> _Raw:
    """Read Fashion-MNIST's four IDX files from ``data_dir`` (or its ``fashion-mnist/`` etc.)."""
    root = Path(data_dir)
    folders = [
        root,
        root / "fashion-mnist",
        root / "fashion_mnist",
        root / "FashionMNIST" / "raw",
        root / "fashion",
    ]
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    files = {}
    for split, (image_stem, label_stem) in _FASHION_FILES.items():
        image_file = _find_file(folders, image_stem)
        label_file = _find_file(folders, label_stem)
        for stem, found in ((image_stem, image_file), (label_stem, label_file)):
            if found is None:
                raise _missing(f"Fashion-MNIST file {stem}.gz", root, folders[:2], "fashion-mnist")
        assert image_file is not None and label_file is not None  # for type checkers
        images = read_idx(image_file, expect_ndim=3)
        # other sizes would train (as 1xHxW) and give a model that fits no real Fashion-MNIST
        if images.shape[1:] != (28, 28):
            raise DataFileError(
                f"{image_file}: images are {images.shape[1]}x{images.shape[2]}; Fashion-MNIST's "
                "are 28x28. Not Fashion-MNIST or corrupt: download the files again."
            )
        labels = read_idx(label_file, expect_ndim=1)
        if len(images) != len(labels):
            raise DataFileError(
                f"{label_file}: {len(labels):,} labels but {image_file.name} holds "
                f"{len(images):,} images; the two files must come from the same split."
            )
        if labels.size and labels.max() >= len(FASHION_CLASSES):
            raise DataFileError(
                f"{label_file}: label {int(labels.max())} is out of range 0-9; corrupt file."
            )
        arrays[split] = (images[:, None, :, :], labels.astype(np.int64))  # (N, 1, 28, 28)
        files[split] = [str(image_file), str(label_file)]
    raw = _Raw(
        images=arrays["train"][0],
        labels=arrays["train"][1],
        class_names=list(FASHION_CLASSES),
        test_images=arrays["test"][0],
        test_labels=arrays["test"][1],
        source={"files": files},
    )
    _check_split_shapes(raw, files["train"][0], files["test"][0])
    return raw


def _check_split_shapes(raw: _Raw, train_where: str, test_where: str) -> None:
    """Train and official test images of one shape, or a DataFileError naming both sources.

    A model built for the training images cannot evaluate test images of another size.
    """
    if raw.test_images is None or raw.test_images.shape[1:] == raw.images.shape[1:]:
        return
    raise DataFileError(
        f"{test_where}: test images have shape {raw.test_images.shape[1:]} but the training "
        f"images ({train_where}) have {raw.images.shape[1:]}; both splits must come from the "
        "same data set."
    )


# --------------------------------------------------------------------------------------------
# CIFAR-10 pickle batches
# --------------------------------------------------------------------------------------------

_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST = "test_batch"


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickle only plain containers and NumPy arrays: a data file must not run code."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def _unpickle_batch(data: bytes, where: str) -> dict[str, Any]:
    try:
        batch = _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as error:  # pickle raises many types on garbage
        raise DataFileError(
            f"{where}: not a readable CIFAR-10 pickle batch ({type(error).__name__}: {error}); "
            "the file is truncated or corrupt. Download cifar-10-python.tar.gz again."
        ) from None
    if not isinstance(batch, dict):
        raise DataFileError(
            f"{where}: a CIFAR-10 batch must be a dict; got {type(batch).__name__}."
        )
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in batch.items()}


def _cifar_arrays(batch: dict[str, Any], where: str) -> tuple[np.ndarray, np.ndarray]:
    if "data" not in batch or "labels" not in batch:
        raise DataFileError(
            f"{where}: a CIFAR-10 batch needs 'data' and 'labels'; found {sorted(batch)}."
        )
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"])
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataFileError(
            f"{where}: 'data' must have shape (N, 3072) (32x32 RGB); got {data.shape}."
        )
    if labels.ndim != 1 or len(labels) != len(data):
        raise DataFileError(
            f"{where}: {labels.size:,} labels for {len(data):,} images; they must match."
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataFileError(f"{where}: labels must be 0-9; found {labels.min()}..{labels.max()}.")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), labels.astype(np.int64)


def read_cifar10(data_dir: str | os.PathLike[str]) -> _Raw:
    """Read CIFAR-10 from ``cifar-10-batches-py/`` or ``cifar-10-python.tar.gz`` in ``data_dir``."""
    root = Path(data_dir)
    folder = next(
        (
            f
            for f in (root / "cifar-10-batches-py", root)
            if (f / _CIFAR_TEST).is_file() or (f / "data_batch_1").is_file()
        ),
        None,
    )
    archive = next(
        (f for f in (root / "cifar-10-python.tar.gz", root) if f.is_file()),
        None,
    )
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    label_names: list[str] = list(CIFAR10_CLASSES)
    if folder is not None:
        for name in (*_CIFAR_TRAIN, _CIFAR_TEST):
            path = folder / name
            if not path.is_file():
                raise DataFileError(
                    f"{path}: missing CIFAR-10 batch (a complete cifar-10-batches-py/ has "
                    f"{', '.join(_CIFAR_TRAIN)} and {_CIFAR_TEST})."
                )
            batches[name] = _cifar_arrays(_unpickle_batch(_read_bytes(path), str(path)), str(path))
        source: dict[str, Any] = {"folder": str(folder)}
    elif archive is not None:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
                for name in (*_CIFAR_TRAIN, _CIFAR_TEST):
                    if name not in members:
                        raise DataFileError(
                            f"{archive}: the archive has no {name}; not the CIFAR-10 python "
                            "version (cifar-10-python.tar.gz)."
                        )
                    handle = tar.extractfile(members[name])
                    where = f"{archive}:{members[name].name}"
                    data = handle.read() if handle is not None else b""
                    batches[name] = _cifar_arrays(_unpickle_batch(data, where), where)
        except DataFileError:
            raise
        except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
            raise DataFileError(
                f"{archive}: not a readable .tar.gz archive ({error}); it is truncated or "
                "corrupt. Download cifar-10-python.tar.gz again."
            ) from None
        source = {"archive": str(archive)}
    else:
        raise _missing(
            "CIFAR-10 (cifar-10-batches-py/ or cifar-10-python.tar.gz)", root, [root], "cifar10"
        )
    train = [batches[name] for name in _CIFAR_TRAIN]
    raw = _Raw(
        images=np.concatenate([b[0] for b in train]),
        labels=np.concatenate([b[1] for b in train]),
        class_names=label_names,
        test_images=batches[_CIFAR_TEST][0],
        test_labels=batches[_CIFAR_TEST][1],
        source=source,
    )
    # every batch is (N, 3072) -> 3x32x32 already; kept so a change there cannot slip through
    where = str(source.get("folder") or source.get("archive"))
    _check_split_shapes(raw, f"{where} {', '.join(_CIFAR_TRAIN)}", f"{where} {_CIFAR_TEST}")
    return raw


# --------------------------------------------------------------------------------------------
# image folders (cat-vs-dog and users' own)
# --------------------------------------------------------------------------------------------


def _is_image(path: Path) -> bool:
    return (
        path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    )


def _folder_index(folder: Path) -> tuple[list[Path], list[str], str]:
    """Image files, their class names, and the layout ("subfolders" or "prefix")."""
    if not folder.is_dir():
        raise DataFileError(f"{folder}: no such folder of images.")
    subfolders = sorted(
        d for d in folder.iterdir() if d.is_dir() and any(_is_image(f) for f in d.iterdir())
    )
    if subfolders:
        files, names = [], []
        for sub in subfolders:
            for f in sorted(sub.iterdir()):
                if _is_image(f):
                    files.append(f)
                    names.append(sub.name)
        return files, names, "subfolders"
    files = sorted(f for f in folder.iterdir() if _is_image(f))
    if not files:
        raise DataFileError(
            f"{folder}: no .jpg/.jpeg/.png images, neither in the folder (named like "
            "cat.1.jpg) nor in one subfolder per class."
        )
    names = [f.name.split(".")[0] for f in files]
    unlabelled = [
        f.name for f, n in zip(files, names, strict=True) if not re.search(r"[A-Za-z]", n)
    ]
    if unlabelled:
        raise DataFileError(
            f"{folder}: {len(unlabelled)} image(s) have no class prefix (e.g. {unlabelled[0]}); "
            "name files <class>.<anything>.jpg (cat.1.jpg) or use one subfolder per class."
        )
    return files, names, "prefix"


def _decode(path: Path, size: int) -> np.ndarray:
    """One image as (3, size, size) uint8; raises on any decoding fault."""
    from PIL import Image

    with Image.open(path) as opened:
        opened.draft("RGB", (size, size))  # JPEG: decode at reduced scale, much faster
        image = opened.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)


def read_image_folder(
    folder: str | os.PathLike[str],
    *,
    image_size: int = 64,
    select: Callable[[list[str]], np.ndarray] | None = None,
    progress: ProgressFn | None = None,
) -> _Raw:
    """Read a folder of labelled images, skipping (and counting) undecodable ones.

    Parameters
    ----------
    folder : path-like
        Either images named ``<class>.<anything>.jpg`` side by side, or one subfolder per class.
        Other files (``Thumbs.db``, hidden files) are ignored.
    image_size : int, default=64
        Images are converted to RGB and resized to ``image_size`` x ``image_size`` pixels.
    select : callable or None, default=None
        Given the class name of every file, returns the indices of the files to decode
        (:func:`load_image_dataset` passes its class selection and ``limit`` here so that only
        the images it uses are decoded).
    progress : callable(stage, done, total) or None

    Raises
    ------
    DataFileError
        No folder, no image files, files without a class, fewer than two classes, or no image
        that can be decoded.

    Warns
    -----
    SkippedImageWarning
        Once, if some images could not be decoded; they are listed in ``skipped``.
    """
    root = Path(folder)
    files, names, layout = _folder_index(root)
    class_names = sorted(set(names))
    if len(class_names) < 2:
        raise DataFileError(
            f"{root}: found only the class {class_names[0]!r}; a classification task needs at "
            "least two (cat.*.jpg and dog.*.jpg, or two subfolders)."
        )
    label_of = {name: i for i, name in enumerate(class_names)}
    all_labels = np.array([label_of[n] for n in names], dtype=np.int64)
    chosen = np.arange(len(files)) if select is None else np.asarray(select(names), dtype=np.int64)
    images, labels, skipped = [], [], []
    for done, index in enumerate(chosen, start=1):
        try:
            images.append(_decode(files[index], image_size))
            labels.append(all_labels[index])
        except Exception as error:  # PIL raises OSError, SyntaxError, ValueError, bomb errors...
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            skipped.append(f"{files[index]}: {reason}")
        if progress is not None:
            progress("decode images", done, len(chosen))
    if not images:
        raise DataFileError(
            f"{root}: none of the {len(chosen)} image file(s) could be decoded "
            f"(first: {skipped[0] if skipped else 'none selected'})."
        )
    if skipped:
        warnings.warn(
            f"{root}: skipped {len(skipped)} of {len(chosen)} image(s) that could not be "
            f"decoded (first: {skipped[0]}).",
            SkippedImageWarning,
            stacklevel=3,
        )
    return _Raw(
        images=np.stack(images),
        labels=np.array(labels, dtype=np.int64),
        class_names=class_names,
        source={"folder": str(root), "layout": layout, "files_found": len(files)},
        skipped=skipped,
    )


def _cat_vs_dog_folder(data_dir: Path) -> Path:
    candidates = [
        data_dir / "PetImages",
        data_dir / "cat-vs-dog",
        data_dir / "cats-vs-dogs",
        data_dir / "dogs-vs-cats" / "train",
        data_dir / "train",
        data_dir,
    ]
    for folder in candidates:
        if not folder.is_dir():
            continue
        if any(
            _is_image(f) and f.name.lower().startswith(("cat.", "dog.")) for f in folder.iterdir()
        ):
            return folder
        subs = {d.name.lower() for d in folder.iterdir() if d.is_dir()}
        if {"cat", "dog"} <= subs:
            return folder
    raise DataFileError(
        f"cat-vs-dog images not found (looked in {', '.join(str(c) for c in candidates[:5])} "
        f"and {data_dir} itself for cat.*.jpg/dog.*.jpg or Cat/ and Dog/ subfolders). Unzip "
        "Microsoft's kagglecatsanddogs_5340.zip (PetImages/) or Kaggle's dogs-vs-cats train.zip "
        "there, or with a network run bettiscope.datasets.download.download('cat-vs-dog', "
        f"{str(data_dir)!r})."
    )


# --------------------------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------------------------


def _read_digits() -> _Raw:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Pixel values are counts 0..16; scale to [0, 1] like the 8-bit data sets.
    images = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]  # (1797, 1, 8, 8)
    return _Raw(
        images=images,
        labels=digits.target.astype(np.int64),
        class_names=[str(c) for c in digits.target_names],
        source={"sklearn": "load_digits"},
    )


# --------------------------------------------------------------------------------------------
# task selection, subsetting, splitting, normalisation
# --------------------------------------------------------------------------------------------


def _resolve_classes(classes: Sequence[int | str] | None, class_names: list[str]) -> list[int]:
    """Class selection as original label indices; accepts indices or names."""
    if classes is None:
        return list(range(len(class_names)))
    if isinstance(classes, (str, int)):
        classes = [classes]
    lowered = {name.lower(): i for i, name in enumerate(class_names)}
    resolved = []
    for item in classes:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            index = int(item)
        elif isinstance(item, str) and item.strip().lower() in lowered:
            index = lowered[item.strip().lower()]
        elif isinstance(item, str) and item.strip().lstrip("-").isdigit():
            index = int(item.strip())
        else:
            index = -1
        if not 0 <= index < len(class_names):
            choices = ", ".join(f"{i}={n}" for i, n in enumerate(class_names))
            raise ValueError(
                f"load_image_dataset: unknown class {item!r}; classes are {choices} "
                "(give indices or names)."
            )
        resolved.append(index)
    if len(set(resolved)) != len(resolved):
        raise ValueError(f"load_image_dataset: classes {list(classes)} lists a class twice.")
    return resolved


def _task_labels(
    labels: np.ndarray, selected: list[int], n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """(mask of images kept, new labels) for the task the selection describes."""
    if len(selected) == 1:  # one class against the rest: positive = 1
        return np.ones(len(labels), dtype=bool), (labels == selected[0]).astype(np.int64)
    mapping = np.full(n_classes, -1, dtype=np.int64)
    mapping[selected] = np.arange(len(selected))
    new = mapping[labels]
    return new >= 0, new


def _task_names(selected: list[int], class_names: list[str]) -> list[str]:
    if len(selected) == 1:
        return [f"not {class_names[selected[0]]}", class_names[selected[0]]]
    return [class_names[i] for i in selected]


def _subset(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` of ``n`` indices at random, in increasing order (keeps file order stable)."""
    return np.sort(rng.choice(n, size=size, replace=False)) if size < n else np.arange(n)


def _split(
    labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified seeded split: (kept, held-out) indices; held-out ~ fraction of each class."""
    n = len(labels)
    n_out = round(fraction * n)
    if fraction > 0 and n >= 2:
        n_out = min(max(n_out, 1), n - 1)
    if n_out == 0:
        return np.arange(n), np.arange(0)
    held = []
    # Per class, a share proportional to its size; largest remainders fill up to n_out.
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * n_out / n
    take = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - take), kind="stable")[: n_out - take.sum()]:
        take[i] += 1
    for cls, k in zip(classes, take, strict=True):
        members = np.flatnonzero(labels == cls)
        held.append(rng.permutation(members)[:k])
    held_out = np.sort(np.concatenate(held))
    kept = np.setdiff1d(np.arange(n), held_out)
    return kept, held_out


def _to_float(images: np.ndarray, size: int | None) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(images))
    x = x.float() / 255.0 if images.dtype == np.uint8 else x.float()
    if size is not None and x.shape[-1] != size and len(x):
        x = functional.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return x


def load_image_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    classes: Sequence[int | str] | None = None,
    limit: int | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    image_size: int | None = None,
    progress: ProgressFn | None = None,
) -> ImageDataset:
    """Load an image data set as a seeded, split, normalised classification task.

    Parameters
    ----------
    name : str
        ``"digits"``, ``"fashion-mnist"``, ``"cifar10"``, ``"cat-vs-dog"``, or a folder path.
    data_dir : path-like or None, default=None
        Where the files are; ``None`` means :func:`default_data_dir`. Unused for digits and
        folder paths.
    classes : sequence of int or str, or None, default=None
        ``None``: all classes. One class (``[0]``): that class (label 1) against all others
        (label 0). Two or more (``[3, 5]``): only those classes, relabelled ``0, 1, ...`` in the
        order given. Indices or class names.
    limit : int or None, default=None
        Use at most this many images in total (train + val + test), drawn at random with
        ``seed``; official test sets shrink in proportion. For quick runs.
    seed : int, default=0
        Seeds the subset and the splits.
    val_fraction : float, default=0.1
        Share of the training pool held out for validation (stratified by class); 0 for none.
    test_fraction : float, default=0.2
        Share held out for testing when the data set has no official test split (digits,
        folders); ignored for Fashion-MNIST and CIFAR-10.
    image_size : int or None, default=None
        Side in pixels. ``None``: native size (8, 28, 32) and 64 for folders. Other sizes
        resize (bilinear, antialiased).
    progress : callable(stage, done, total) or None, default=None
        Called while decoding image folders.

    Returns
    -------
    ImageDataset

    Raises
    ------
    ValueError
        Unknown name, bad parameter, unknown class.
    DataFileError
        Missing, truncated or corrupt files (the message names the file and the fault).
    """
    caller = "load_image_dataset"
    check_param("seed", seed, Interval(int, 0, None), caller=caller)
    check_param("val_fraction", val_fraction, Interval(float, 0, 1, closed="left"), caller=caller)
    check_param(
        "test_fraction", test_fraction, Interval(float, 0, 1, closed="neither"), caller=caller
    )
    if limit is not None:
        check_param("limit", limit, Interval(int, 2, None), caller=caller)
    if image_size is not None:
        check_param("image_size", image_size, Interval(int, 4, 1024), caller=caller)
    if not isinstance(name, (str, os.PathLike)) or not str(name).strip():
        raise ValueError(f"{caller}: name must be a data set name or a folder; got {name!r}.")
    key = str(name).strip()
    key = _ALIASES.get(key.lower(), key.lower() if key.lower() in IMAGE_DATASETS else key)
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    rng = np.random.default_rng(seed)

    if key in ("cat-vs-dog",) or key not in IMAGE_DATASETS:
        if key == "cat-vs-dog":
            folder = _cat_vs_dog_folder(root)
        else:
            folder = Path(key).expanduser()
            if not folder.exists():
                raise ValueError(
                    f"{caller}: {name!r} is neither a data set ({', '.join(IMAGE_DATASETS)}) "
                    "nor an existing folder of images."
                )
        size = image_size or 64
        holder: dict[str, Any] = {}

        def select(file_classes: list[str]) -> np.ndarray:
            # Class selection and the limit act on file names, so only used images are decoded.
            names = sorted(set(file_classes))
            selected = _resolve_classes(classes, names)
            labels = np.array([names.index(c) for c in file_classes])
            keep, _ = _task_labels(labels, selected, len(names))
            indices = np.flatnonzero(keep)
            if limit is not None:
                indices = indices[_subset(len(indices), limit, rng)]
            holder["selected"] = selected
            return indices

        raw = read_image_folder(folder, image_size=size, select=select, progress=progress)
        selected = holder["selected"]
        keep, labels = _task_labels(raw.labels, selected, len(raw.class_names))
        images = raw.images[keep]
        labels = labels[keep]
        train_pool, test_idx = _split(labels, test_fraction, rng)
        test_images, test_labels = images[test_idx], labels[test_idx]
        images, labels = images[train_pool], labels[train_pool]
        image_size_used: int | None = None  # already resized while decoding
    else:
        if key == "digits":
            raw = _read_digits()
        elif key == "fashion-mnist":
            raw = read_fashion_mnist(root)
        else:
            raw = read_cifar10(root)
        selected = _resolve_classes(classes, raw.class_names)
        keep, labels = _task_labels(raw.labels, selected, len(raw.class_names))
        images, labels = raw.images[keep], labels[keep]
        if raw.test_images is not None and raw.test_labels is not None:
            test_keep, test_labels = _task_labels(raw.test_labels, selected, len(raw.class_names))
            test_images, test_labels = raw.test_images[test_keep], test_labels[test_keep]
            if limit is not None and limit < len(labels) + len(test_labels):
                n_test = max(1, round(limit * len(test_labels) / (len(labels) + len(test_labels))))
                test_idx = _subset(len(test_labels), n_test, rng)
                test_images, test_labels = test_images[test_idx], test_labels[test_idx]
                idx = _subset(len(labels), limit - n_test, rng)
                images, labels = images[idx], labels[idx]
        else:
            if limit is not None:
                idx = _subset(len(labels), limit, rng)
                images, labels = images[idx], labels[idx]
            train_pool, test_idx = _split(labels, test_fraction, rng)
            test_images, test_labels = images[test_idx], labels[test_idx]
            images, labels = images[train_pool], labels[train_pool]
        image_size_used = image_size

    train_idx, val_idx = _split(labels, val_fraction, rng)
    if len(train_idx) == 0:
        raise ValueError(f"{caller}: no training images left; raise limit or lower the fractions.")
    task_names = _task_names(selected, raw.class_names)
    absent = [name for c, name in enumerate(task_names) if not np.any(labels[train_idx] == c)]
    if absent:
        # a model can still be trained, but it can never predict these classes
        warnings.warn(
            f"{caller}: {len(absent)} of the {len(task_names)} classes have no training image "
            f"({', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''})"
            + (f"; limit={limit} is too small for them, raise it." if limit is not None else "."),
            stacklevel=2,
        )
    x_train = _to_float(images[train_idx], image_size_used)
    x_val = _to_float(images[val_idx], image_size_used)
    x_test = _to_float(test_images, image_size_used)
    # Normalise with the training split only, so nothing about val/test leaks into training.
    mean = x_train.mean(dim=(0, 2, 3))
    std = x_train.std(dim=(0, 2, 3)).clamp_min(1e-6)  # a constant channel must not divide by 0

    def norm(x: torch.Tensor) -> torch.Tensor:
        return (x - mean[None, :, None, None]) / std[None, :, None, None]

    def tensor(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))

    return ImageDataset(
        name=key if key in IMAGE_DATASETS else str(Path(key)),
        train=(norm(x_train), tensor(labels[train_idx])),
        val=(norm(x_val), tensor(labels[val_idx])),
        test=(norm(x_test), tensor(test_labels)),
        num_classes=len(task_names),
        class_names=task_names,
        mean=[float(v) for v in mean],
        std=[float(v) for v in std],
        skipped=raw.skipped,
        params={
            "name": str(name),
            "data_dir": None if key == "digits" or key not in IMAGE_DATASETS else str(root),
            "classes": None if classes is None else [raw.class_names[i] for i in selected],
            "class_indices": None if classes is None else selected,
            "limit": limit,
            "seed": seed,
            "val_fraction": val_fraction,
            "test_fraction": test_fraction if raw.test_images is None else None,
            "image_size": image_size,
        },
        source={**raw.source, "class_names": raw.class_names},
    )

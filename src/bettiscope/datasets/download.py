"""Fetch the paper's image data sets from their official sources, with checksum verification.

For users with a network. Each file is streamed to a temporary name beside its destination,
hashed while it arrives, and moved into place only if the checksum matches the published one, so
an interrupted or tampered download never leaves a file the loaders would trust. Without a
network the call fails with one :class:`DownloadError` naming the file, the URL and the fix.

Published checksums (where they come from):

* Fashion-MNIST: MD5 values in the "Get the Data" table of the data set's README,
  https://github.com/zalandoresearch/fashion-mnist (files served from the Zalando S3 site).
* CIFAR-10: MD5 of the python version on https://www.cs.toronto.edu/~kriz/cifar.html.
* Cat-vs-dog: the Microsoft "Kaggle Cats and Dogs" archive (the Asirra images of Kaggle's
  dogs-vs-cats), https://www.microsoft.com/en-us/download/details.aspx?id=54765. Microsoft
  publishes no checksum; the SHA-256 and size are those registered by Hugging Face Datasets in
  ``datasets/cats_vs_dogs/dataset_infos.json`` for ``kagglecatsanddogs_5340.zip``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bettiscope.storage import atomic_path

__all__ = ["SOURCES", "DownloadError", "RemoteFile", "download", "file_checksum", "verify_file"]


class DownloadError(OSError):
    """A file could not be fetched or failed its checksum; the message says which and what to do."""


@dataclass(frozen=True)
class RemoteFile:
    """One published file: where it lives, what it is called, and its published checksum."""

    url: str
    filename: str
    algorithm: str  # "md5" or "sha256", as published
    checksum: str
    size: int | None = None  # bytes, where published


_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

#: Data set name -> files to fetch. Checksums as published (see the module docstring).
SOURCES: dict[str, tuple[RemoteFile, ...]] = {
    "fashion-mnist": (
        RemoteFile(
            _FASHION + "train-images-idx3-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "md5",
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ),
        RemoteFile(
            _FASHION + "train-labels-idx1-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "md5",
            "25c81989df183df01b3e8a0aad5dffbe",
        ),
        RemoteFile(
            _FASHION + "t10k-images-idx3-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "md5",
            "bef4ecab320f06d8554ea6380940ec79",
        ),
        RemoteFile(
            _FASHION + "t10k-labels-idx1-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "md5",
            "bb300cfdad3c16e7a12a480ee83cd310",
        ),
    ),
    "cifar10": (
        RemoteFile(
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            "cifar-10-python.tar.gz",
            "md5",
            "c58f30108f718f92721af3b95e74349a",
        ),
    ),
    "cat-vs-dog": (
        RemoteFile(
            "https://download.microsoft.com/download/3/E/1/"
            "3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip",
            "kagglecatsanddogs_5340.zip",
            "sha256",
            "b7974bd00a84a99921f36ee4403f089853777b5ae8d151c76a86e64900334af9",
            size=824_887_076,
        ),
    ),
}

_CHUNK = 1 << 20  # 1 MiB


def file_checksum(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: str | os.PathLike[str], remote: RemoteFile) -> bool:
    """True if ``path`` exists and has the published checksum of ``remote``."""
    file = Path(path)
    return file.is_file() and file_checksum(file, remote.algorithm) == remote.checksum


def _fetch(
    remote: RemoteFile,
    destination: Path,
    *,
    timeout: float,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    digest = hashlib.new(remote.algorithm)
    try:
        with (
            urllib.request.urlopen(remote.url, timeout=timeout) as response,
            atomic_path(destination) as temporary,
        ):
            total = int(response.headers.get("Content-Length") or remote.size or 0)
            done = 0
            with open(temporary, "wb") as handle:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    handle.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(f"download {remote.filename}", done, total)
            if digest.hexdigest() != remote.checksum:
                # Raising inside atomic_path removes the temporary file: nothing is kept.
                raise DownloadError(
                    f"{remote.url}: downloaded {done:,} bytes but the {remote.algorithm.upper()} "
                    f"is {digest.hexdigest()}, not the published {remote.checksum}; the file "
                    "was discarded. Retry later, or fetch it by hand and check it."
                )
    except DownloadError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise DownloadError(
            f"could not download {remote.url} ({reason}). This machine may have no network: "
            f"fetch the file elsewhere and copy it to {destination}, then pass "
            f"--data-dir {destination.parent}."
        ) from None


def download(
    name: str,
    data_dir: str | os.PathLike[str],
    *,
    timeout: float = 60.0,
    extract: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """Download a data set's official files into ``data_dir`` and verify their checksums.

    Files already present with the right checksum are not fetched again.

    Parameters
    ----------
    name : {"fashion-mnist", "cifar10", "cat-vs-dog"}
        The data set ("digits" ships with scikit-learn and needs no download).
    data_dir : path-like
        Folder to put the files in (created if missing); later pass it as ``--data-dir``.
    timeout : float, default=60.0
        Seconds to wait for the server before giving up.
    extract : bool, default=True
        For cat-vs-dog, unpack the zip into ``data_dir/PetImages``. (Fashion-MNIST and
        CIFAR-10 are read straight from the downloaded ``.gz`` / ``.tar.gz`` files.)
    progress : callable(stage, done, total) or None, default=None
        Called with bytes received.

    Returns
    -------
    Path
        ``data_dir``.

    Raises
    ------
    ValueError
        Unknown data set name.
    DownloadError
        No network, a server error, or a checksum mismatch (the bad file is discarded).
    """
    key = name.strip().lower()
    if key not in SOURCES:
        hint = " digits ships with scikit-learn: nothing to download." if key == "digits" else ""
        raise ValueError(
            f"download: unknown data set {name!r}; choose one of {', '.join(SOURCES)}.{hint}"
        )
    folder = Path(data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(f"{folder}: cannot create the data folder ({error}).") from None
    for remote in SOURCES[key]:
        destination = folder / remote.filename
        if verify_file(destination, remote):
            continue
        _fetch(remote, destination, timeout=timeout, progress=progress)
    if key == "cat-vs-dog" and extract and not (folder / "PetImages").is_dir():
        archive = folder / SOURCES[key][0].filename
        try:
            with zipfile.ZipFile(archive) as handle:
                handle.extractall(folder / ".PetImages.partial")
            os.replace(folder / ".PetImages.partial" / "PetImages", folder / "PetImages")
        except (OSError, zipfile.BadZipFile) as error:
            raise DownloadError(f"{archive}: cannot unpack ({error}).") from None
        finally:
            shutil.rmtree(folder / ".PetImages.partial", ignore_errors=True)
    return folder

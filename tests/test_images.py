"""Image loaders: tiny files in each real format (IDX, CIFAR pickle batches, JPEG folders), and
every fault they can have; task selection, seeded splits, limit, train-only normalisation."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import urllib.error
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from PIL import Image

from bettiscope.datasets import download as dl
from bettiscope.datasets import images as images_module
from bettiscope.datasets.images import (
    SkippedImageWarning,
    load_image_dataset,
    read_cifar10,
    read_fashion_mnist,
    read_idx,
    read_image_folder,
)
from bettiscope.storage import DataFileError

# --------------------------------------------------------------------------------------------
# writers for the real formats
# --------------------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray, *, magic: bytes | None = None) -> bytes:
    """An IDX file: 0x0000, type 0x08 (ubyte), ndim, big-endian dims, data."""
    header = magic if magic is not None else bytes([0, 0, 0x08, array.ndim])
    dims = b"".join(struct.pack(">I", d) for d in array.shape)
    return header + dims + array.astype(np.uint8).tobytes()


def write_gz(path: Path, data: bytes) -> Path:
    with gzip.open(path, "wb") as handle:
        handle.write(data)
    return path


def make_fashion(folder: Path, n_train: int = 40, n_test: int = 20, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = np.arange(n) % 10
        write_gz(folder / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images))
        write_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels))
    return folder


def cifar_batch(n: int, rng: np.random.Generator) -> bytes:
    # The layout of the official python batches: bytes keys, (n, 3072) uint8 data, list labels.
    batch = {
        b"batch_label": b"testing batch",
        b"labels": [int(i % 10) for i in range(n)],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    return pickle.dumps(batch, protocol=2)


CIFAR_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def make_cifar_folder(root: Path, n: int = 10, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in CIFAR_NAMES:
        (folder / name).write_bytes(cifar_batch(n, rng))
    return root


def make_cifar_tar(root: Path, n: int = 10, seed: int = 0, skip: str | None = None) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    archive = root / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in CIFAR_NAMES:
            if name == skip:
                continue
            data = cifar_batch(n, rng)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


def jpeg(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> Path:
    Image.new("RGB", size, color).save(path, format="JPEG")
    return path


def make_flat_folder(folder: Path, n_per_class: int = 6) -> Path:
    folder.mkdir(parents=True)
    for i in range(n_per_class):
        jpeg(folder / f"cat.{i}.jpg", (200, 30, 30))
        jpeg(folder / f"dog.{i}.jpg", (30, 30, 200))
    return folder


def make_class_folders(folder: Path, n_per_class: int = 6) -> Path:
    for name, color in (("Cat", (200, 30, 30)), ("Dog", (30, 30, 200))):
        (folder / name).mkdir(parents=True)
        for i in range(n_per_class):
            jpeg(folder / name / f"{i}.jpg", color)
    (folder / "Cat" / "Thumbs.db").write_bytes(b"not an image, ignored")
    return folder


# --------------------------------------------------------------------------------------------
# IDX / Fashion-MNIST
# --------------------------------------------------------------------------------------------


class TestIdx:
    def test_reads_gz_and_plain(self, tmp_path):
        array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
        gz = write_gz(tmp_path / "a-idx3-ubyte.gz", idx_bytes(array))
        plain = tmp_path / "b-idx3-ubyte"
        plain.write_bytes(idx_bytes(array))
        np.testing.assert_array_equal(read_idx(gz, expect_ndim=3), array)
        np.testing.assert_array_equal(read_idx(plain), array)

    def test_bad_magic(self, tmp_path):
        path = write_gz(
            tmp_path / "x.gz", idx_bytes(np.zeros((2, 2, 2)), magic=b"\x12\x34\x08\x03")
        )
        with pytest.raises(DataFileError, match=r"x\.gz: bad IDX magic number 0x12340803"):
            read_idx(path)

    def test_wrong_ndim_names_swapped_files(self, tmp_path):
        path = write_gz(tmp_path / "labels.gz", idx_bytes(np.zeros(5)))
        with pytest.raises(DataFileError, match=r"says 1 dimension.*need 3.*swapped"):
            read_idx(path, expect_ndim=3)

    def test_wrong_length(self, tmp_path):
        data = idx_bytes(np.zeros((3, 4, 4)))[:-7]  # 7 bytes short
        path = write_gz(tmp_path / "short.gz", data)
        with pytest.raises(DataFileError, match=r"short\.gz: wrong length.*\(3, 4, 4\).*41"):
            read_idx(path)

    def test_truncated_gzip(self, tmp_path):
        good = write_gz(tmp_path / "g.gz", idx_bytes(np.zeros((50, 8, 8))))
        cut = tmp_path / "cut.gz"
        cut.write_bytes(good.read_bytes()[:30])
        with pytest.raises(DataFileError, match=r"cut\.gz: truncated or corrupt gzip"):
            read_idx(cut)

    def test_too_short_header(self, tmp_path):
        path = tmp_path / "tiny"
        path.write_bytes(b"\x00\x00")
        with pytest.raises(DataFileError, match="too short for an IDX header"):
            read_idx(path)


class TestFashionMnist:
    def test_load(self, tmp_path):
        make_fashion(tmp_path / "fashion-mnist")  # found in the subfolder too
        raw = read_fashion_mnist(tmp_path)
        assert raw.images.shape == (40, 1, 28, 28) and raw.images.dtype == np.uint8
        assert raw.test_images.shape == (20, 1, 28, 28)
        assert raw.class_names[9] == "Ankle boot"
        ds = load_image_dataset("fashion-mnist", data_dir=tmp_path, val_fraction=0.25)
        assert ds.image_shape == (1, 28, 28) and ds.num_classes == 10
        assert (len(ds.train[1]), len(ds.val[1]), len(ds.test[1])) == (30, 10, 20)

    def test_missing_file(self, tmp_path):
        make_fashion(tmp_path)
        (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
        with pytest.raises(DataFileError, match=r"t10k-labels-idx1-ubyte\.gz not found.*download"):
            load_image_dataset("fashion-mnist", data_dir=tmp_path)

    def test_count_mismatch(self, tmp_path):
        make_fashion(tmp_path)
        write_gz(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(39)))
        with pytest.raises(
            DataFileError, match=r"train-labels-idx1-ubyte\.gz: 39 labels but .* 40 images"
        ):
            read_fashion_mnist(tmp_path)

    def test_label_out_of_range(self, tmp_path):
        make_fashion(tmp_path)
        write_gz(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.full(20, 12)))
        with pytest.raises(DataFileError, match="label 12 is out of range"):
            read_fashion_mnist(tmp_path)

    @pytest.mark.parametrize(("prefix", "shape"), [("train", (40, 32, 32)), ("t10k", (20, 20, 20))])
    def test_refuses_images_that_are_not_28x28(self, tmp_path, prefix, shape):
        # 32x32 everywhere trained as 1x32x32; 28x28 train with 20x20 test was accepted too
        make_fashion(tmp_path)
        if prefix == "train":
            write_gz(tmp_path / "t10k-images-idx3-ubyte.gz", idx_bytes(np.zeros((20, 32, 32))))
        write_gz(tmp_path / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(np.zeros(shape)))
        side = f"{shape[1]}x{shape[2]}"
        match = rf"{prefix}-images-idx3-ubyte\.gz: images are {side}; Fashion-MNIST's are 28x28"
        with pytest.raises(DataFileError, match=match):
            load_image_dataset("fashion-mnist", data_dir=tmp_path)

    def test_train_and_test_shapes_must_agree(self):
        raw = images_module._Raw(
            images=np.zeros((4, 1, 28, 28), np.uint8),
            labels=np.zeros(4, np.int64),
            class_names=["a"],
            test_images=np.zeros((2, 1, 20, 20), np.uint8),
            test_labels=np.zeros(2, np.int64),
        )
        match = r"t\.gz: test images have shape \(1, 20, 20\) but the training images \(a\.gz\)"
        with pytest.raises(DataFileError, match=match):
            images_module._check_split_shapes(raw, "a.gz", "t.gz")
        raw.test_images = np.zeros((2, 1, 28, 28), np.uint8)
        images_module._check_split_shapes(raw, "a.gz", "t.gz")  # same shape: fine

    @pytest.mark.filterwarnings("ignore:.*no training image")  # 30 images, 10 classes
    def test_limit_keeps_test_proportion(self, tmp_path):
        make_fashion(tmp_path, n_train=60, n_test=30)
        ds = load_image_dataset("fashion-mnist", data_dir=tmp_path, limit=30, val_fraction=0.2)
        sizes = (len(ds.train[1]), len(ds.val[1]), len(ds.test[1]))
        assert sum(sizes) == 30 and sizes[2] == 10  # 30 * 30/90

    def test_classes_without_training_images_are_warned_about(self):
        with pytest.warns(UserWarning, match=r"classes have no training image .*limit=5 is too"):
            ds = load_image_dataset("digits", limit=5, val_fraction=0.0)
        assert len(set(ds.train[1].tolist())) < ds.num_classes == 10
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # every class present: no warning
            load_image_dataset("digits", limit=400, classes=[3, 5])


# --------------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------------


class TestCifar:
    def test_folder_and_tar_agree(self, tmp_path):
        raw_dir = read_cifar10(make_cifar_folder(tmp_path / "a"))
        raw_tar = read_cifar10(make_cifar_tar(tmp_path / "b").parent)
        assert raw_dir.images.shape == (50, 3, 32, 32) and raw_dir.test_images.shape[0] == 10
        np.testing.assert_array_equal(raw_dir.images, raw_tar.images)
        np.testing.assert_array_equal(raw_dir.test_labels, raw_tar.test_labels)
        # Channel-planar rows: the first 1024 bytes of a row are the red plane.
        assert raw_dir.images[0, 0, 0, 0] == raw_dir.images.reshape(50, -1)[0, 0]

    def test_tar_path_as_data_dir(self, tmp_path):
        archive = make_cifar_tar(tmp_path)
        ds = load_image_dataset("cifar10", data_dir=archive, classes=["cat", "dog"])
        assert ds.class_names == ["cat", "dog"] and ds.image_shape == (3, 32, 32)
        assert set(ds.train[1].tolist()) == {0, 1}

    def test_unpicklable_batch(self, tmp_path):
        make_cifar_folder(tmp_path)
        bad = tmp_path / "cifar-10-batches-py" / "data_batch_3"
        bad.write_bytes(bad.read_bytes()[:100])
        with pytest.raises(DataFileError, match=r"data_batch_3: not a readable CIFAR-10 pickle"):
            read_cifar10(tmp_path)

    def test_refuses_code_in_pickle(self, tmp_path):
        make_cifar_folder(tmp_path)
        evil = pickle.dumps({b"data": print, b"labels": []})
        (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(evil)
        with pytest.raises(DataFileError, match=r"refusing to load builtins\.print"):
            read_cifar10(tmp_path)

    def test_count_mismatch(self, tmp_path):
        make_cifar_folder(tmp_path)
        rng = np.random.default_rng(1)
        batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [1, 2, 3]}
        (tmp_path / "cifar-10-batches-py" / "data_batch_2").write_bytes(pickle.dumps(batch))
        with pytest.raises(DataFileError, match=r"data_batch_2: 3 labels for 4 images"):
            read_cifar10(tmp_path)

    def test_wrong_image_shape(self, tmp_path):
        make_cifar_folder(tmp_path)
        batch = {b"data": np.zeros((2, 100), dtype=np.uint8), b"labels": [0, 1]}
        (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(batch))
        with pytest.raises(DataFileError, match=r"test_batch: 'data' must have shape \(N, 3072\)"):
            read_cifar10(tmp_path)

    def test_missing_batch_in_folder(self, tmp_path):
        make_cifar_folder(tmp_path)
        (tmp_path / "cifar-10-batches-py" / "data_batch_5").unlink()
        with pytest.raises(DataFileError, match=r"data_batch_5: missing CIFAR-10 batch"):
            read_cifar10(tmp_path)

    def test_missing_member_in_tar(self, tmp_path):
        make_cifar_tar(tmp_path, skip="test_batch")
        with pytest.raises(DataFileError, match=r"archive has no test_batch"):
            read_cifar10(tmp_path)

    def test_truncated_tar(self, tmp_path):
        archive = make_cifar_tar(tmp_path, n=200)
        archive.write_bytes(archive.read_bytes()[:2000])
        with pytest.raises(DataFileError, match=r"cifar-10-python\.tar\.gz: not a readable"):
            read_cifar10(tmp_path)

    def test_nothing_there(self, tmp_path):
        with pytest.raises(DataFileError, match=r"CIFAR-10 .* not found.*download\('cifar10'"):
            load_image_dataset("cifar10", data_dir=tmp_path)


# --------------------------------------------------------------------------------------------
# JPEG folders
# --------------------------------------------------------------------------------------------


class TestFolders:
    def test_flat_prefix_layout(self, tmp_path):
        folder = make_flat_folder(tmp_path / "train")
        ds = load_image_dataset("cat-vs-dog", data_dir=tmp_path, image_size=16, val_fraction=0.25)
        assert ds.class_names == ["cat", "dog"] and ds.image_shape == (3, 16, 16)
        assert ds.source["layout"] == "prefix" and ds.source["folder"] == str(folder)
        assert sum(len(s[1]) for s in (ds.train, ds.val, ds.test)) == 12
        # Cats are red, dogs blue: the label must follow the file name.
        red_minus_blue = ds.train[0][:, 0].mean(dim=(1, 2)) - ds.train[0][:, 2].mean(dim=(1, 2))
        assert torch.all((red_minus_blue > 0) == (ds.train[1] == 0))

    def test_subfolder_layout_default_size(self, tmp_path):
        make_class_folders(tmp_path / "PetImages")
        ds = load_image_dataset("cat-vs-dog", data_dir=tmp_path)
        assert ds.class_names == ["Cat", "Dog"] and ds.image_shape == (3, 64, 64)
        assert ds.source["layout"] == "subfolders" and ds.skipped == []

    def test_folder_path_as_name(self, tmp_path):
        make_class_folders(tmp_path / "mine")
        ds = load_image_dataset(str(tmp_path / "mine"), image_size=8, classes=["dog"])
        assert ds.class_names == ["not Dog", "Dog"]

    def test_corrupt_jpeg_is_skipped_and_counted(self, tmp_path):
        folder = make_flat_folder(tmp_path / "imgs")
        good = (folder / "dog.0.jpg").read_bytes()
        (folder / "dog.99.jpg").write_bytes(good[: len(good) // 3])  # truncated JPEG
        (folder / "cat.99.jpg").write_bytes(b"garbage, not a jpeg")
        with pytest.warns(SkippedImageWarning, match=r"skipped 2 of 14 image"):
            ds = load_image_dataset(str(folder), image_size=8)
        assert len(ds.skipped) == 2 and "cat.99.jpg" in " ".join(ds.skipped)
        assert sum(len(s[1]) for s in (ds.train, ds.val, ds.test)) == 12
        assert ds.to_dict()["skipped"] == 2

    def test_all_corrupt_is_an_error(self, tmp_path):
        folder = tmp_path / "bad"
        folder.mkdir()
        for name in ("cat.1.jpg", "dog.1.jpg"):
            (folder / name).write_bytes(b"\xff\xd8 not really")
        with pytest.raises(DataFileError, match=r"bad: none of the 2 image file\(s\) could be"):
            read_image_folder(folder)

    def test_single_class_is_an_error(self, tmp_path):
        folder = tmp_path / "one"
        folder.mkdir()
        jpeg(folder / "cat.1.jpg", (1, 2, 3))
        with pytest.raises(DataFileError, match=r"only the class 'cat'"):
            read_image_folder(folder)

    def test_unlabelled_files(self, tmp_path):
        folder = tmp_path / "test1"
        folder.mkdir()
        jpeg(folder / "1.jpg", (1, 2, 3))
        with pytest.raises(DataFileError, match=r"no class prefix \(e\.g\. 1\.jpg\)"):
            read_image_folder(folder)

    def test_empty_and_missing_folders(self, tmp_path):
        with pytest.raises(DataFileError, match="no .jpg/.jpeg/.png images"):
            read_image_folder(tmp_path)
        with pytest.raises(DataFileError, match="cat-vs-dog images not found"):
            load_image_dataset("cat-vs-dog", data_dir=tmp_path)
        with pytest.raises(ValueError, match="neither a data set .* nor an existing folder"):
            load_image_dataset(str(tmp_path / "nope"))

    def test_limit_decodes_only_what_is_used(self, tmp_path, monkeypatch):
        folder = make_flat_folder(tmp_path / "imgs", n_per_class=10)
        decoded = []
        real_decode = images_module._decode

        def counting_decode(path, size):
            decoded.append(path)
            return real_decode(path, size)

        monkeypatch.setattr(images_module, "_decode", counting_decode)
        calls = []
        ds = load_image_dataset(
            str(folder), limit=4, image_size=8, progress=lambda *a: calls.append(a)
        )
        assert sum(len(s[1]) for s in (ds.train, ds.val, ds.test)) == 4
        assert len(decoded) == 4 and calls[-1] == ("decode images", 4, 4)


# --------------------------------------------------------------------------------------------
# digits, task selection, splitting, normalisation
# --------------------------------------------------------------------------------------------


class TestTask:
    def test_digits_default(self):
        ds = load_image_dataset("digits")
        assert ds.image_shape == (1, 8, 8) and ds.num_classes == 10
        sizes = [len(s[1]) for s in (ds.train, ds.val, ds.test)]
        assert sum(sizes) == 1797 and sizes[2] == 359  # 20 % test
        assert ds.train[0].dtype == torch.float32 and ds.train[1].dtype == torch.int64

    def test_normalised_with_train_statistics_only(self):
        ds = load_image_dataset("digits", limit=300)
        x = ds.train[0]
        assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1) < 1e-2
        # Val/test use the same affine map, so they are NOT exactly standardised.
        assert abs(float(ds.test[0].mean())) > 1e-4
        raw = ds.test[0] * ds.std[0] + ds.mean[0]
        assert float(raw.min()) >= -1e-5 and float(raw.max()) <= 1 + 1e-5

    def test_one_vs_rest(self):
        ds = load_image_dataset("digits", classes=[0])
        assert ds.class_names == ["not 0", "0"] and ds.num_classes == 2
        assert sum(len(s[1]) for s in (ds.train, ds.val, ds.test)) == 1797
        assert int(ds.train[1].sum()) + int(ds.val[1].sum()) + int(ds.test[1].sum()) == 178

    def test_two_classes_in_given_order(self):
        ds = load_image_dataset("digits", classes=[5, 3])
        assert ds.class_names == ["5", "3"]
        counts = ds.to_dict()["class_counts"]
        total = [sum(counts[s][i] for s in counts) for i in range(2)]
        assert total == [182, 183]  # digits has 182 fives and 183 threes

    def test_stratified_seeded_split(self):
        a = load_image_dataset("digits", seed=7)
        b = load_image_dataset("digits", seed=7)
        c = load_image_dataset("digits", seed=8)
        assert torch.equal(a.val[0], b.val[0]) and not torch.equal(a.val[0], c.val[0])
        val_counts = np.bincount(a.val[1].numpy())
        assert val_counts.min() >= 14 and val_counts.max() <= 15  # ~10 % of each class

    def test_splits_are_disjoint(self):
        ds = load_image_dataset("digits", limit=200, seed=1)
        rows = [tuple(x.flatten().tolist()) for s in (ds.train, ds.val, ds.test) for x in s[0]]
        # digits has a few duplicate images; allow them, but the split sizes must add up.
        assert len(rows) == 200 and len(set(rows)) >= 195

    def test_resize(self):
        ds = load_image_dataset("digits", image_size=16, limit=50)
        assert ds.image_shape == (1, 16, 16)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"classes": [10]}, r"unknown class 10; classes are 0=0"),
            ({"classes": ["seven"]}, r"unknown class 'seven'"),
            ({"classes": [3, 3]}, r"lists a class twice"),
            ({"limit": 1}, r"'limit' parameter .* Got 1"),
            ({"val_fraction": 1.0}, r"'val_fraction' parameter"),
            ({"test_fraction": 0.0}, r"'test_fraction' parameter"),
            ({"seed": -1}, r"'seed' parameter"),
            ({"image_size": 2}, r"'image_size' parameter"),
        ],
    )
    def test_bad_parameters(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            load_image_dataset("digits", **kwargs)


# --------------------------------------------------------------------------------------------
# download
# --------------------------------------------------------------------------------------------


class TestDownload:
    def test_registry_has_published_checksums(self):
        assert set(dl.SOURCES) == {"fashion-mnist", "cifar10", "cat-vs-dog"}
        md5 = {f.filename: f.checksum for f in dl.SOURCES["fashion-mnist"]}
        assert md5["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
        assert dl.SOURCES["cifar10"][0].checksum == "c58f30108f718f92721af3b95e74349a"
        for files in dl.SOURCES.values():
            for remote in files:
                assert len(remote.checksum) == {"md5": 32, "sha256": 64}[remote.algorithm]

    def test_no_network_is_one_clear_error(self, tmp_path, monkeypatch):
        def refuse(*args, **kwargs):
            raise urllib.error.URLError("Temporary failure in name resolution")

        monkeypatch.setattr(dl.urllib.request, "urlopen", refuse)
        with pytest.raises(dl.DownloadError, match=r"could not download http.*no network"):
            dl.download("fashion-mnist", tmp_path)
        assert list(tmp_path.iterdir()) == []  # nothing half-written

    def test_checksum_mismatch_discards_file(self, tmp_path, monkeypatch):
        class Response(io.BytesIO):
            headers: ClassVar[dict[str, str]] = {"Content-Length": "5"}

        monkeypatch.setattr(dl.urllib.request, "urlopen", lambda *a, **k: Response(b"hello"))
        with pytest.raises(dl.DownloadError, match=r"MD5 is .* not the published"):
            dl.download("cifar10", tmp_path)
        assert not (tmp_path / "cifar-10-python.tar.gz").exists()

    def test_existing_verified_file_is_not_fetched(self, tmp_path, monkeypatch):
        payload = b"pretend archive"
        remote = dl.RemoteFile("http://x/y", "y", "sha256", dl.hashlib.sha256(payload).hexdigest())
        monkeypatch.setitem(dl.SOURCES, "cifar10", (remote,))
        (tmp_path / "y").write_bytes(payload)
        monkeypatch.setattr(dl.urllib.request, "urlopen", pytest.fail)
        assert dl.download("cifar10", tmp_path) == tmp_path

    def test_unknown_name(self, tmp_path):
        with pytest.raises(ValueError, match="digits ships with scikit-learn"):
            dl.download("digits", tmp_path)

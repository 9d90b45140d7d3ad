"""Atomic writes, provenance and point-cloud files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bettiscope.storage import (
    DataFileError,
    atomic_path,
    atomic_write_json,
    environment_info,
    load_point_cloud,
    read_json,
    save_point_cloud,
    to_jsonable,
)


def test_atomic_write_json_round_trip(tmp_path: Path) -> None:
    payload = {"a": np.int64(3), "b": np.array([1.5, 2.5]), "c": (1, 2), "d": float("inf")}
    path = atomic_write_json(tmp_path / "sub" / "r.json", payload)
    assert read_json(path) == {"a": 3, "b": [1.5, 2.5], "c": [1, 2], "d": "inf"}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temporary left


def test_atomic_files_get_ordinary_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        path = atomic_write_json(tmp_path / "r.json", {})
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_unwritable_targets_are_named_not_their_temporary(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(OSError, match=r"^cannot write .*folder: Is a directory$"):
        atomic_write_json(tmp_path / "folder", {})
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match=r"^cannot write .*file/r.json: "):
        atomic_write_json(tmp_path / "file" / "r.json", {})  # its parent is a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]  # no temporary


def test_failed_write_leaves_old_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    atomic_write_json(target, {"version": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half-written")
        raise RuntimeError("interrupted")
    assert json.loads(target.read_text()) == {"version": 1}
    assert os.listdir(tmp_path) == ["result.json"]


def test_environment_info_lists_versions() -> None:
    info = environment_info()
    assert info["packages"]["numpy"] == np.__version__
    assert info["packages"]["bettiscope"] is not None
    assert info["python"].count(".") == 2


def test_point_cloud_round_trip(tmp_path: Path) -> None:
    X = np.arange(12, dtype=float).reshape(6, 2)
    y = np.array([0, 0, 1, 1, 2, 2])
    path = save_point_cloud(tmp_path / "p.npz", X, y, {"name": "toy", "true_betti": {0: [1]}})
    cloud = load_point_cloud(path)
    np.testing.assert_array_equal(cloud.X, X)
    np.testing.assert_array_equal(cloud.y, y)
    assert cloud.meta == {"name": "toy", "true_betti": {"0": [1]}}


def test_label_count_mismatch(tmp_path: Path) -> None:
    np.savez(tmp_path / "m.npz", X=np.zeros((4, 2)), y=np.zeros(3))
    with pytest.raises(DataFileError, match="3 labels for 4 points"):
        load_point_cloud(tmp_path / "m.npz")


def test_bad_meta(tmp_path: Path) -> None:
    np.savez(tmp_path / "m.npz", X=np.zeros((4, 2)), meta=np.array("{not json"))
    with pytest.raises(DataFileError, match="'meta' is not a JSON string"):
        load_point_cloud(tmp_path / "m.npz")


def test_directory_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="is a directory"):
        load_point_cloud(tmp_path)
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(DataFileError, match="not valid JSON"):
        read_json(tmp_path / "x.json")


def test_to_jsonable_handles_objects_with_to_dict() -> None:
    class Thing:
        def to_dict(self) -> dict:
            return {"p": Path("/tmp/x")}

    assert to_jsonable([Thing(), np.float32(0.5)]) == [{"p": "/tmp/x"}, 0.5]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("", "agg"),  # headless, whatever MPLBACKEND says
        ("import matplotlib; matplotlib.use('pdf'); import matplotlib.pyplot", "pdf"),
    ],
)
def test_pyplot_is_headless_but_keeps_a_backend_already_in_use(setup: str, expected: str) -> None:
    # a fresh interpreter: the backend is process-wide state
    code = f"{setup}\nfrom bettiscope.storage import pyplot\nprint(pyplot().get_backend())"
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip().lower() == expected


def test_numpy_non_finite_floats_are_written_as_python_ones_are(tmp_path: Path) -> None:
    values = {
        "nan": np.float64("nan"),
        "nan32": np.float32("nan"),
        "inf": np.float64("inf"),
        "-inf": np.float16("-inf"),
        "py_nan": float("nan"),
        "array": np.array([1.5, np.nan, -np.inf]),
    }
    expected = {
        "nan": None,
        "nan32": None,
        "inf": "inf",
        "-inf": "-inf",
        "py_nan": None,
        "array": [1.5, None, "-inf"],
    }
    assert to_jsonable(values) == expected
    path = atomic_write_json(tmp_path / "r.json", values)

    def refuse(constant: str) -> None:
        raise AssertionError(f"invalid JSON constant {constant}")

    assert json.loads(path.read_text(), parse_constant=refuse) == expected
    # finite NumPy scalars keep their value, as Python numbers
    finite = to_jsonable([np.float64(0.1), np.int64(3), np.bool_(True), np.str_("a")])
    assert finite == [0.1, 3, True, "a"]
    assert [type(v) for v in finite] == [float, int, bool, str]

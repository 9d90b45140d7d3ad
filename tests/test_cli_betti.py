"""The `bettiscope betti` command: file formats, --json, per-class, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bettiscope.cli import app
from bettiscope.datasets import shapes
from bettiscope.storage import save_point_cloud

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    X = np.vstack([shapes.circle(60), shapes.disjoint_circles(2, 60) + [10.0, 0.0]])
    y = np.array([0] * 60 + [1] * 120)
    return save_point_cloud(tmp_path / "cloud.npz", X, y)


def test_npz_by_class_json(labelled: Path) -> None:
    result = _invoke("betti", labelled, "--scale", "0.3", "--by-class", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["betti"] == {"0": [1, 1], "1": [2, 2]}
    assert payload["n_points"] == {"0": 60, "1": 120}
    assert payload["params"]["metric"] == "euclidean" and payload["params"]["scale"] == 0.3
    assert payload["seconds"] >= 0


def test_whole_cloud_label_all(labelled: Path) -> None:
    result = _invoke("betti", labelled, "--scale", "0.3", "--json")
    assert json.loads(result.stdout)["betti"] == {"all": [3, 3]}


def test_knn_hop_options(labelled: Path) -> None:
    result = _invoke(
        "betti",
        labelled,
        "--metric",
        "knn-hop",
        "--k",
        "4",
        "--scale",
        "2.5",
        "--max-dim",
        "2",
        "--stride",
        "1",
        "--by-class",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["betti"] == {"0": [1, 1, 0], "1": [2, 2, 0]}
    assert payload["params"]["k"] == 4


def test_table_output(labelled: Path) -> None:
    result = _invoke("betti", labelled, "--scale", "0.3", "--by-class")
    assert result.exit_code == 0
    assert "b0" in result.stdout and "b1" in result.stdout and "euclidean" in result.stdout


def test_npy_and_csv(tmp_path: Path) -> None:
    points = shapes.circle(50)
    np.save(tmp_path / "c.npy", points)
    assert json.loads(_invoke("betti", tmp_path / "c.npy", "--scale", "0.3", "--json").stdout)[
        "betti"
    ] == {"all": [1, 1]}
    rows = ["x,y,label"] + [
        f"{a},{b},{'ring' if i < 50 else 'dot'}"
        for i, (a, b) in enumerate(np.vstack([points, [[5.0, 5.0]]]))
    ]
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    result = _invoke("betti", tmp_path / "c.csv", "--scale", "0.3", "--by-class", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["betti"] == {"dot": [1, 0], "ring": [1, 1]}


def test_recommended_parameters_from_meta(tmp_path: Path) -> None:
    meta = {"measure": {"metric": "knn-hop", "k": 4, "scale": 2.5, "stride": 1, "max_dim": 2}}
    path = save_point_cloud(tmp_path / "m.npz", shapes.circle(60), np.zeros(60, int), meta)
    payload = json.loads(_invoke("betti", path, "--by-class", "--json").stdout)
    assert payload["betti"] == {"0": [1, 1, 0]}
    assert payload["params"]["metric"] == "knn-hop" and payload["params"]["k"] == 4


def test_json_stdout_is_clean_of_progress(labelled: Path) -> None:
    result = _invoke("betti", labelled, "--scale", "0.3", "--by-class", "--json")
    json.loads(result.stdout)  # nothing but the JSON document on stdout


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (lambda d: d / "missing.npz", ["--scale", "1"], "no such file"),
        (lambda d: _write(d / "bad.npz", b"not a zip"), ["--scale", "1"], "(not a zip file"),
        (lambda d: _write(d / "bad.npy", b"garbage"), ["--scale", "1"], "not a readable .npy"),
        (lambda d: _write(d / "r.csv", b"1,2\n3\n"), ["--scale", "1"], "different numbers"),
        (lambda d: _write(d / "t.csv", b"1,a\n3,4\n"), ["--scale", "1"], "non-numeric"),
        (lambda d: _write(d / "n.csv", b"1,nan\n3,4\n"), ["--scale", "1"], "NaN"),
        (lambda d: _write(d / "e.csv", b"x,y\n"), ["--scale", "1"], "no data rows"),
        (lambda d: _write(d / "x.txtx", b"1"), ["--scale", "1"], "unknown file type"),
        (lambda d: _npz(d, y=False), ["--scale", "1", "--by-class"], "needs labels"),
        (lambda d: _npz(d), ["--scale", "-1"], "'scale' parameter"),
        (lambda d: _npz(d), [], "--scale is required"),
        (lambda d: _npz(d), ["--scale", "1", "--k", "5"], "--k applies to --metric knn-hop only"),
        (lambda d: _npz(d), ["--metric", "knn-hop", "--k", "500"], "k=500 must be smaller"),
        (lambda d: _npz_without_x(d), ["--scale", "1"], "needs an array named 'X'"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path: Path, setup, args: list[str], message: str) -> None:
    path = setup(tmp_path)
    result = _invoke("betti", path, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_refusal_names_the_parameters(tmp_path: Path) -> None:
    path = save_point_cloud(tmp_path / "d.npz", np.random.default_rng(0).normal(size=(2000, 3)))
    result = _invoke("betti", path, "--scale", "100", "--memory-limit", "0.001")
    assert result.exit_code == 2
    assert "smaller scale" in result.stderr


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _npz(directory: Path, y: bool = True) -> Path:
    labels = np.zeros(40, int) if y else None
    return save_point_cloud(directory / "ok.npz", shapes.circle(40), labels)


def _npz_without_x(directory: Path) -> Path:
    np.savez(directory / "nox.npz", points=np.zeros((3, 2)))
    return directory / "nox.npz"

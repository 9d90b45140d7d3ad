"""`bettiscope data list/make/plot`, and `bettiscope betti` reading a made file's measure."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from bettiscope.cli import app
from bettiscope.storage import load_point_cloud, save_point_cloud

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["--quiet", *args])


def test_list_shows_every_data_set():
    result = invoke("data", "list")
    assert result.exit_code == 0, result.stderr
    for name in ("D-I", "D-II", "D-III", "disks-grid", "linked-rings", "nested-shells"):
        assert name in result.stdout


def test_list_json():
    result = invoke("data", "list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["disks-grid"]["true_betti"] == {"0": [169, 0], "1": [1, 169]}
    assert rows["D-II"]["n_points"] == 45000
    assert rows["D-III"]["measure"] == {
        "metric": "knn-hop",
        "k": 35,
        "scale": 2.5,
        "stride": 4,
        "max_dim": 2,
    }
    assert rows["linked-rings"]["params"]["m"] == 180


def test_make_writes_points_labels_and_meta(tmp_path):
    out = tmp_path / "grid.npz"
    result = invoke(
        "data", "make", "disks-grid", "--out", str(out), "--seed", "4", "--param", "n=3",
        "-p", "points_per_disk=30",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "wrote" in result.stdout and "(9, 0)" in result.stdout
    cloud = load_point_cloud(out)
    assert cloud.X.shape[1] == 2 and len(cloud.y) == len(cloud.X)
    meta = cloud.meta
    assert meta["name"] == "disks-grid"
    assert meta["true_betti"] == {"0": [9, 0], "1": [1, 9]}
    measure = {"metric": "knn-hop", "k": 10, "scale": 2.5, "stride": 1, "max_dim": 1}
    assert meta["measure"] == measure
    assert meta["params"]["n"] == 3 and meta["params"]["points_per_disk"] == 30
    assert meta["params"]["seed"] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown data set 'nope'"),
        (["disks-grid", "-p", "wrong=1"], "unknown parameter 'wrong'; valid parameters are n"),
        (["disks-grid", "-p", "n=abc"], "parameter 'n' must be an int"),
        (["disks-grid", "-p", "n"], "--param expects key=value"),
        (["disks-grid", "-p", "n=0"], "'n' parameter of disks-grid must be an int"),
        (["disks-grid", "-p", "n=40"], "overlap.*Use n <= 15"),
        (["linked-rings", "-p", "m=1000"], "1000 pairs overlap.*Use m <= 343"),
    ],
)
def test_make_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    out = tmp_path / "x.npz"
    result = invoke("data", "make", *args, "--out", str(out))
    assert result.exit_code == 2
    assert result.stdout == ""
    error = result.stderr.strip()
    assert error.startswith("error:") and "\n" not in error
    assert re.search(message, error), error
    assert not out.exists()


def test_make_refuses_a_non_npz_output(tmp_path):
    result = invoke("data", "make", "disks-grid", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 2
    assert "--out must name an .npz file" in result.stderr


@pytest.mark.parametrize(("name", "param"), [("disks-grid", "n=2"), ("nested-shells", "m=2")])
def test_plot_writes_an_image(tmp_path, name, param):
    data_file, image = tmp_path / "d.npz", tmp_path / "d.png"
    assert invoke("data", "make", name, "--out", str(data_file), "-p", param).exit_code == 0
    result = invoke("data", "plot", str(data_file), "--out", str(image))
    assert result.exit_code == 0, result.stderr
    with Image.open(image) as picture:
        assert picture.format == "PNG" and picture.size[0] > 300


def test_plot_errors(tmp_path):
    result = invoke("data", "plot", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "a.png"))
    assert result.exit_code == 2 and "no such file" in result.stderr
    wide = tmp_path / "wide.npz"
    save_point_cloud(wide, np.zeros((10, 5)), np.zeros(10, dtype=int))
    result = invoke("data", "plot", str(wide), "--out", str(tmp_path / "a.png"))
    assert result.exit_code == 2 and "2-D or 3-D points only" in result.stderr
    result = invoke("data", "plot", str(wide), "--out", str(tmp_path / "a.jpg"))
    assert result.exit_code == 2 and "--out must end in .png" in result.stderr


@pytest.mark.parametrize("suffix", [".pt", ".npy", ""])
def test_plot_names_the_files_it_reads(tmp_path, suffix):
    # the message listed .npy, which holds no labels, while the help said .npz or .csv
    file = tmp_path / f"points{suffix}"
    np.save(tmp_path / "points.npy", np.zeros((10, 2)))
    if suffix != ".npy":
        file.write_bytes(b"")
    result = invoke("data", "plot", str(file), "--out", str(tmp_path / "a.png"))
    assert result.exit_code == 2
    error = " ".join(result.stderr.split())
    assert "give a labelled .npz (from `data make`) or .csv / .txt file" in error
    assert ("no suffix" if not suffix else repr(suffix)) in error
    help_text = " ".join(invoke("data", "plot", "--help").stdout.replace("│", " ").split())
    assert "Labelled .npz (from `data make`: arrays X and y) or .csv / .txt file" in help_text
    assert ".npy" not in help_text


def test_plot_reads_a_txt_file_like_csv(tmp_path):
    text = tmp_path / "points.txt"
    text.write_text("0,0,0\n1,1,1\n0,1,0\n1,0,1\n")
    result = invoke("data", "plot", str(text), "--out", str(tmp_path / "a.png"))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "a.png").is_file()


@pytest.mark.parametrize(
    ("name", "param", "truth"),
    [
        ("disks-grid", "n=3", {"0": [9, 0], "1": [1, 9]}),
        ("linked-rings", "m=4", {"0": [4, 4, 0], "1": [4, 4, 0]}),
        ("D-I", "noise=0.0", {"0": [9, 0], "1": [1, 9]}),
    ],
)
def test_betti_uses_the_files_recommended_parameters(tmp_path, name, param, truth):
    data_file = tmp_path / "d.npz"
    assert invoke("data", "make", name, "--out", str(data_file), "-p", param).exit_code == 0
    measure = load_point_cloud(data_file).meta["measure"]
    result = invoke("betti", str(data_file), "--by-class", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["betti"] == truth
    for key in ("metric", "k", "scale", "stride", "max_dim"):
        assert payload["params"][key] == measure[key], key

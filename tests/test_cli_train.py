"""`bettiscope train`: files written, metrics content, resume, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import re

import pytest
import torch
from typer.testing import CliRunner

from bettiscope.cli import app
from bettiscope.models import load_model
from bettiscope.training import evaluate

runner = CliRunner()

QUICK = ["train", "--dataset", "digits", "--limit", "150", "--epochs", "1", "--threads", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = runner.invoke(app, [*QUICK, "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def test_writes_model_metrics_and_curve(trained):
    out, result = trained
    assert {"model.pt", "metrics.json", "training_curve.png"} <= {p.name for p in out.iterdir()}
    assert "test accuracy" in result.stdout
    # off a terminal, stderr holds only the progress log ("stage: done/total (N s)"), no warning
    assert result.stderr.strip()
    assert all(
        re.fullmatch(r"[\w -]+: \d+/\d+ \(\d+ s\)", line) for line in result.stderr.splitlines()
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert len(metrics["per_epoch"]) == 1 and metrics["per_epoch"][0]["epoch"] == 1
    assert metrics["config"]["run"]["limit"] == 150 and metrics["seeds"]["data"] == 3
    assert metrics["config"]["model"]["kind"] == "vgg"
    assert "python" in metrics["environment"] and metrics["torch_threads"] == 1
    sizes = metrics["dataset"]["sizes"]
    assert sizes["train"] + sizes["val"] + sizes["test"] == 150
    assert (out / "training_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_saved_model_reproduces_test_accuracy(trained):
    out, _ = trained
    metrics = json.loads((out / "metrics.json").read_text())
    model, cfg = load_model(out / "model.pt")
    assert cfg.num_classes == 10 and cfg.input_size == 8
    assert model.extra["test_accuracy"] == metrics["test_accuracy"]
    # Rebuild the test split from the recorded settings and normalisation: same accuracy.
    from bettiscope.datasets.images import load_image_dataset

    data = load_image_dataset("digits", limit=150, seed=3)
    assert model.extra["normalisation"]["mean"] == pytest.approx(data.mean)
    _, accuracy = evaluate(model, data.test)
    assert accuracy == pytest.approx(metrics["test_accuracy"])


def test_resume_continues_from_checkpoint(trained):
    out, _ = trained
    result = runner.invoke(app, [*QUICK[:-4], "--epochs", "2", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["per_epoch"]] == [1, 2]
    assert metrics["history"]["resumed_from"] == 1


def test_refuses_different_settings_in_same_folder(trained):
    out, _ = trained
    before = (out / "metrics.json").read_bytes()
    result = runner.invoke(app, [*QUICK, "--seed", "3", "--activation", "tanh", "--out", str(out)])
    assert result.exit_code == 2
    assert "holds a run with different settings (activation)" in result.stderr
    assert "Traceback" not in result.output
    assert (out / "metrics.json").read_bytes() == before  # nothing lost


def test_binary_task_resnet(tmp_path):
    result = runner.invoke(
        app,
        [*QUICK, "--model", "resnet", "--classes", "3,5", "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["dataset"]["class_names"] == ["3", "5"]
    assert metrics["config"]["model"]["kind"] == "resnet"
    model, _ = load_model(tmp_path / "model.pt")
    assert model(torch.zeros(1, 1, 8, 8)).shape == (1, 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "mnist-ish"], "neither a data set"),
        (["--dataset", "fashion-mnist", "--data-dir", "{tmp}"], "train-images-idx3-ubyte.gz not"),
        (["--dataset", "cifar10", "--data-dir", "{tmp}"], "CIFAR-10 (cifar-10-batches-py/"),
        (["--dataset", "digits", "--classes", "3,,5"], "--classes '3,,5': empty entry"),
        (["--dataset", "digits", "--classes", "12"], "unknown class 12"),
        (["--dataset", "digits", "--channels", "8,x"], "--channels '8,x'"),
        (["--dataset", "digits", "--model", "resnet", "--channels", "8,8"], "odd number"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(app, ["train", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "model.pt").exists()


def test_unknown_activation_is_a_usage_error(tmp_path):
    result = runner.invoke(
        app, ["train", "--dataset", "digits", "--activation", "swishy", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "Unknown activation 'swishy'" in result.stderr
    assert not (tmp_path / "model.pt").exists()


def test_a_user_activation_by_import_path_trains_a_cnn(tmp_path, monkeypatch):
    (tmp_path / "my_cnn_acts.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass Softplus2(nn.Module):\n"
        "    def forward(self, x):\n        return torch.nn.functional.softplus(2 * x) / 2\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out"
    result = runner.invoke(
        app, [*QUICK, "--activation", "my_cnn_acts.Softplus2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "model.pt").exists()


def test_a_cnn_that_cannot_fit_is_refused_before_training(tmp_path):
    result = runner.invoke(app, [*QUICK, "--channels", "100000,100000", "--out", str(tmp_path)])
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2 and "TiB, more than the" in message and "--channels" in message
    assert not (tmp_path / "checkpoint.pt").exists()


def test_out_is_a_file(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    result = runner.invoke(app, [*QUICK, "--out", str(target)])
    assert result.exit_code == 2 and "is not a folder" in result.stderr
    assert target.read_text() == "keep me"

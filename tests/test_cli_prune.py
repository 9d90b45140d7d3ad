"""`bettiscope prune`: exit codes, stdout/stderr, files."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from bettiscope.cli import app
from bettiscope.datasets.images import load_image_dataset
from bettiscope.models.cnn import CNNConfig, build_cnn, save_model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    data = load_image_dataset("digits", limit=300, seed=0)
    cfg = CNNConfig(in_channels=1, num_classes=10, input_size=8, channels=[6, 8, 8, 8])
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    save_model(build_cnn(cfg), cfg, path, extra={"dataset": data.to_dict()})
    return path


def invoke(*args):
    return CliRunner().invoke(app, ["--quiet", "prune", *map(str, args)])


def test_ratio_run_writes_everything(checkpoint, tmp_path):
    out = tmp_path / "run"
    result = invoke(
        "--checkpoint", checkpoint, "--dataset", "digits", "--out", out, "--ratio", "0.25",
        "--samples", "60", "--baselines", "random,l1-matched", "--latency-repeats", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "top 0.25 by betti" in result.stdout and "l1-matched" in result.stdout
    payload = json.loads((out / "pruning.json").read_text())
    assert [m["name"] for m in payload["methods"]] == ["betti", "random", "l1-matched"]
    assert payload["config"]["prune"]["ratio"] == 0.25
    assert payload["config"]["prune"]["betti"]["scale"] == 0.4
    assert payload["sample"]["n_images"] == 60
    for name in ("summary.md", "figures/score_distributions.png", "checkpoints/betti.pt"):
        assert (out / name).exists(), name
    assert "earlier run" not in result.stderr
    # the same folder with fewer baselines: l1-matched's files are named, not deleted
    again = invoke(
        "--checkpoint", checkpoint, "--dataset", "digits", "--out", out, "--ratio", "0.25",
        "--samples", "60", "--baselines", "random", "--latency-repeats", "1",
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    said = " ".join(again.stderr.split())
    assert (
        "3 file(s) an earlier run with other settings wrote (checkpoints/l1-matched.pt, "
        "scores/l1.csv, scores/l1.json)" in said
    )
    assert (out / "checkpoints" / "l1-matched.pt").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--threshold", "300", "--ratio", "0.2"], "not both"),
        (["--baselines", "l2"], "--baselines: unknown"),
        (["--scope", "global"], "--scope applies to --ratio"),
        (["--ratio", "1"], "'ratio' parameter of PruneConfig"),  # help says [0, 1)
        (["--scale", "0"], "'scale' parameter of BettiConfig"),
        (["--metric", "knn-hop", "--scale", "1.5", "--absolute"], None),  # accepted (ignored)
    ],
)
def test_option_errors(checkpoint, tmp_path, extra, message):
    result = invoke(
        "--checkpoint", checkpoint, "--dataset", "digits", "--out", tmp_path / "x",
        "--samples", "40", "--baselines", "none", "--latency-repeats", "1", *extra,
    )  # fmt: skip
    if message is None:
        assert result.exit_code == 0, result.output
        payload = json.loads((tmp_path / "x" / "pruning.json").read_text())
        assert payload["config"]["prune"]["betti"]["k"] == 5
        return
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "x" / "pruning.json").exists()


def test_settings_that_can_remove_nothing_are_warned_about(checkpoint, tmp_path):
    result = invoke(
        "--checkpoint", checkpoint, "--dataset", "digits", "--out", tmp_path, "--dry-run",
        "--samples", "100000", "--threshold", "5000",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "--samples 100000 is more than the" in said and "training images; all" in said
    assert "--threshold 5000 removes nothing" in said


def test_missing_checkpoint_and_wrong_dataset(checkpoint, tmp_path):
    result = invoke("--checkpoint", tmp_path / "none.pt", "--dataset", "digits", "--out", tmp_path)
    assert result.exit_code == 2 and "no such model file" in result.stderr
    result = invoke("--checkpoint", checkpoint, "--dataset", "cifar10", "--out", tmp_path)
    assert result.exit_code == 2 and "pass --dataset digits" in result.stderr
    assert result.stdout == ""


def test_dry_run_plans_without_pruning(checkpoint, tmp_path):
    result = invoke(
        "--checkpoint", checkpoint, "--dataset", "digits", "--out", tmp_path, "--ratio", "0.5",
        "--samples", "40", "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "dry run: top 0.5 by betti" in result.stdout
    assert "4/8" in result.stdout and "3/6" in result.stdout  # half of each layer
    assert "Pruning Group" in result.stdout
    assert (tmp_path / "scores" / "betti.csv").exists()
    assert (tmp_path / "figures" / "score_distributions.png").exists()
    assert not (tmp_path / "pruning.json").exists() and not (tmp_path / "checkpoints").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_without_cuda_is_a_clear_error(checkpoint, tmp_path):
    result = invoke(
        "--checkpoint", checkpoint, "--dataset", "digits", "--out", tmp_path, "--device", "cuda"
    )
    assert result.exit_code == 2 and "CUDA is not available" in result.stderr

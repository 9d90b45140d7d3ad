"""The activation study on images: the "cnn" StudyTask, paired initial weights, Betti traces of
flattened feature maps, and a tiny end-to-end comparison on digits."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bettiscope.experiments import (
    CompareConfig,
    build_task,
    execute_run,
    run_compare,
    task_kind_for,
)
from bettiscope.image_study import DEFAULT_IMAGE_MEASURE, image_task


def test_image_data_sets_use_the_cnn_task():
    for name in ("digits", "fashion-mnist", "cifar10", "cat-vs-dog", "cifar-10"):
        assert task_kind_for(name) == "cnn"
    assert task_kind_for("D-II") == "mlp"


def test_task_contents():
    task = image_task("digits", classes=[3, 5], probe_per_class=40, data_seed=2)
    assert task.name.startswith("digits (2 classes: 3, 5)")
    assert task.measure == DEFAULT_IMAGE_MEASURE
    assert task.train[0].shape[1:] == (1, 8, 8) and task.val is not None
    # class-balanced probe subsample of the training images
    assert np.bincount(task.probe_labels.numpy()).tolist() == [40, 40]
    assert task.info["n_probe"] == 80 and task.info["model"]["kind"] == "vgg"
    assert task.train_defaults.target_train_acc == 1.0 and task.train_defaults.batch_size == 64


def test_measure_override_and_bad_probe():
    task = image_task("digits", limit=200, measure={"k": 5})
    assert task.measure["k"] == 5 and task.measure["scale"] == DEFAULT_IMAGE_MEASURE["scale"]
    with pytest.raises(ValueError, match="probe_per_class must be an int >= 2"):
        image_task("digits", probe_per_class=1)


def test_same_seed_same_initial_weights_for_every_activation():
    task = image_task("digits", limit=200, model="resnet")
    relu, prelu, split = (task.build_model(a, 7) for a in ("relu", "prelu", "parametric_split"))
    other_seed = task.build_model("relu", 8)
    for name, tensor in relu.state_dict().items():
        assert torch.equal(tensor, prelu.state_dict()[name]), name
        assert torch.equal(tensor, split.state_dict()[name]), name
    assert not torch.equal(relu.stem.conv.weight, other_seed.stem.conv.weight)
    with pytest.raises(ValueError, match="must be a registry name"):
        task.build_model(torch.nn.ReLU(), 0)


def test_execute_run_traces_feature_maps():
    spec = {
        "phase": "eval",
        "activation": "leaky_relu",
        "lr": 3e-3,
        "seed": 0,
        "max_epochs": 2,
        "target_train_acc": 1.0,
        "target_val_acc": None,
        "trace_every": 1,
        "device": "cpu",
        "task": {
            "kind": "cnn",
            "dataset": "digits",
            "data_seed": 0,
            "options": {"classes": [3, 5], "probe_per_class": 40},
        },
    }
    record = execute_run(spec)
    trace = record["betti_trace"]
    assert trace["layers"] == ["input", "blocks.0", "blocks.1", "blocks.2", "blocks.3", "head"]
    assert [e["epoch"] for e in trace["entries"]][:2] == [0, 1]
    last = trace["entries"][-1]
    measured = [b for c in last["betti"].values() for b in c if b is not None]
    assert measured and all(len(b) == 2 and b[0] >= 1 for b in measured)
    assert record["epochs"] <= 2 and 0.0 <= record["final_train_acc"] <= 1.0


def test_tiny_comparison_end_to_end(tmp_path):
    config = CompareConfig(
        dataset="digits",
        activations=["relu", "tanh"],
        seeds=2,
        tuning_seeds=1,
        max_epochs=2,
        lr_grid=[3e-3],
        trace_every=0,
        task_options={"classes": [0], "limit": 300, "probe_per_class": 30},
        bootstrap=200,
    )
    results = run_compare(config, tmp_path)
    assert results["config"]["task"]["kind"] == "cnn"
    assert results["config"]["task_info"]["dataset"]["class_names"] == ["not 0", "0"]
    assert {r["activation"] for r in results["runs"]} == {"relu", "tanh"}
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["summary"]["activations"].keys() == {"relu", "tanh"}
    assert (tmp_path / "betti_by_layer.png").exists()
    # cached task: the same spec builds the same object within a process
    assert build_task(config.task()) is build_task(config.task())


def test_compare_cli_passes_image_options(tmp_path) -> None:
    """`bettiscope compare --dataset digits --classes 3,5 --limit ...` runs a binary CNN study."""
    import json

    from typer.testing import CliRunner

    from bettiscope.cli import app

    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        app,
        [
            "compare",
            "--dataset",
            "digits",
            "--classes",
            "3,5",
            "--limit",
            "120",
            "--activations",
            "relu,tanh",
            "--seeds",
            "1",
            "--tuning-seeds",
            "1",
            "--lr-grid",
            "0.01",
            "--max-epochs",
            "2",
            "--trace-every",
            "0",
            "--bootstrap",
            "100",
            "--batch-size",
            "32",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    config = json.loads((out / "results.json").read_text())["config"]
    assert config["task_kind"] == "cnn"
    assert config["task_options"]["classes"] == [3, 5]
    assert config["task_options"]["limit"] == 120
    assert config["task_options"]["batch_size"] == 32

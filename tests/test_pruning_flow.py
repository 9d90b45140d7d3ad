"""The pruning comparison end to end on a tiny digits CNN: plans, schema, files, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bettiscope.datasets.images import load_image_dataset
from bettiscope.models.cnn import CNNConfig, build_cnn, load_model, save_model
from bettiscope.pruning import FilterScores, select_threshold
from bettiscope.pruning.flow import BASELINES, PruneConfig, load_task, run_pruning
from bettiscope.training import TrainConfig, train

METRIC_KEYS = {
    "name",
    "finetuned",
    "filters_removed",
    "accuracy",
    "params",
    "macs",
    "file_bytes",
    "latency_ms",
    "scoring_seconds",
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small VGG trained 2 epochs on 400 digits images, saved like `bettiscope train` does."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    data = load_image_dataset("digits", limit=400, seed=0)
    cfg = CNNConfig(
        in_channels=1, num_classes=data.num_classes, input_size=8, channels=[8, 12, 12, 16]
    )
    model = build_cnn(cfg)
    train(model, data.train, TrainConfig(epochs=2, lr=0.01, batch_size=32, target_train_acc=None))
    path = tmp_path_factory.mktemp("model") / "model.pt"
    save_model(model, cfg, path, extra={"dataset": data.to_dict()})
    return path


def quick(**overrides) -> PruneConfig:
    settings = {
        "samples": 120,
        "latency_repeats": 2,
        "latency_batches": (1, 64),
        "finetune_epochs": 0,
    }
    return PruneConfig(**{**settings, **overrides})


def test_threshold_rule_and_the_baselines_sized_from_it(trained, tmp_path):
    model, data, info = load_task(trained, "digits")
    assert info["data_args_from"] == "checkpoint" and info["data_args"]["limit"] == 400
    payload = run_pruning(model, data, quick(threshold=40.0), tmp_path, checkpoint=str(trained))
    on_disk = json.loads((tmp_path / "pruning.json").read_text())
    assert on_disk["methods"] == json.loads(json.dumps(payload["methods"]))
    # schema: original plus one entry per method, every metric present
    assert set(on_disk["original"]) >= METRIC_KEYS
    assert [m["name"] for m in on_disk["methods"]] == ["betti", *BASELINES]
    for entry in on_disk["methods"]:
        assert set(entry) >= METRIC_KEYS
        assert entry["finetuned"] is False
        assert set(entry["latency_ms"]) == {"batch1", "batch64"}
        assert 0.0 <= entry["accuracy"] <= 1.0
        assert entry["params"] < on_disk["original"]["params"]
        assert entry["macs"] < on_disk["original"]["macs"]
    # the Betti plan is the threshold rule applied to the saved scores
    scores = FilterScores.load(tmp_path / "scores" / "betti.json")
    expected = select_threshold(scores, 40.0)
    methods = {m["name"]: m for m in on_disk["methods"]}
    betti = methods["betti"]
    assert betti["removed_indices"] == {k: v.tolist() for k, v in expected.items()}
    assert sum(betti["filters_removed"].values()) > 0, "threshold too high for this test"
    # matched-count controls and the direction check: the same count in every layer
    for name in ("random", "l1-matched", "hrank-matched", "betti-lowest"):
        assert methods[name]["filters_removed"] == betti["filters_removed"]
    # l1 / hrank: the same total, spread over layers
    for name in ("l1", "hrank"):
        assert sum(methods[name]["filters_removed"].values()) == sum(
            betti["filters_removed"].values()
        )
    # betti-lowest takes the lowest scores, betti the highest
    for layer, removed in methods["betti-lowest"]["removed_indices"].items():
        if removed:
            values = scores.scores[layer]
            kept = np.setdiff1d(np.arange(len(values)), removed)
            assert values[removed].max() <= values[kept].min()
    # files: every checkpoint reloads with the recorded widths and size
    for entry in [on_disk["original"], *on_disk["methods"]]:
        _, cfg = load_model(entry["checkpoint"])
        assert cfg.channels == entry["channels"]
        assert (tmp_path / "checkpoints" / f"{entry['name']}.pt").stat().st_size == entry[
            "file_bytes"
        ]
    for name in ("betti", "l1", "hrank", "random"):
        assert (tmp_path / "scores" / f"{name}.csv").exists()
    assert (tmp_path / "figures" / "accuracy_vs_params.png").stat().st_size > 0
    assert (tmp_path / "figures" / "score_distributions.png").stat().st_size > 0
    summary = (tmp_path / "summary.md").read_text()
    assert "betti > 40" in summary and "| betti-lowest |" in summary
    assert on_disk["config"]["prune"]["threshold"] == 40.0
    assert "environment" in on_disk and on_disk["sample"]["n_images"] == 120


def test_ratio_with_fine_tuning_and_resume(trained, tmp_path, monkeypatch):
    model, data, _ = load_task(trained, "digits")
    cfg = quick(ratio=0.25, finetune_epochs=1, baselines=("random", "l1"))
    payload = run_pruning(model, data, cfg, tmp_path)
    names = [(m["name"], m["finetuned"]) for m in payload["methods"]]
    assert names == [
        ("betti", False),
        ("betti", True),
        ("random", False),
        ("random", True),
        ("l1", False),
        ("l1", True),
    ]
    widths = {"blocks.0.conv": 8, "blocks.1.conv": 12, "blocks.2.conv": 12, "blocks.3.conv": 16}
    for entry in payload["methods"]:
        assert entry["filters_removed"] == {k: int(0.25 * w + 0.5) for k, w in widths.items()}
        assert entry["channels"] == [w - int(0.25 * w + 0.5) for w in widths.values()]
    assert payload["original_finetuned"]["finetuned"] is True
    # a second run with the same settings is read back from state/, not recomputed
    import bettiscope.pruning.flow as flow

    def refuse(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(flow, "_finetune", refuse)
    monkeypatch.setattr(flow, "measure", refuse)
    again = run_pruning(model, data, cfg, tmp_path)
    assert [m["accuracy"] for m in again["methods"]] == [m["accuracy"] for m in payload["methods"]]
    assert payload["leftover_files"] == again["leftover_files"] == []
    # fewer baselines in the same folder: l1's files stay, named as another run's
    fewer = run_pruning(model, data, quick(ratio=0.25, finetune_epochs=1, baselines=("random",)),
                        tmp_path)  # fmt: skip
    assert fewer["leftover_files"] == [
        "checkpoints/l1-finetuned.pt", "checkpoints/l1.pt", "scores/l1.csv", "scores/l1.json"
    ]  # fmt: skip
    assert (tmp_path / "checkpoints" / "l1.pt").is_file()


def test_errors(trained):
    with pytest.raises(ValueError, match="not both"):
        PruneConfig(threshold=300.0, ratio=0.2)
    with pytest.raises(ValueError, match="unknown baseline"):
        PruneConfig(baselines=("l2",))
    with pytest.raises(ValueError, match="'samples' parameter of PruneConfig"):
        PruneConfig(samples=1)
    with pytest.raises(ValueError, match="trained on 'digits', not 'cifar10'"):
        load_task(trained, "cifar10")
    with pytest.raises(ValueError, match="must be a bettiscope CNN"):
        run_pruning(torch.nn.Conv2d(1, 2, 3), None, PruneConfig(), "unused")

"""Probe: hooks capture every representation; per-class Betti numbers with known answers; traces."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from bettiscope.datasets import shapes
from bettiscope.models import build_mlp
from bettiscope.probe import (
    LayerBetti,
    TraceRecorder,
    capture,
    layer_betti,
    plot_trace_heatmap,
    predict,
    representation_layers,
    run_trace,
)
from bettiscope.training import TrainConfig, train

EUCLID = {"metric": "euclidean", "scale": 0.3, "stride": 1, "max_dim": 1}


def _two_circles() -> tuple[torch.Tensor, torch.Tensor]:
    left = shapes.circle(60, center=(-3.0, 0.0))
    right = shapes.circle(60, center=(3.0, 0.0))
    X = torch.tensor(np.vstack([left, right]), dtype=torch.float32)
    y = torch.tensor([0] * 60 + [1] * 60)
    return X, y


class _Separator(nn.Module):
    """logits = (-x, x): predicts the two circles perfectly; the logits form two segments."""

    def __init__(self) -> None:
        super().__init__()
        self.logits = nn.Linear(2, 2)
        with torch.no_grad():
            self.logits.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))
            self.logits.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)


def test_capture_mlp_layers_in_order_and_cleans_up() -> None:
    model = build_mlp(3, 2, width=5, depth=4)
    model.train()
    reps = capture(model, torch.randn(11, 3))
    assert list(reps) == ["input", "act1", "act2", "act3", "logits"]
    assert [tuple(v.shape) for v in reps.values()] == [(11, 3), (11, 5), (11, 5), (11, 5), (11, 2)]
    assert torch.allclose(reps["logits"], model(torch.as_tensor(reps["input"])).detach())
    assert model.training  # mode restored
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed


def test_capture_generic_model_finds_activations_and_flattens() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(48, 4),
        nn.Tanh(),
        nn.Linear(4, 2),
    )
    assert representation_layers(model) == ["1", "4", "5"]
    reps = capture(model, torch.randn(6, 1, 4, 4), batch_size=4)
    assert reps["input"].shape == (6, 16) and reps["1"].shape == (6, 48)
    assert capture(model, torch.randn(2, 1, 4, 4), ["3"], include_input=False)["3"].shape == (2, 4)


def test_capture_errors() -> None:
    model = build_mlp(2, 2, depth=3)
    with pytest.raises(ValueError, match="no module named 'act7'.*Available: fc1"):
        capture(model, torch.randn(3, 2), ["act7"])
    shared = nn.ReLU()
    reused = nn.Sequential(nn.Linear(2, 2), shared, nn.Linear(2, 2), shared)
    with pytest.raises(ValueError, match="ran more than once"):
        capture(reused, torch.randn(3, 2), ["1"])
    with pytest.raises(ValueError, match="n_samples >= 1"):
        capture(model, torch.randn(0, 2))
    with pytest.raises(ValueError, match="capture: inputs contain NaN or infinity"):
        capture(model, [[0.0, float("nan")]])
    with pytest.raises(ValueError, match="layer_betti: inputs must be an array or tensor"):
        layer_betti(model, [[0.0, 1.0], [2.0]])
    with pytest.raises(ValueError, match=r"does not take these inputs \(shape \(3,\) each\)"):
        layer_betti(model, torch.randn(10, 3))


def test_numpy_inputs_meet_the_models_dtype() -> None:
    # float64 NumPy arrays (what data sets give) against float32 weights: cast, not a crash
    model = build_mlp(2, 2, depth=3, seed=0)
    X64 = np.random.default_rng(0).normal(size=(40, 2))
    reps = capture(model, X64)
    assert reps["logits"].dtype == torch.float32
    assert torch.equal(reps["logits"], capture(model, torch.as_tensor(X64).float())["logits"])
    assert len(predict(model, X64.tolist())) == 40
    result = layer_betti(model, X64, measure={**EUCLID, "max_dim": 0})
    assert sum(result.n_class.values()) == 40


def test_layer_betti_known_answers() -> None:
    X, y = _two_circles()
    result = layer_betti(_Separator(), X, measure=EUCLID, labels=y)
    assert result.layers == ["input", "logits"]
    assert result.accuracy == 1.0 and result.n_class == {0: 60, 1: 60}
    assert result.betti[0] == [[1, 1], [1, 0]]  # circle, then its projection: a segment
    assert result.betti[1] == [[1, 1], [1, 0]]
    assert result.series(0, 1) == [1.0, 0.0]
    assert np.array_equal(predict(_Separator(), X), y.numpy())


def test_split_is_by_predicted_label() -> None:
    X, y = _two_circles()
    flipped = _Separator()
    with torch.no_grad():
        flipped.logits.weight.mul_(-1)  # predicts every point wrong
    result = layer_betti(flipped, X, measure=EUCLID, labels=y)
    assert result.accuracy == 0.0 and result.betti[0][0] == [1, 1]
    both = layer_betti(flipped, X, measure=EUCLID, labels=y, use_true_labels=True)
    assert both.labels == "true"


def test_collapsed_and_too_small_classes_do_not_crash() -> None:
    X, _ = _two_circles()
    collapse = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():
        collapse[0].weight.zero_()
        collapse[0].bias.fill_(-1.0)  # every point -> 0 after the ReLU
        collapse[2].weight.zero_()
        collapse[2].bias.copy_(torch.tensor([1.0, 0.0]))  # everything predicted as class 0
    knn = {"metric": "knn-hop", "k": 8, "scale": 2.5, "stride": 1, "max_dim": 1}
    result = layer_betti(collapse, X, measure=knn)
    assert result.betti[0][0] == [2, 2]  # both circles, all predicted class 0
    assert result.betti[0][1] == [1, 0] and "collapsed: 1 distinct points" in result.notes[0]["1"]
    assert result.betti[1] == [None, None, None]
    assert "no input is assigned" in result.notes[1]["input"]
    small = layer_betti(collapse, X[:20], measure={**knn, "stride": 4})
    assert small.betti[0][0] is None and "too few points for k=8" in small.notes[0]["input"]


def test_bad_measure() -> None:
    with pytest.raises(ValueError, match="unknown key"):
        layer_betti(_Separator(), torch.randn(5, 2), measure={"scale": 1.0, "radius": 2})
    with pytest.raises(ValueError, match="'scale' parameter of layer_betti"):
        layer_betti(_Separator(), torch.randn(5, 2), measure={"scale": -1.0})


def test_layer_betti_round_trip() -> None:
    X, y = _two_circles()
    result = layer_betti(_Separator(), X, measure=EUCLID, labels=y)
    again = LayerBetti.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.betti == result.betti and again.layers == result.layers


def test_trace_recorder_during_training(tmp_path) -> None:
    X, y = _two_circles()
    model = build_mlp(2, 2, width=6, depth=3, seed=0)
    recorder = TraceRecorder(X, measure=EUCLID, every=2, labels=y)
    recorder.record(0, model)
    cfg = TrainConfig(epochs=5, lr=1e-3, target_train_acc=None)
    history = train(model, (X, y), cfg, on_epoch_end=recorder)
    recorder.finish(history.epochs, model, history.records[-1])
    assert sorted(recorder.entries) == [0, 2, 4, 5]
    entry = recorder.entries[4]
    assert entry["train"]["train_acc"] == history.records[3].train_acc
    assert len(entry["betti"]["0"]) == 4  # input, act1, act2, logits
    png = plot_trace_heatmap(recorder.to_list(), tmp_path / "heat.png", title="t")
    assert png.stat().st_size > 1000


def test_trace_heatmap_has_whole_number_scales_and_explains_grey_cells(monkeypatch) -> None:
    import bettiscope.probe as probe

    figures = []
    monkeypatch.setattr(probe, "save_figure", lambda fig, path: figures.append(fig))
    layers = ["input", "act1", "logits"]
    constant = {"0": [[1, 0]] * 3, "1": [[1, 0]] * 3}
    entries = [
        # at epoch 0 the network predicts no point of class 0: nothing to measure there
        {"epoch": 0, "layers": layers, "classes": [0, 1], "measure": {"max_dim": 1},
         "betti": {"1": [[1, 0]] * 3}},
        {"epoch": 5, "layers": layers, "classes": [0, 1], "measure": {"max_dim": 1},
         "betti": constant},
    ]  # fmt: skip
    plot_trace_heatmap(entries, "unused.png")
    (fig,) = figures
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 4
    for bar in bars:
        ticks = bar.get_yticks()
        assert len(ticks) and all(float(t).is_integer() for t in ticks)
    assert any("grey: not measured" in text.get_text() for text in fig.texts)
    figures.clear()
    plot_trace_heatmap(entries[1:], "unused.png")
    assert not any("grey" in text.get_text() for text in figures[0].texts)


def test_run_trace_writes_and_resumes(tmp_path) -> None:
    X, y = _two_circles()
    cfg = TrainConfig(epochs=4, lr=1e-3, target_train_acc=None)

    def go(epochs: int) -> dict:
        model = build_mlp(2, 2, width=6, depth=3, seed=0)
        return run_trace(
            model,
            (X, y),
            TrainConfig(**{**cfg.__dict__, "epochs": epochs}),
            tmp_path,
            measure=EUCLID,
            every=2,
            config={"dataset": "circles"},
        )

    first = go(4)
    assert first["status"] == "done" and [e["epoch"] for e in first["trace"]] == [0, 2, 4]
    saved = json.loads((tmp_path / "trace.json").read_text())
    assert saved["config"]["dataset"] == "circles" and "environment" in saved
    second = go(6)  # resumes from the epoch-4 checkpoint, keeps entries 0..4
    assert second["history"]["resumed_from"] == 4
    assert [e["epoch"] for e in second["trace"]] == [0, 2, 4, 6]
    assert second["trace"][1] == first["trace"][1]
    # the resumed trace's probe time includes the first part's
    assert second["probe_seconds"] > first["probe_seconds"] > 0
    assert second["probe_cpu_seconds"] >= first["probe_cpu_seconds"]
    with pytest.raises(ValueError, match="different run"):
        run_trace(
            build_mlp(2, 2, width=6, depth=3),
            (X, y),
            TrainConfig(epochs=6, lr=0.5),
            tmp_path,
            measure=EUCLID,
            every=2,
            config={"dataset": "circles"},
        )
    # fewer epochs than the folder's network has trained: refused, not a self-contradicting file
    with pytest.raises(ValueError, match="trained 6 epochs already, more than the 4 asked for"):
        go(4)
    assert json.loads((tmp_path / "trace.json").read_text())["config"]["train"]["epochs"] == 6
    with pytest.raises(ValueError, match="`at` asks for epoch 9, beyond the 6 epochs"):
        run_trace(build_mlp(2, 2), (X, y), TrainConfig(epochs=6), tmp_path / "at", at=[0, 9])
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file; the trace needs a folder"):
        run_trace(build_mlp(2, 2), (X, y), cfg, tmp_path / "file")
    (tmp_path / "comparison" / "runs").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"holds a comparison \(bettiscope compare\) \(runs\)"):
        run_trace(build_mlp(2, 2), (X, y), cfg, tmp_path / "comparison")


def test_overflowing_layer_is_recorded_not_raised() -> None:
    X, _ = _two_circles()
    blow_up = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    with torch.no_grad():
        blow_up[0].weight.fill_(float("inf"))  # every representation overflows
    result = layer_betti(
        blow_up, X, measure={"metric": "knn-hop", "k": 8, "scale": 2.5, "stride": 1}, layers=["0"]
    )
    notes = {note for per_class in result.notes.values() for note in per_class.values()}
    assert any("NaN or infinite" in note for note in notes)
    assert all(result.betti[c][1] is None for c in result.classes if result.n_class[c] > 0)


KNN = {"metric": "knn-hop", "k": 6, "scale": 2.5, "stride": 1, "max_dim": 1}


def _circles_mlp() -> tuple[nn.Module, torch.Tensor]:
    X, _ = _two_circles()
    torch.manual_seed(0)
    return build_mlp(2, 2, width=6, depth=4), X


def _numbers(result: LayerBetti) -> tuple:
    return result.betti, result.n_points, result.notes


def test_layer_betti_workers_give_the_same_numbers() -> None:
    model, X = _circles_mlp()
    serial = layer_betti(model, X, measure=KNN)
    parallel = layer_betti(model, X, measure=KNN, workers=2)
    assert _numbers(parallel) == _numbers(serial)
    assert serial.betti[0][0] == [1, 1] or serial.n_class[0] == 0  # the input circle, if predicted
    with pytest.raises(ValueError, match="workers must be an int >= 1"):
        layer_betti(model, X, measure=KNN, workers=0)


def test_cell_cache_reuses_only_unchanged_clouds() -> None:
    model, X = _circles_mlp()
    cache: dict = {}
    first = layer_betti(model, X, measure=KNN, cache=cache)
    assert first.cells_reused == 0 and len(cache) == len(first.layers) * len(first.classes)
    again = layer_betti(model, X, measure=KNN, cache=cache)
    assert again.cells_reused == len(cache)
    assert _numbers(again) == _numbers(first)
    # shift both logits by the same amount: the predictions (so every class's input cloud) and
    # the hidden layers stay, the logits clouds move and must be measured again
    with torch.no_grad():
        model.logits.bias.add_(1.0)
    shifted = layer_betti(model, X, measure=KNN, cache=cache)
    empty = sum(first.n_class[c] == 0 for c in first.classes)  # an empty cloud stays empty
    assert shifted.cells_reused == 4 * len(first.classes) + empty
    assert _numbers(shifted) == _numbers(layer_betti(model, X, measure=KNN))
    # flip a hidden layer: predictions and clouds change, nothing may be reused wrongly
    with torch.no_grad():
        model.fc3.weight.mul_(-1.0)
    changed = layer_betti(model, X, measure=KNN, cache=cache)
    fresh = layer_betti(model, X, measure=KNN)
    assert _numbers(changed) == _numbers(fresh) != _numbers(first)


def test_trace_recorder_counts_reused_cells_and_matches_uncached() -> None:
    model, X = _circles_mlp()
    cached = TraceRecorder(X, measure=KNN, every=1)
    plain = TraceRecorder(X, measure=KNN, every=1, cache=False)
    for epoch in (0, 1):
        cached(epoch, model)
        plain(epoch, model)
    assert cached.cells == plain.cells == 2 * 5 * 2
    assert cached.cells_reused == 5 * 2 and plain.cells_reused == 0
    for epoch in (0, 1):
        assert cached.entries[epoch]["betti"] == plain.entries[epoch]["betti"]


# --------------------------------------------------------------------------------------------
# background probe
# --------------------------------------------------------------------------------------------


def _without_times(entry: dict) -> dict:
    return {key: value for key, value in entry.items() if key != "seconds"}


def _distinct_models(n: int) -> list[nn.Module]:
    """A different network per epoch, so that an entry measured on the wrong epoch shows."""
    return [build_mlp(2, 2, width=6, depth=4, seed=seed) for seed in range(n)]


@pytest.mark.parametrize("max_pending", [1, 3])
def test_background_recorder_gives_the_synchronous_entries_in_order(max_pending) -> None:
    X, y = _two_circles()
    models = _distinct_models(6)
    seen: dict[str, list[int]] = {"sync": [], "background": []}
    sync = TraceRecorder(
        X, measure=KNN, every=1, labels=y, on_record=lambda r: seen["sync"].append(max(r.entries))
    )
    background = TraceRecorder(
        X,
        measure=KNN,
        every=1,
        labels=y,
        workers=2,
        background=True,
        max_pending=max_pending,
        on_record=lambda r: seen["background"].append(max(r.entries)),
    )
    spent = 0.0
    for epoch, model in enumerate(models):
        sync(epoch, model)
        started = time.perf_counter()
        assert background.record(epoch, model) is None  # returns at once
        spent += time.perf_counter() - started
        assert len(background.pending_epochs) <= max_pending  # the queue is bounded
    assert background.seconds <= spent  # time in the recorder, each wait counted once
    # an off-schedule epoch end collects what is done, never out of order
    background.collect()
    assert background.pending_epochs == list(range(len(background.entries), 6))
    background.finish(5, models[-1])
    assert background.pending_epochs == []
    assert seen["background"] == seen["sync"] == list(range(6))  # one call per entry, in order
    assert list(background.entries) == list(sync.entries) == list(range(6))
    for epoch in range(6):
        assert _without_times(background.entries[epoch]) == _without_times(sync.entries[epoch])
    # the test can fail: the six networks do not all give the same numbers
    assert len({json.dumps(_without_times(e)["n_class"]) for e in sync.to_list()}) > 1
    assert background.cells == sync.cells and background.cells_reused == sync.cells_reused
    assert background.cpu_seconds > 0 and background.wait_seconds <= background.seconds


def test_background_cache_reuses_cells_of_a_checkpoint_still_in_flight() -> None:
    model, X = _circles_mlp()
    background = TraceRecorder(X, measure=KNN, every=1, background=True, max_pending=3)
    sync = TraceRecorder(X, measure=KNN, every=1)
    for epoch in range(3):  # the same model: everything after epoch 0 comes from the cache
        background(epoch, model)
        sync(epoch, model)
    background.wait()
    assert background.cells_reused == sync.cells_reused == 2 * 5 * 2
    assert [_without_times(e) for e in background.to_list()] == [
        _without_times(e) for e in sync.to_list()
    ]


def test_background_during_training_and_cancel(tmp_path) -> None:
    X, y = _two_circles()
    cfg = TrainConfig(epochs=5, lr=1e-2, target_train_acc=None)
    recorders = []
    for background in (False, True):
        model = build_mlp(2, 2, width=6, depth=3, seed=0)
        recorder = TraceRecorder(X, measure=KNN, every=2, labels=y, background=background)
        recorder.record(0, model)
        history = train(model, (X, y), cfg, on_epoch_end=recorder)
        recorder.finish(history.epochs, model, history.records[-1])
        recorders.append(recorder)
    sync, background = recorders
    assert sorted(background.entries) == sorted(sync.entries) == [0, 2, 4, 5]
    assert [_without_times(e) for e in background.to_list()] == [
        _without_times(e) for e in sync.to_list()
    ]
    # cancelling drops what is in flight and the cache forgets it
    model = build_mlp(2, 2, width=6, depth=3, seed=1)
    lossy = TraceRecorder(X, measure=KNN, every=1, background=True, max_pending=2)
    lossy.record(0, model)
    lossy.record(1, model)
    lost = lossy.cancel_pending()
    assert sorted(lost + list(lossy.entries)) == [0, 1] and lossy.pending_epochs == []
    lossy.record(2, model)
    lossy.wait()
    assert lossy.entries[2]["betti"] == layer_betti(model, X, measure=KNN).to_dict()["betti"]


def test_background_bad_arguments() -> None:
    X, _ = _two_circles()
    with pytest.raises(ValueError, match="max_pending must be an int >= 1"):
        TraceRecorder(X, measure=KNN, background=True, max_pending=0)
    with pytest.raises(ValueError, match="background must be True or False"):
        TraceRecorder(X, measure=KNN, background="yes")


def test_run_trace_background_interrupted_resumes_without_gaps_or_duplicates(tmp_path) -> None:
    X, y = _two_circles()
    cfg = TrainConfig(epochs=6, lr=1e-2, target_train_acc=None)

    def go(folder, background: bool, stop_at: int | None = None) -> dict:
        def progress(stage: str, done: int, total: int) -> None:
            if stage == "train" and done == stop_at:
                raise KeyboardInterrupt  # after epoch 5's hook, before its checkpoint

        return run_trace(
            build_mlp(2, 2, width=6, depth=3, seed=0),
            (X, y),
            cfg,
            folder,
            measure=KNN,
            every=2,
            progress=progress,
            workers=1,
            background=background,
        )

    reference = go(tmp_path / "sync", False)
    with pytest.raises(KeyboardInterrupt):
        go(tmp_path / "bg", True, stop_at=5)
    partial = json.loads((tmp_path / "bg" / "trace.json").read_text())
    assert partial["status"] == "running"
    assert set(e["epoch"] for e in partial["trace"]) <= {0, 2, 4}  # in-flight entries lost
    resumed = go(tmp_path / "bg", True)
    assert resumed["history"]["resumed_from"] == 4
    epochs = [e["epoch"] for e in resumed["trace"]]
    # 4 (the checkpoint's epoch) is re-measured if it was lost; 2 may be lost for good
    assert epochs in ([0, 2, 4, 6], [0, 4, 6]) and len(set(epochs)) == len(epochs)
    expected = {e["epoch"]: _without_times(e) for e in reference["trace"]}
    for entry in resumed["trace"]:
        # a re-measured entry starts with an empty cell cache: only the reuse count may differ
        same = {**_without_times(entry), "cells_reused": expected[entry["epoch"]]["cells_reused"]}
        assert same == expected[entry["epoch"]]
    assert resumed["probe"] == {
        "workers": 1,
        "background": True,
        "max_overhead": None,
        "skipped_epochs": [],
    }
    assert resumed["probe_cpu_seconds"] > 0


def test_max_overhead_skips_scheduled_epochs_while_the_probe_is_over_budget() -> None:
    from types import SimpleNamespace

    X, y = _two_circles()
    model = build_mlp(2, 2, width=6, depth=3, seed=0)
    recorder = TraceRecorder(X, measure=EUCLID, every=2, labels=y, max_overhead=1.0)
    recorder.record(0, model)
    recorder.cpu_seconds = 4.5  # pretend the first checkpoint cost 4.5 CPU seconds

    def epoch(number: int, seconds: float) -> None:
        record = SimpleNamespace(seconds=seconds, loss=0.5, train_acc=0.9, val_acc=None)
        recorder(number, model, record)

    # one more checkpoint (4.5 s, the mean so far) fits once 9 s of training have passed
    for number in range(1, 11):
        epoch(number, 1.0)
    assert recorder.train_seconds == 10.0
    assert recorder.skipped == [2, 4, 6, 8] and sorted(recorder.entries) == [0, 10]
    recorder.cpu_seconds = 100.0
    epoch(11, 1.0)
    epoch(12, 1.0)  # over budget again: skipped; the last epoch is measured regardless
    assert recorder.skipped == [2, 4, 6, 8, 12]
    recorder.finish(12, model, SimpleNamespace(seconds=0.0, loss=0.5, train_acc=0.9, val_acc=None))
    assert recorder.skipped == [2, 4, 6, 8] and sorted(recorder.entries) == [0, 10, 12]
    unlimited = TraceRecorder(X, measure=EUCLID, every=2, labels=y)
    assert not unlimited.over_budget()
    with pytest.raises(ValueError, match=r"'max_overhead' parameter of TraceRecorder"):
        TraceRecorder(X, measure=EUCLID, max_overhead=0.0)


def test_run_trace_with_a_budget_lists_skipped_epochs_and_keeps_them_on_resume(tmp_path) -> None:
    X, y = _two_circles()

    def go(epochs: int) -> dict:
        return run_trace(
            build_mlp(2, 2, width=6, depth=3, seed=0),
            (X, y),
            TrainConfig(epochs=epochs, lr=1e-3, target_train_acc=None),
            tmp_path,
            measure=EUCLID,
            every=2,
            max_overhead=1e-9,  # any probing is over this budget
        )

    first = go(6)
    assert [e["epoch"] for e in first["trace"]] == [0, 6]
    assert first["probe"]["skipped_epochs"] == [2, 4] and first["probe"]["max_overhead"] == 1e-9
    longer = go(10)  # resumes from epoch 6's checkpoint
    assert longer["history"]["resumed_from"] == 6
    assert [e["epoch"] for e in longer["trace"]] == [0, 6, 10]
    assert longer["probe"]["skipped_epochs"] == [2, 4, 8]
    saved = json.loads((tmp_path / "trace.json").read_text())
    assert saved["probe"]["skipped_epochs"] == [2, 4, 8]


def test_probe_cost_hint_names_the_spacing_that_costs_less_than_training() -> None:
    from bettiscope.probe import probe_cost_hint

    result = {
        "trace": [{}] * 11,  # epochs 0, 10, ..., 100
        "history": {"seconds_per_epoch": 0.05, "epochs": 100},
        "probe_cpu_seconds": 110.0,  # 10 s a checkpoint = 200 epochs of training
        "config": {"every": 10, "measure": {"max_dim": 1}},
        "probe": {"background": False},
    }
    hint = probe_cost_hint(result)
    assert hint is not None
    assert "22.0x" in hint and "--every 200 or more (now 10)" in hint
    assert "--max-dim 0" in hint and "--background" in hint and "--max-overhead 1" in hint
    beta_0 = {**result, "config": {"at": [0, 50], "measure": {"max_dim": 0}}}
    beta_0["probe"] = {"background": True, "max_overhead": 1.0}
    hint = probe_cost_hint(beta_0)
    assert "fewer epochs in --at" in hint
    assert "--max-dim" not in hint and "--background" not in hint and "--max-overhead" not in hint
    cheap = {**result, "probe_cpu_seconds": 4.0}  # less than the 5 s of training
    assert probe_cost_hint(cheap) is None
    # the training time the trace's summary shows (slow first epochs included) is the yardstick
    measured = {**result, "train_seconds": 11.0}
    assert "10.0x the training (110.0 CPU s against 11.0 s)" in probe_cost_hint(measured)
    assert probe_cost_hint({"trace": []}) is None


# --------------------------------------------------------------------------------------------
# input validation (QA pass): clear errors, and no silently wrong results
# --------------------------------------------------------------------------------------------


def _small_mlp(**kwargs: Any) -> nn.Module:
    return build_mlp(2, 2, width=6, depth=3, seed=0, **kwargs)


@pytest.mark.parametrize("batch_size", [8192, 7])
def test_capture_keeps_outputs_that_later_inplace_activations_overwrite(batch_size: int) -> None:
    X = torch.randn(40, 2, generator=torch.Generator().manual_seed(0))
    plain = capture(_small_mlp(), X, ["fc1", "act1", "fc2", "logits"], batch_size=batch_size)
    inplace_model = _small_mlp(activation_kwargs={"inplace": True})
    inplace = capture(inplace_model, X, ["fc1", "act1", "fc2", "logits"], batch_size=batch_size)
    assert float(inplace["fc1"].min()) < 0.0  # pre-activation, not ReLU's output
    assert all(torch.equal(plain[name], inplace[name]) for name in plain)
    with torch.inference_mode():  # tensors without a version counter: always copied
        kept = capture(inplace_model, X, ["fc1"], batch_size=batch_size)["fc1"]
    assert torch.equal(kept, plain["fc1"])
    knn = {"metric": "knn-hop", "k": 4, "scale": 2.5, "stride": 1, "max_dim": 0}
    layers = ["fc1", "fc2"]
    assert _numbers(layer_betti(inplace_model, X, measure=knn, layers=layers)) == _numbers(
        layer_betti(_small_mlp(), X, measure=knn, layers=layers)
    )


def test_a_partial_measure_is_merged_over_the_default() -> None:
    X, _ = _two_circles()
    model = _small_mlp()
    merged = {"metric": "knn-hop", "k": 4, "scale": 2.5, "stride": 4, "max_dim": 1}
    partial = layer_betti(model, X, measure={"k": 4, "scale": 2.5})
    assert partial.measure == merged
    full = layer_betti(model, X, measure=merged)
    assert _numbers(partial) == _numbers(full)
    assert TraceRecorder(X, measure={"k": 4}).measure == merged
    # a full euclidean measure is used as given (k dropped), as before
    assert layer_betti(model, X, measure={**EUCLID, "k": 9}).measure == EUCLID
    with pytest.raises(ValueError, match="layer_betti: measure with metric 'euclidean' needs"):
        layer_betti(model, X, measure={"metric": "euclidean"})
    with pytest.raises(TypeError, match="TraceRecorder: measure must be a dict"):
        TraceRecorder(X, measure=[("k", 4)])
    with pytest.raises(ValueError, match=r"measure\['stride'\] is None.*default 4"):
        layer_betti(model, X, measure={"stride": None})
    with pytest.raises(ValueError, match=r"measure\['dedupe'\] must be True or False"):
        layer_betti(model, X, measure={"dedupe": "no"})


def test_labels_must_index_the_models_outputs() -> None:
    X, y = _two_circles()
    model = _small_mlp()
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 2\).*1-based"):
        layer_betti(model, X, labels=y + 1, use_true_labels=True)
    with pytest.raises(ValueError, match=r"in \[0, 2\).*from -1 to 0"):
        layer_betti(model, X, labels=y - 1)  # accuracy only: still refused
    with pytest.raises(ValueError, match=r"got dtype <U1 \(e.g. 'a'\)"):
        layer_betti(model, X, labels=np.array(["a", "b"] * 60))
    with pytest.raises(ValueError, match=r"dtype object \(e.g. None\)"):
        layer_betti(model, X, labels=[0, None] * 60)
    with pytest.raises(ValueError, match=r"whole class indices; labels\[0\] is 0.5"):
        layer_betti(model, X, labels=np.full(120, 0.5))
    with pytest.raises(ValueError, match="layer_betti: 3 labels for 120 inputs"):
        layer_betti(model, X, labels=[0, 1, 0])
    with pytest.raises(ValueError, match="use_true_labels must be True or False"):
        layer_betti(model, X, labels=y, use_true_labels="yes")
    # whole-number floats and bools are class indices, as before
    as_float = layer_betti(model, X, measure=EUCLID, labels=y.float(), use_true_labels=True)
    assert as_float.n_class == {0: 60, 1: 60}


@pytest.mark.parametrize("classes", [[-1], [0.7], [2], [0, 0], [True], ["0"]])
def test_classes_must_be_distinct_logit_indices(classes: list) -> None:
    X, _ = _two_circles()
    with pytest.raises(ValueError, match=r"layer_betti: classes (must be logit indices|lists 0)"):
        layer_betti(_small_mlp(), X, measure=EUCLID, classes=classes)


def test_classes_accepts_one_index_and_arrays() -> None:
    X, _ = _two_circles()
    model = _small_mlp()
    assert layer_betti(model, X, measure=EUCLID, classes=1).classes == [1]
    assert layer_betti(model, X, measure=EUCLID, classes=np.array([1, 0])).classes == [1, 0]
    with pytest.raises(TypeError, match="classes must be a list of class indices"):
        layer_betti(model, X, measure=EUCLID, classes="01")


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_batch_size_must_be_a_positive_int(batch_size: object) -> None:
    model, X = _small_mlp(), torch.randn(5, 2)
    for call, name in ((capture, "capture"), (predict, "predict"), (layer_betti, "layer_betti")):
        with pytest.raises(ValueError, match=f"'batch_size' parameter of {name} must be an int"):
            call(model, X, batch_size=batch_size)


def test_unusable_inputs_models_and_outputs_get_one_clear_line() -> None:
    model = _small_mlp()
    with pytest.raises(ValueError, match="capture: inputs are on the 'meta' device"):
        capture(model, torch.randn(3, 2, device="meta"))
    with pytest.raises(ValueError, match="capture: the model's weights are on the 'meta' device"):
        capture(_small_mlp().to("meta"), torch.randn(3, 2))
    with pytest.raises(ValueError, match="capture: inputs must be real-valued"):
        capture(model, torch.randn(3, 2, dtype=torch.complex64))
    single = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))  # (n,) output
    for head in (single, nn.Sequential(nn.Linear(2, 1))):
        with pytest.raises(ValueError, match=r"predict: the model's output has shape \(4,( 1)?\)"):
            predict(head, torch.randn(4, 2))
        with pytest.raises(ValueError, match="layer_betti: the model's output has shape"):
            layer_betti(head, torch.randn(4, 2), measure=EUCLID)
    with pytest.raises(ValueError, match=r"module '1' returned shape \(12,\) for a batch of 4"):
        capture(nn.Sequential(nn.Linear(2, 3), nn.Flatten(0)), torch.randn(4, 2), ["1"])

    class Named(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> dict:
            return {"logits": self.fc(x)}

    with pytest.raises(ValueError, match="predict: the model returned dict; it must return"):
        predict(Named(), torch.randn(3, 2))


def test_one_layer_name_alone_is_a_list_of_one() -> None:
    model, X = _small_mlp(), torch.randn(30, 2)
    assert list(capture(model, X, "fc1")) == ["input", "fc1"]
    assert layer_betti(model, X, measure=EUCLID, layers="act1").layers == ["input", "act1"]
    assert TraceRecorder(X, measure=EUCLID, layers="act1").layers == ["act1"]
    with pytest.raises(TypeError, match=r"capture: layers must hold module names.*tuple"):
        capture(model, X, [("fc1", model.fc1)])
    with pytest.raises(ValueError, match="capture: layers lists 'fc1' more than once"):
        capture(model, X, ["fc1", "fc1"])


def test_elementwise_and_registered_activations_are_representations() -> None:
    import functools

    from bettiscope.activations import ACTIVATIONS, Elementwise

    model = nn.Sequential(nn.Linear(2, 3), Elementwise(torch.sin), nn.Linear(3, 2))
    assert representation_layers(model) == ["1", "2"]

    class Snake(nn.Module):
        def __init__(self, alpha: float = 1.0) -> None:
            super().__init__()
            self.alpha = alpha

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + torch.sin(self.alpha * x) ** 2 / self.alpha

    ACTIVATIONS["test_snake"] = functools.partial(Snake, alpha=2.0)
    try:
        model = nn.Sequential(nn.Linear(2, 3), Snake(), nn.Linear(3, 2))
        assert representation_layers(model) == ["1", "2"]
    finally:
        del ACTIVATIONS["test_snake"]

"""Bad input to the public API gets one clear ValueError naming the function, the parameter,
what arrived and what to change: comparisons, paired speed-ups, data sets and pruning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from torch import nn

from bettiscope import _validation
from bettiscope.datasets import load_dataset
from bettiscope.datasets.registry import dataset_meta, save_dataset
from bettiscope.experiments import CompareConfig, mlp_task
from bettiscope.paired import paired_speedup
from bettiscope.pruning.scoring import BettiScorer, RandomScorer, get_scorer
from bettiscope.pruning.selection import uniform_counts
from bettiscope.storage import DataFileError, atomic_write_json, save_point_cloud

# --------------------------------------------------------------------------------------------
# CompareConfig.validate and mlp_task
# --------------------------------------------------------------------------------------------


def _compare(**changes: object) -> CompareConfig:
    base: dict[str, object] = {
        "dataset": "D-I",
        "activations": ["tanh"],
        "seeds": 3,
        "tuning_seeds": 2,
        "lr_grid": [0.003, 0.03],
        "bootstrap": 500,
    }
    return CompareConfig(**{**base, **changes}).validate()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("first_seed", "seeds", "shared"),
    [(1000, 10, "1000..1002"), (1001, 1, "1001..1001"), (998, 3, "1000..1000")],
)
def test_evaluation_seeds_overlapping_the_tuning_seeds_are_refused(
    first_seed: int, seeds: int, shared: str
) -> None:
    with pytest.raises(ValueError, match=rf"compare: the evaluation seeds .* overlap .* {shared}"):
        _compare(first_seed=first_seed, seeds=seeds, tuning_seeds=3)


def test_disjoint_seeds_and_untuned_runs_are_accepted() -> None:
    assert _compare(first_seed=997, seeds=3, tuning_seeds=3).evaluation_seeds == [997, 998, 999]
    assert _compare(first_seed=1003, tuning_seeds=3).evaluation_seeds[0] == 1003
    assert _compare(first_seed=2000).evaluation_seeds == [2000, 2001, 2002]
    # one learning rate: no tuning runs, so no tuning seeds to collide with
    assert _compare(first_seed=1000, lr_grid=[0.01]).evaluation_seeds[0] == 1000


def test_overlap_message_says_what_to_use() -> None:
    with pytest.raises(ValueError, match=r"Use first_seed <= 990 or >= 1003, or one learning"):
        CompareConfig("D-I", first_seed=1000).validate()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seeds": 2.5}, r"compare: seeds must be an int; got 2\.5 \(float\)"),
        ({"seeds": "2"}, r"compare: seeds must be an int; got '2' \(str\)"),
        ({"first_seed": 0.5}, r"compare: first_seed must be an int"),
        ({"tuning_seeds": None}, r"compare: tuning_seeds must be an int"),
        ({"max_epochs": 10.0}, r"compare: max_epochs must be an int"),
        ({"bootstrap": True}, r"compare: bootstrap must be an int"),
        ({"data_seed": "0"}, r"compare: data_seed must be an int"),
        ({"target_train_acc": "1"}, r"compare: target_train_acc must be a number in \(0, 1\]"),
        ({"target_val_acc": "0.9"}, r"compare: target_val_acc must be a number"),
        ({"target_train_acc": float("nan")}, r"target_train_acc must be a number in \(0, 1\]"),
        ({"activations": [nn.Tanh()]}, r"activations must be registry names \(str\).*Tanh"),
        ({"activations": ["relu", 3]}, r"got 3 \(int\) at position 1"),
        ({"activations": None}, r"activations must be a list of names"),
        ({"lr_grid": None}, r"lr_grid must be a list of numbers"),
        ({"relu_lr_runs": "false"}, r"relu_lr_runs must be True or False; got 'false'"),
        ({"task_options": [("width", 15)]}, r"task_options must be a dict"),
        ({"task_kind": 3}, r"task_kind must be a task name"),
    ],
)
def test_compare_config_values_of_the_wrong_type_are_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _compare(**changes)


def test_compare_config_valid_values_are_unchanged() -> None:
    config = _compare(activations=("Tanh", "proposed"), lr_grid=(0.03, 0.003, 0.03))
    assert config.activations == ["tanh", "proposed", "relu"]
    assert config.lr_grid == [0.003, 0.03]
    assert _compare(seeds=np.int64(4), target_train_acc=1).seeds == 4
    with pytest.raises(ValueError, match="seeds must be >= 1"):
        _compare(seeds=0)


@pytest.fixture(scope="module")
def blobs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    y = np.arange(80) % 2
    X = rng.normal(scale=0.3, size=(80, 2)) + (2.0 * y[:, None] - 1.0)
    meta = {"measure": {"metric": "knn-hop", "k": 6, "scale": 2.5, "stride": 1, "max_dim": 1}}
    return save_point_cloud(tmp_path_factory.mktemp("blobs") / "blobs.npz", X, y, meta)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"data_seed": -1}, r"'data_seed' parameter of mlp_task must be an int in the range \[0"),
        ({"data_seed": 0.5}, r"'data_seed' parameter of mlp_task"),
        ({"batch_size": 0}, r"'batch_size' parameter of mlp_task .*\[1, inf\).*None for full"),
        ({"batch_size": 2.5}, r"'batch_size' parameter of mlp_task"),
        ({"width": 0}, r"'width' parameter of mlp_task must be an int in the range \[1, inf\)"),
        ({"width": 15.0}, r"'width' parameter of mlp_task"),
        ({"depth": 0}, r"'depth' parameter of mlp_task"),
        ({"val_fraction": "0.2"}, r"mlp_task: val_fraction must be in \[0, 1\); got '0.2'"),
    ],
)
def test_mlp_task_options_are_checked_before_any_work(
    blobs: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        mlp_task(str(blobs), **options)  # type: ignore[arg-type]


def test_mlp_task_builds_numpy_int_sizes(blobs: Path) -> None:
    task = mlp_task(str(blobs), width=np.int64(4), depth=np.int64(2), batch_size=16)
    model = task.build_model("relu", 0)
    assert sum(isinstance(m, nn.Linear) for m in model.modules()) == 2
    assert task.info["model"]["width"] == 4


# --------------------------------------------------------------------------------------------
# paired_speedup
# --------------------------------------------------------------------------------------------


def _folder(path: Path, activation: str, epochs: dict[int, int]) -> Path:
    runs = [
        {
            "phase": "eval",
            "activation": name,
            "seed": seed,
            "lr": 0.01,
            "epochs_to_train_target": value,
            "final_train_acc": 1.0,
        }
        for name in dict.fromkeys((activation, "relu"))
        for seed, value in epochs.items()
    ]
    config = {
        "dataset": "D-I",
        "data_seed": 0,
        "max_epochs": 100,
        "target_train_acc": 1.0,
        "target_val_acc": None,
        "task_options": {},
    }
    atomic_write_json(path / "results.json", {"config": config, "runs": runs})
    return path


@pytest.fixture
def arms(tmp_path: Path) -> tuple[Path, Path]:
    seeds = {0: 10, 1: 20, 2: 30}
    return _folder(tmp_path / "a", "relu", seeds), _folder(tmp_path / "b", "proposed", seeds)


def test_a_binary_file_as_an_arm_is_refused_by_name(
    tmp_path: Path, arms: tuple[Path, Path]
) -> None:
    archive = save_point_cloud(tmp_path / "x.npz", np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match=r"paired_speedup: baseline .*x\.npz is a binary file"):
        paired_speedup(archive, "relu", arms[1], "proposed")
    with pytest.raises(ValueError, match=r"paired_speedup: other .*x\.npz is a binary file"):
        paired_speedup(arms[0], "relu", [arms[1], str(archive)], "proposed")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "results.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ValueError, match=r"results\.json is not JSON text"):
        paired_speedup(broken, "relu", arms[1], "proposed")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resamples": 200.5}, r"paired_speedup: resamples must be an int; got 200\.5"),
        ({"resamples": "500"}, r"paired_speedup: resamples must be an int"),
        ({"resamples": 99}, r"resamples must be >= 100"),
        ({"seed": -1}, r"paired_speedup: seed must be >= 0"),
        ({"seed": 1.5}, r"paired_speedup: seed must be an int"),
        ({"target": ["train"]}, r"target must be one of train, val, both"),
    ],
)
def test_paired_speedup_numbers_are_checked(
    arms: tuple[Path, Path], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        paired_speedup(arms[0], "relu", arms[1], "proposed", **kwargs)  # type: ignore[arg-type]


def test_paired_speedup_arms_of_the_wrong_type_are_refused(arms: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match=r"baseline must be a comparison folder.*got 3 \(int\)"):
        paired_speedup(3, "relu", arms[1], "proposed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"other_activation must be an activation's registry"):
        paired_speedup(arms[0], "relu", arms[1], nn.Tanh())  # type: ignore[arg-type]


def test_paired_speedup_valid_arms_still_pair(arms: tuple[Path, Path]) -> None:
    result = paired_speedup(str(arms[0]), "relu", (arms[1],), "proposed", resamples=np.int64(200))
    assert result["seeds"] == [0, 1, 2]
    assert result["config"]["baseline"] == [str(arms[0])]
    assert result["speedup"]["speedup"] == 1.0


# --------------------------------------------------------------------------------------------
# data sets
# --------------------------------------------------------------------------------------------


def test_a_shifted_data_set_round_trips_its_evaluation_grid(tmp_path: Path) -> None:
    data = load_dataset("D-I", shift=1.0)
    again = load_dataset(save_dataset(data, tmp_path / "shifted.npz"))
    np.testing.assert_array_equal(again.X, data.X)
    np.testing.assert_array_equal(again.X_eval, data.X_eval)  # bit for bit
    assert again.params["shift"] == 1.0
    plain = load_dataset("D-I")
    np.testing.assert_array_equal(load_dataset(save_dataset(plain, tmp_path / "p.npz")).X_eval,
                                  plain.X_eval)  # fmt: skip


def test_evaluation_labels_without_a_grid_or_out_of_range_are_refused(tmp_path: Path) -> None:
    data = load_dataset("D-I")
    meta = dataset_meta(data)
    grid_size = len(data.X_eval)
    cases = {
        "no_grid": ({k: v for k, v in meta.items() if k != "eval_grid"}, data.y_eval,
                    "no 'eval_grid'"),
        "short": (meta, data.y_eval[:-1], "one label per evaluation point"),
        "range": (meta, np.full(grid_size, 2), r"class indices 0\.\.1"),
        "fraction": (meta, np.full(grid_size, 0.5), r"class indices 0\.\.1"),
    }  # fmt: skip
    for name, (file_meta, labels, message) in cases.items():
        path = save_point_cloud(tmp_path / f"{name}.npz", data.X, data.y, file_meta,
                                y_eval=labels)  # fmt: skip
        with pytest.raises(DataFileError, match=message):
            load_dataset(path)


def _labelled(path: Path, X: np.ndarray, meta: dict[str, object] | None = None) -> Path:
    return save_point_cloud(path, X, np.arange(len(X)) % 2, meta)


def test_complex_values_in_a_file_are_refused(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(20, 2)) + 1j
    with pytest.raises(DataFileError, match=r"points X are complex \(complex128\).*X\.real"):
        load_dataset(_labelled(tmp_path / "complex.npz", X))
    labels = (np.arange(20) % 2) + 0.5j
    save_point_cloud(tmp_path / "labels.npz", X.real, labels)
    with pytest.raises(DataFileError, match=r"labels y are complex"):
        load_dataset(tmp_path / "labels.npz")


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"start": 0, "stop": 1e6, "step": 1e-6}, r"gives a grid of about 1e\+24 points, more "),
        ({"start": 0, "stop": 10, "step": 0.001}, r"10,000 x 10,000 grid of 100,000,000 points"),
        ({"start": 0, "stop": 1, "step": 0}, r"a finite, non-zero step; got .* step 0\."),
        ({"start": "nan", "stop": 1, "step": 0.1}, r"finite start and stop"),
        ({"start": 0, "stop": 1, "step": 1e-320}, r"more grid points than a float can count"),
        ({"start": 1, "stop": 0, "step": 0.1}, r"'eval_grid' is empty"),
        ({"start": 0, "stop": 1}, r"must have numeric start, stop and step"),
    ],
)
def test_bad_evaluation_grids_are_refused(
    tmp_path: Path, grid: dict[str, float], message: str
) -> None:
    X = np.random.default_rng(0).normal(size=(20, 2))
    path = _labelled(tmp_path / "grid.npz", X, {"eval_grid": grid})
    with pytest.raises(DataFileError, match=message):
        load_dataset(path)


def test_an_evaluation_grid_beyond_the_memory_available_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_dataset(load_dataset("D-I"), tmp_path / "d1.npz")
    monkeypatch.setattr(_validation, "available_memory_bytes", lambda: 10_000)
    with pytest.raises(ValueError, match=r"evaluation grid .*88 x 88.* would need about .*step"):
        load_dataset(path)


def test_a_non_numeric_shift_with_an_evaluation_grid_is_refused(tmp_path: Path) -> None:
    meta = {"eval_grid": {"start": 0, "stop": 1, "step": 0.5}, "params": {"shift": "up"}}
    path = _labelled(tmp_path / "shift.npz", np.zeros((20, 2)), meta)
    with pytest.raises(DataFileError, match=r"'shift' must be a finite number .*; got 'up'"):
        load_dataset(path)
    ok = _labelled(tmp_path / "ok.npz", np.zeros((20, 2)), {**meta, "params": {"shift": 0.5}})
    assert load_dataset(ok).X_eval.tolist() == [[0.5, 0.5], [1.0, 0.5], [0.5, 1.0], [1.0, 1.0]]


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("D-II", {"points_per_torus": 1}, r"D-II: class 0 has only 9 points.*k=35"),
        ("D-II", {"points_per_torus": 34}, r"a torus of class 0 has only 34 points.*>= 35"),
        ("D-III", {"points_per_shell": 17}, r"only 34 points.*points_per_shell >= 18"),
        ("D-III", {"points_per_shell": 18, "points_inner": 34}, r"points_inner >= 35"),
        ("D-I", {"spacing": 0.065}, r"D-I: a disk of class 0 has only 10 points.*k = 14"),
        ("disks-grid", {"n": 2, "points_per_disk": 12, "seed": 2}, r"only 9 points.*k = 10"),
        ("disks-grid", {"n": 1, "points_per_disk": 12, "seed": 7}, r"class 0 has only 10"),
    ],
)
def test_too_few_points_for_the_measure_are_refused(
    name: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset(name, **params)


def test_the_smallest_counts_the_measure_allows_are_accepted() -> None:
    assert load_dataset("D-II", points_per_torus=35).n_points == 18 * 35
    assert load_dataset("D-III", points_per_shell=18, points_inner=35).n_points == 9 * 107
    assert load_dataset("D-I", spacing=0.06).class_sizes()[0] >= 9 * 14


# --------------------------------------------------------------------------------------------
# pruning
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [-1, 1.5, "1", None, True])
def test_random_scorer_seed_is_checked(seed: object) -> None:
    with pytest.raises(ValueError, match=r"'seed' parameter of RandomScorer must be an int"):
        RandomScorer(seed=seed)  # type: ignore[arg-type]


def test_random_scorer_valid_seeds_are_unchanged() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3))
    scores = RandomScorer(seed=np.int64(3)).score(model).scores["0"]
    np.testing.assert_array_equal(scores, np.random.default_rng(3).random(4))


def test_get_scorer_refuses_settings_the_scorer_does_not_take() -> None:
    with pytest.raises(ValueError, match=r"the 'l1' scorer takes no settings; got seed\. It is"):
        get_scorer("l1", seed=1)
    with pytest.raises(ValueError, match=r"the 'hrank' scorer takes where, batch_size; got seed"):
        get_scorer("hrank", seed=1)
    with pytest.raises(ValueError, match=r"the 'betti' scorer takes config, metric, .*got sead"):
        get_scorer("betti", sead=1)
    scorer = get_scorer("betti", k=5, metric="knn-hop", scale=1.5)
    assert isinstance(scorer, BettiScorer) and scorer.config.k == 5
    assert get_scorer("random", seed=2).seed == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("widths", "message"),
    [
        ([4, 8], r"uniform_counts: widths must be a mapping .*got list \[4, 8\]"),
        ({"a": -4, "b": 8}, r"width of layer 'a' must be a positive int .*got -4"),
        ({"a": 0, "b": 8}, r"width of layer 'a' must be a positive int"),
        ({"a": 4.0}, r"width of layer 'a' must be a positive int .*got 4\.0"),
        ({"a": True}, r"width of layer 'a'"),
    ],
)
def test_uniform_counts_widths_are_checked(widths: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        uniform_counts(widths, 5)  # type: ignore[arg-type]


def test_uniform_counts_total_is_checked_and_valid_counts_unchanged() -> None:
    with pytest.raises(ValueError, match=r"'total' parameter of uniform_counts"):
        uniform_counts({"a": 4}, -1)
    assert uniform_counts({"a": 4, "b": np.int64(8)}, 6) == {"a": 2, "b": 4}
    assert json.dumps(uniform_counts({"a": 2, "b": 2}, 10)) == '{"a": 1, "b": 1}'


def test_a_knn_hop_scale_below_one_hop_is_refused_before_any_run(blobs: Path) -> None:
    with pytest.raises(ValueError, match="measurement of .*scale counts hops"):
        mlp_task(str(blobs), measure={"scale": 0.5})  # knn-hop by default
    assert mlp_task(str(blobs), measure={"metric": "euclidean", "scale": 0.5}).measure

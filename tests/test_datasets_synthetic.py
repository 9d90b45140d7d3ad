"""Synthetic data sets: true Betti numbers recovered at the recommended parameters, geometry,
separation of components, bad parameters, and loading a user's labelled file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial import cKDTree

from bettiscope.datasets import DATASETS, PointCloudDataset, load_dataset, synthetic
from bettiscope.datasets.registry import save_dataset
from bettiscope.storage import DataFileError, save_point_cloud
from bettiscope.topology import betti_by_class, knn_graph

NAMES = ["D-I", "D-II", "D-III", "disks-grid", "linked-rings", "nested-shells"]

#: Small versions of the families, measured with the same parameters as the defaults.
SMALL = {
    "disks-grid": {"n": 3},
    "linked-rings": {"m": 8},
    "nested-shells": {"m": 8},
}


def measured(data: PointCloudDataset, X=None, y=None) -> dict[int, tuple[int, ...]]:
    X = data.X if X is None else X
    y = data.y if y is None else y
    return {label: tuple(b) for label, b in betti_by_class(X, y, **data.measure_kwargs()).items()}


# --------------------------------------------------------------------------------------------
# the true Betti numbers are recovered at the recommended parameters
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_default_size_recovers_true_betti(name):
    data = load_dataset(name)
    assert measured(data) == data.true_betti


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("D-II", {"seed": 3, "noise": 0.01}),
        ("D-III", {"seed": 4, "noise": 0.005}),
        ("disks-grid", {"seed": 2, "noise": 0.002}),
        ("disks-grid", {"n": 15}),
        ("linked-rings", {"seed": 1, "noise": 0.002}),
        ("nested-shells", {"seed": 1, "noise": 0.002}),
    ],
)
def test_documented_variants_recover_true_betti(name, params):
    data = load_dataset(name, **params)
    assert measured(data) == data.true_betti


def test_published_truths_and_measures():
    expected = {
        "D-I": ({0: (9, 0), 1: (1, 9)}, 14, 3, 1),
        "D-II": ({0: (9, 9, 0), 1: (9, 9, 0)}, 35, 4, 2),
        "D-III": ({0: (9, 0, 9), 1: (18, 0, 9)}, 35, 4, 2),
    }
    for name, (truth, k, stride, max_dim) in expected.items():
        data = load_dataset(name)
        assert data.true_betti == truth
        assert data.measure == {
            "metric": "knn-hop",
            "k": k,
            "scale": 2.5,
            "stride": stride,
            "max_dim": max_dim,
        }


def test_large_family_defaults_exceed_150():
    for name in ("disks-grid", "linked-rings", "nested-shells"):
        data = load_dataset(name)
        assert all(max(b) > 150 for b in data.true_betti.values()), name
    assert load_dataset("disks-grid").true_betti == {0: (169, 0), 1: (1, 169)}
    assert load_dataset("linked-rings").true_betti == {0: (180, 180, 0), 1: (180, 180, 0)}
    assert load_dataset("nested-shells").true_betti == {0: (180, 0, 180), 1: (180, 0, 180)}


@pytest.mark.parametrize(("name", "params"), SMALL.items())
def test_small_families_recover_true_betti(name, params):
    data = load_dataset(name, **params)
    count = next(iter(params.values()))
    assert data.true_betti[0][0] == (count * count if name == "disks-grid" else count)
    assert measured(data) == data.true_betti


def test_d1_evaluation_grid_recovers_true_betti():
    data = load_dataset("D-I")
    assert data.X_eval.shape == (88 * 88, 2)
    np.testing.assert_allclose(np.unique(data.X_eval[:, 0]), np.arange(-1.1, 1.1, 0.025))
    assert measured(data, data.X_eval, data.y_eval) == {0: (9, 0), 1: (1, 9)}


def test_disks_grid_true_betti_follows_n():
    assert load_dataset("disks-grid", n=1).true_betti == {0: (1, 0), 1: (1, 1)}
    assert load_dataset("disks-grid", n=2).true_betti == {0: (4, 0), 1: (1, 4)}
    data = load_dataset("disks-grid", n=2)
    assert measured(data) == {0: (4, 0), 1: (1, 4)}


# --------------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------------


def test_published_sizes():
    assert load_dataset("D-II").class_sizes() == {0: 22500, 1: 22500}
    assert load_dataset("D-III").class_sizes() == {0: 18000, 1: 19800}
    assert load_dataset("D-III").n_points == 37800
    d1 = load_dataset("D-I")
    assert d1.dim == 2 and d1.n_points == 10050
    assert np.unique(d1.y_eval).tolist() == [0, 1]


@pytest.mark.parametrize("name", ["D-II", "D-III"])
def test_max_abs_scaled_into_unit_cube(name):
    X = load_dataset(name).X
    assert np.abs(X).max() == pytest.approx(1.0)


def test_d3_radii_after_scaling():
    data = load_dataset("D-III")
    centres = np.vstack([[0, 0, 0], 0.594 * np.array(np.meshgrid(*[[-1, 1]] * 3)).reshape(3, -1).T])
    distance = cKDTree(centres).query(data.X)[0]
    a = distance[data.y == 0]
    assert a.min() == pytest.approx(1 / 5.05, abs=1e-3)
    assert a.max() == pytest.approx(1.05 / 5.05, abs=1e-3)
    b = np.sort(np.unique(np.round(distance[data.y == 1], 3)))
    assert b.tolist() == pytest.approx([0.099, 0.396, 0.406], abs=2e-3)


def _passes_through_hole(
    ring: np.ndarray, partner: np.ndarray, axis: int, inner_radius: float
) -> bool:
    """Does ``partner`` cross the disk spanning the hole of ``ring`` (which winds around
    coordinate ``axis``)?"""
    centre = ring.mean(axis=0)
    offset = partner - centre
    in_plane = np.delete(offset, axis, axis=1)
    near_plane = np.abs(offset[:, axis]) < 0.01
    return bool(np.any(near_plane & (np.linalg.norm(in_plane, axis=1) < inner_radius)))


@pytest.mark.parametrize(
    ("name", "params", "inner_radius"),
    [("D-II", {"points_per_torus": 2500}, 0.17), ("linked-rings", {"m": 8}, 0.06)],
)
def test_tori_of_a_pair_are_linked(name, params, inner_radius):
    """Each class-b torus crosses the hole of its class-a partner and vice versa."""
    data = load_dataset(name, **params)
    for pair in range(len(np.unique(data.components)) // 2):
        a = data.X[data.components == 2 * pair]
        b = data.X[data.components == 2 * pair + 1]
        assert _passes_through_hole(a, b, axis=2, inner_radius=inner_radius)  # a winds around z
        assert _passes_through_hole(b, a, axis=1, inner_radius=inner_radius)  # b around y
        # control: moved out of the hole, the partner no longer passes through it
        assert not _passes_through_hole(a, b + [0.5, 0, 0], axis=2, inner_radius=inner_radius)


def test_lattice_shape_known_answers():
    assert synthetic.lattice_shape(1) == (1, 1, 1)
    assert synthetic.lattice_shape(8) == (2, 2, 2)
    assert synthetic.lattice_shape(150) == (6, 5, 5)
    assert synthetic.lattice_shape(180) == (6, 6, 5)
    assert synthetic.lattice_shape(216) == (6, 6, 6)
    for m in range(1, 300):
        shape = synthetic.lattice_shape(m)
        assert np.prod(shape) >= m and max(shape) - min(shape) <= 1


# --------------------------------------------------------------------------------------------
# components never touch at the measurement scale
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_knn_graph_has_no_edge_between_components(name):
    """At the recommended k (after the stride), no point's neighbour lies in another component,
    so the components are exactly the true beta_0 pieces of each class."""
    data = load_dataset(name)
    stride, k = data.measure["stride"], data.measure["k"]
    assert data.measure["metric"] == "knn-hop"
    for label, truth in data.true_betti.items():
        points = data.X[data.y == label][::stride]
        pieces = data.components[data.y == label][::stride]
        assert len(np.unique(pieces)) == truth[0]
        graph = knn_graph(points, k).tocoo()
        crossing = pieces[graph.row] != pieces[graph.col]
        assert not crossing.any(), f"{name} class {label}: {crossing.sum()} edges cross"


#: Smallest distance between a class-a and a class-b point, as documented (classes separable).
CLASS_GAPS = {
    "D-I": 0.05,
    "D-II": 0.04,
    "D-III": 0.09,
    "disks-grid": 0.015,
    "linked-rings": 0.04,
    "nested-shells": 0.055,
}


@pytest.mark.parametrize("name", NAMES)
def test_classes_are_separated(name):
    data = load_dataset(name)
    gap = cKDTree(data.X[data.y == 0]).query(data.X[data.y == 1])[0].min()
    assert gap > CLASS_GAPS[name]


# --------------------------------------------------------------------------------------------
# seeds and parameters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params"),
    [("D-I", {"noise": 0.002}), ("D-II", {}), ("D-III", {}), *SMALL.items()],
)
def test_seeded(name, params):
    first = load_dataset(name, seed=1, **params)
    again = load_dataset(name, seed=1, **params)
    other = load_dataset(name, seed=2, **params)
    np.testing.assert_array_equal(first.X, again.X)
    np.testing.assert_array_equal(first.y, again.y)
    assert first.X.shape != other.X.shape or not np.array_equal(first.X, other.X)
    assert first.params["seed"] == 1


def test_points_per_component_and_noise():
    data = load_dataset("linked-rings", m=4, points_per_ring=40)
    assert data.n_points == 4 * 2 * 40
    clean = load_dataset("nested-shells", m=2)
    noisy = load_dataset("nested-shells", m=2, noise=0.001)
    assert 0 < np.abs(noisy.X - clean.X).max() < 0.01
    assert load_dataset("D-III", points_per_shell=500, points_inner=100).n_points == 9 * 2100


@pytest.mark.parametrize("name", NAMES)
def test_shift_moves_every_point_and_keeps_the_topology(name):
    centred = load_dataset(name, **SMALL.get(name, {}))
    shifted = load_dataset(name, shift=-0.3, **SMALL.get(name, {}))
    # The built-in sets are centred at the origin; the shift moves every point alike.
    assert np.abs(centred.X.mean(axis=0)).max() < 0.05
    np.testing.assert_allclose(shifted.X, centred.X - 0.3, atol=1e-12)
    if centred.X_eval is not None:
        np.testing.assert_allclose(shifted.X_eval, centred.X_eval - 0.3, atol=1e-12)
        np.testing.assert_array_equal(shifted.y_eval, centred.y_eval)
    np.testing.assert_array_equal(shifted.y, centred.y)
    assert shifted.true_betti == centred.true_betti
    assert shifted.params["shift"] == -0.3 and "shift" not in centred.params
    assert DATASETS[name].defaults["shift"] == 0.0
    if name in SMALL:
        assert measured(shifted) == {c: b for c, b in centred.true_betti.items()}


def test_registry_names_and_case():
    assert list(DATASETS) == NAMES
    assert load_dataset("d-iii").name == "D-III"
    assert DATASETS["disks-grid"].defaults["n"] == 13


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("disks-grid", {"n": 0}, r"'n' parameter of disks-grid must be an int in the range \[1"),
        ("disks-grid", {"n": -3}, "must be an int"),
        ("disks-grid", {"n": 16}, r"16 x 16 disks .* overlap.*Use n <= 15"),
        ("disks-grid", {"radius": 0.08}, r"overlap.*smaller radius or margin"),
        ("linked-rings", {"m": 0}, r"'m' parameter of linked-rings"),
        ("linked-rings", {"m": 400}, r"400 pairs overlap.*Use m <= 343"),
        ("linked-rings", {"tube_radius": 0.05}, r"touch.*tube_radius < 0.04"),
        ("nested-shells", {"m": 0}, r"'m' parameter of nested-shells"),
        ("nested-shells", {"m": 600}, r"600 units overlap.*Use m <= 512"),
        ("nested-shells", {"inner_radius": 0.2}, "must be smaller than outer_radius"),
        ("nested-shells", {"shift": 11.0}, r"'shift' parameter of nested-shells .*\[-10, 10\]"),
        ("D-I", {"shift": float("nan")}, r"'shift' parameter of D-I"),
        ("D-I", {"radius": 0.25}, r"overlap.*smaller radius or margin"),
        ("D-II", {"points_per_torus": 0}, "points_per_torus"),
        ("D-III", {"noise": -1.0}, "'noise' parameter"),
        ("disks-grid", {"wrong": 1}, r"unknown parameter 'wrong'; valid parameters are n, "),
        ("disks-grid", {"points_per_disk": 10**9}, "more than the 5,000,000 allowed"),
    ],
)
def test_bad_parameters_are_refused(name, params, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(name, **params)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown data set 'spirals'; built-in names are D-I"):
        load_dataset("spirals")


# --------------------------------------------------------------------------------------------
# a user's labelled file, usable wherever a name is
# --------------------------------------------------------------------------------------------


def test_saved_dataset_round_trips(tmp_path):
    data = load_dataset("D-I")
    path = save_dataset(data, tmp_path / "d1.npz")
    again = load_dataset(path)
    np.testing.assert_array_equal(again.X, data.X)
    np.testing.assert_array_equal(again.y, data.y)
    assert again.name == "D-I"
    assert again.true_betti == data.true_betti
    assert again.measure == data.measure
    assert again.params == data.params
    np.testing.assert_allclose(again.X_eval, data.X_eval)  # rebuilt from meta["eval_grid"]
    np.testing.assert_array_equal(again.y_eval, data.y_eval)  # stored as the array "y_eval"
    with np.load(path) as archive:
        meta = json.loads(str(archive["meta"]))
    assert meta["true_betti"] == {"0": [9, 0], "1": [1, 9]}
    assert set(meta["measure"]) == {"metric", "k", "scale", "stride", "max_dim"}
    assert "environment" in meta and meta["params"]["seed"] == 0


def test_user_npz_without_meta_gets_default_measure(tmp_path):
    points = np.random.default_rng(0).normal(size=(50, 3))
    labels = np.repeat([0, 1], 25)
    save_point_cloud(tmp_path / "mine.npz", points, labels)
    data = load_dataset(str(tmp_path / "mine.npz"))
    assert data.name == "mine" and data.true_betti == {}
    assert data.measure == {"metric": "knn-hop", "k": 35, "scale": 2.5, "stride": 1, "max_dim": 1}
    assert data.X_eval is None


def test_user_csv_with_text_labels(tmp_path):
    path = tmp_path / "cloud.csv"
    path.write_text("x,y,label\n0,0,cat\n1,0,dog\n0,1,cat\n1,1,dog\n")
    data = load_dataset(path)
    assert data.X.shape == (4, 2)
    assert data.y.tolist() == [0, 1, 0, 1]
    assert data.params["label_names"] == ["cat", "dog"]


@pytest.mark.parametrize(
    ("labels", "names"),
    [
        ([-1, 0, 1], ["-1", "0", "1"]),  # a negative class would crash cross-entropy
        ([0, 5, 9], ["0", "5", "9"]),  # gaps would add empty classes
        ([1, 2, 3], ["1", "2", "3"]),
        ([0.5, 1.5, 2.5], ["0.5", "1.5", "2.5"]),
        ([0.0, 1.0, 2.0], None),  # already class indices
    ],
)
def test_file_labels_become_class_indices(tmp_path, labels, names):
    points = np.random.default_rng(0).normal(size=(30, 2))
    y = np.repeat(np.array(labels), 10)
    meta = {"true_betti": {str(labels[0]): [1, 0], str(labels[2]): [1, 1]}}
    save_point_cloud(tmp_path / "mine.npz", points, y, meta)
    data = load_dataset(tmp_path / "mine.npz")
    assert data.y.tolist() == np.repeat([0, 1, 2], 10).tolist()
    assert data.params.get("label_names") == names
    assert data.true_betti == {0: (1, 0), 2: (1, 1)}  # keyed like y


def test_file_labels_must_be_labels(tmp_path):
    points = np.random.default_rng(0).normal(size=(40, 2))
    for name, y, message in [
        ("nan", np.r_[np.zeros(39), np.nan], "labels y contain NaN"),
        ("wide", np.zeros((40, 2)), r"one label per point \(1-D\); got shape \(40, 2\)"),
        ("continuous", points[:, 0], "40 distinct labels for 40 points"),
    ]:
        save_point_cloud(tmp_path / f"{name}.npz", points, y)
        with pytest.raises(DataFileError, match=message):
            load_dataset(tmp_path / f"{name}.npz")
    save_point_cloud(tmp_path / "column.npz", points, np.zeros((40, 1)))
    assert load_dataset(tmp_path / "column.npz").y.shape == (40,)  # a column vector is fine


def test_file_errors(tmp_path):
    save_point_cloud(tmp_path / "unlabelled.npz", np.zeros((5, 2)))
    with pytest.raises(DataFileError, match="needs class labels; add an array 'y'"):
        load_dataset(tmp_path / "unlabelled.npz")
    with pytest.raises(DataFileError, match="no such file"):
        load_dataset(tmp_path / "missing.npz")
    save_point_cloud(tmp_path / "ok.npz", np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(ValueError, match="apply to built-in data sets only"):
        load_dataset(tmp_path / "ok.npz", n=3)
    with pytest.raises(ValueError, match=r"saved as \.npz"):
        save_dataset(load_dataset("disks-grid", n=1), tmp_path / "x.csv")

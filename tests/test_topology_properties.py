"""Property tests: every fast path equals a plain persistent-homology library on random clouds.

The references are ripser (on the dense Euclidean cloud, or on the sparse hop-distance matrix for
knn-hop) and GUDHI's Rips complex without any reduction. Scales are placed halfway between two
consecutive pairwise distances, so float32 (ripser) and float64 (the engine) agree on every edge.
"""

from __future__ import annotations

import numpy as np
import pytest
import ripser
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist
from test_topology import _naive_hop_graph  # the reference: every product taken

from bettiscope import betti_numbers
from bettiscope.topology import (
    _RIPSER_TRIANGLES_PER_EDGE,
    dominated_vertices,
    estimate_clique_counts,
    flag_complex_betti,
    hop_graph,
    knn_graph,
    scale_graph,
)

# ripser's "did you mean to transpose?" hints are expected for tiny clouds in many dimensions
pytestmark = pytest.mark.filterwarnings("ignore:The input:UserWarning")

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def clouds(draw: st.DrawFn, max_points: int = 40, max_dim_features: int = 4) -> np.ndarray:
    seed = draw(st.integers(0, 2**32 - 1))
    n_points = draw(st.integers(3, max_points))
    n_features = draw(st.integers(1, max_dim_features))
    layout = draw(st.sampled_from(["gaussian", "uniform", "clusters", "ring"]))
    rng = np.random.default_rng(seed)
    if layout == "gaussian":
        return rng.normal(size=(n_points, n_features))
    if layout == "uniform":
        return rng.uniform(-1, 1, size=(n_points, n_features))
    if layout == "clusters":
        centres = rng.normal(scale=4.0, size=(3, n_features))
        return centres[rng.integers(0, 3, n_points)] + rng.normal(size=(n_points, n_features))
    angles = rng.uniform(0, 2 * np.pi, n_points)
    ring = np.c_[np.cos(angles), np.sin(angles)] + rng.normal(scale=0.1, size=(n_points, 2))
    return np.c_[ring, np.zeros((n_points, max(0, n_features - 2)))]


def _safe_scale(points: np.ndarray, quantile: float) -> float:
    """A scale halfway between two consecutive distinct pairwise distances."""
    distances = np.unique(pdist(points))
    assume(len(distances) >= 2)
    i = min(int(quantile * (len(distances) - 1)), len(distances) - 2)
    low, high = distances[i], distances[i + 1]
    assume(high - low > 1e-5 * max(1.0, high))
    return float((low + high) / 2)


def _ripser_betti(distances: object, max_dim: int, thresh: float, **kw: object) -> tuple:
    diagrams = ripser.ripser(distances, maxdim=max_dim, thresh=thresh, **kw)["dgms"]
    return tuple(int(np.isinf(d[:, 1]).sum()) for d in diagrams)


def _gudhi_rips_betti(points: np.ndarray, scale: float, max_dim: int) -> tuple:
    import gudhi

    tree = gudhi.RipsComplex(points=points, max_edge_length=scale).create_simplex_tree(
        max_dimension=max_dim + 1
    )
    tree.compute_persistence(homology_coeff_field=2, persistence_dim_max=True)
    betti = list(tree.betti_numbers())[: max_dim + 1]
    return tuple(betti + [0] * (max_dim + 1 - len(betti)))


@PROPERTY_SETTINGS
@given(points=clouds(), quantile=st.floats(0.0, 0.6), max_dim=st.integers(0, 2))
def test_euclidean_equals_ripser_and_gudhi(points: np.ndarray, quantile: float, max_dim: int):
    points = np.unique(points, axis=0)
    assume(len(points) >= 3)
    scale = _safe_scale(points, quantile)
    expected = _ripser_betti(points, max_dim, scale)
    assert betti_numbers(points, scale=scale, max_dim=max_dim) == expected
    assert betti_numbers(points, scale=scale, max_dim=max_dim, method="collapse") == expected
    assert _gudhi_rips_betti(points, scale, max_dim) == expected


@PROPERTY_SETTINGS
@given(points=clouds(), quantile=st.floats(0.0, 0.6))
def test_high_dimensional_euclidean_equals_ripser(points: np.ndarray, quantile: float):
    """The blocked-BLAS edge search (used above 16 features) against ripser."""
    points = np.unique(points, axis=0)
    assume(len(points) >= 3)
    rng = np.random.default_rng(len(points))
    lifted = points @ rng.normal(size=(points.shape[1], 24))
    scale = _safe_scale(lifted, quantile)
    assert betti_numbers(lifted, scale=scale, max_dim=1) == _ripser_betti(lifted, 1, scale)


@PROPERTY_SETTINGS
@given(
    points=clouds(max_points=50),
    k=st.integers(2, 8),
    hops=st.integers(1, 3),
    max_dim=st.integers(1, 2),
)
def test_knn_hop_equals_ripser_on_the_hop_matrix(
    points: np.ndarray, k: int, hops: int, max_dim: int
):
    points = np.unique(points, axis=0)
    assume(len(points) > k)
    from scipy.sparse.csgraph import shortest_path

    # reference: ripser on the sparse hop-distance matrix, thresholded at the hop count
    hop = shortest_path(knn_graph(points, k), unweighted=True, directed=False)
    hop[~np.isfinite(hop) | (hop > hops)] = 0
    expected = _ripser_betti(
        sp.coo_matrix(np.triu(hop, 1)), max_dim, float(hops), distance_matrix=True
    )
    for method in ("auto", "strong", "collapse", "plain"):
        result = betti_numbers(
            points, metric="knn-hop", k=k, scale=hops + 0.5, max_dim=max_dim, method=method
        )
        assert result == expected, method
    # beta_0 alone takes a shortcut (components of the kNN graph, no hop graph) under auto
    for method in ("auto", "strong", "collapse"):
        alone = betti_numbers(
            points, metric="knn-hop", k=k, scale=hops + 0.5, max_dim=0, method=method
        )
        assert alone == expected[:1], method


@PROPERTY_SETTINGS
@given(points=clouds(max_points=35), quantile=st.floats(0.05, 0.7), max_dim=st.integers(1, 3))
def test_all_methods_agree(points: np.ndarray, quantile: float, max_dim: int):
    points = np.unique(points, axis=0)
    assume(len(points) >= 3)
    graph = scale_graph(points, scale=_safe_scale(points, quantile))
    answers = {
        m: flag_complex_betti(graph, max_dim=max_dim, method=m)[0]
        for m in ("collapse", "ripser", "plain")
    }
    assert len(set(answers.values())) == 1, answers


@PROPERTY_SETTINGS
@given(points=clouds(max_points=30), quantile=st.floats(0.0, 0.6), stride=st.integers(1, 3))
def test_invariant_under_row_duplication_and_rigid_motion(
    points: np.ndarray, quantile: float, stride: int
):
    points = np.unique(points, axis=0)
    assume(len(points) >= 3)
    scale = _safe_scale(points, quantile)
    base = betti_numbers(points, scale=scale, max_dim=1)
    doubled = np.repeat(points, 2, axis=0)
    assert betti_numbers(doubled, scale=scale, max_dim=1) == base
    assert betti_numbers(doubled, scale=scale, max_dim=1, stride=2) == base
    shifted = points + 3.0
    assert betti_numbers(shifted, scale=scale, max_dim=1) == base
    assert betti_numbers(points, scale=scale, stride=stride).n_points == len(points[::stride])


def _sklearn_knn_graph(points: np.ndarray, k: int) -> sp.csr_matrix:
    """The reference kNN graph: scikit-learn's neighbours, exactly as the engine used them."""
    from sklearn.neighbors import NearestNeighbors

    n = len(points)
    neighbours = (
        NearestNeighbors(n_neighbors=k).fit(points).kneighbors(points, return_distance=False)
    )
    is_self = neighbours == np.arange(n)[:, None]
    others = np.where(is_self, -1, neighbours)
    others[~is_self.any(axis=1), -1] = -1
    rows, cols = np.repeat(np.arange(n), k), others.ravel()
    keep = cols >= 0
    graph = sp.coo_matrix(
        (np.ones(keep.sum(), dtype=bool), (rows[keep], cols[keep])), shape=(n, n)
    ).tocsr()
    return (graph + graph.T).astype(bool).tocsr()


@st.composite
def tied_clouds(draw: st.DrawFn) -> np.ndarray:
    """Points on a coarse integer lattice (many equal distances), possibly repeated."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_points = draw(st.integers(6, 80))
    n_features = draw(st.integers(1, 4))
    rng = np.random.default_rng(seed)
    points = rng.integers(-3, 4, size=(n_points, n_features)).astype(float)
    if draw(st.booleans()):
        points = np.unique(points, axis=0)
    return points


@PROPERTY_SETTINGS
@given(points=st.one_of(clouds(max_points=80), tied_clouds()), k=st.integers(2, 12))
def test_knn_graph_equals_scikit_learn_even_with_ties(points: np.ndarray, k: int):
    """The scipy k-d tree fast path must give scikit-learn's graph exactly, ties included."""
    assume(len(points) > k)
    expected = _sklearn_knn_graph(points, k)
    assert (knn_graph(points, k) != expected).nnz == 0


@PROPERTY_SETTINGS
@given(points=st.one_of(clouds(max_points=60), tied_clouds()), k=st.integers(2, 8))
def test_dominated_vertices_have_a_kept_dominator(points: np.ndarray, k: int):
    points = np.unique(points, axis=0)
    assume(len(points) > k)
    graph = knn_graph(points, k)
    dominated = dominated_vertices(graph)
    closed = (graph + sp.identity(len(points), dtype=bool)).toarray()
    for v in np.flatnonzero(dominated):
        # some vertex that stays has a closed neighbourhood containing v's
        dominators = np.flatnonzero(~dominated & closed[v] & (closed[v] <= closed).all(axis=1))
        assert len(dominators) > 0, v


@PROPERTY_SETTINGS
@given(
    points=st.one_of(clouds(max_points=50), tied_clouds()),
    k=st.integers(2, 8),
    hops=st.integers(1, 3),
)
def test_deleting_dominated_vertices_keeps_the_homology(points: np.ndarray, k: int, hops: int):
    """Against GUDHI without any reduction, on the hop graph with and without those vertices."""
    points = np.unique(points, axis=0)
    assume(len(points) > k)
    knn = knn_graph(points, k)
    graph = hop_graph(knn, hops)
    keep = np.flatnonzero(~dominated_vertices(knn))
    full, _ = flag_complex_betti(graph, max_dim=2, method="plain")
    reduced, _ = flag_complex_betti(graph[keep][:, keep], max_dim=2, method="plain")
    assert full == reduced


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    width=st.integers(100, 120),
    drop=st.floats(0.0, 0.1),
    holes=st.integers(0, 3),
)
def test_auto_on_dense_graphs_equals_collapse(seed: int, width: int, drop: float, holes: int):
    # dense ring-like graphs, where "auto" answers beta_1 with ripser instead of the collapses
    rng = np.random.default_rng(seed)
    n = 360
    offsets = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    gap = np.minimum(offsets, n - offsets)
    dense = np.triu((gap > 0) & (gap <= width) & (rng.random((n, n)) >= drop), 1)
    for start in rng.integers(0, n, holes):  # cut the ring: whole arcs lose their edges
        arc = (np.arange(n) - start) % n < width
        dense[np.ix_(arc, arc)] = False
    graph = sp.csr_matrix(dense | dense.T)
    triangles_per_edge = estimate_clique_counts(graph, 3)[2] / max(graph.nnz // 2, 1)
    assume(triangles_per_edge > _RIPSER_TRIANGLES_PER_EDGE)
    assert (
        flag_complex_betti(graph, max_dim=1)[0]
        == flag_complex_betti(graph, max_dim=1, method="collapse")[0]
    )


@PROPERTY_SETTINGS
@given(points=st.one_of(clouds(max_points=40), tied_clouds()), k=st.integers(2, 6), data=st.data())
def test_hop_graph_stops_early_without_changing_a_stored_entry(
    points: np.ndarray, k: int, data: st.DataObject
):
    """Past the diameter the products stop; the stored order (which the edge collapse's output
    size depends on) must still be the one every product would have left."""
    points = np.unique(points, axis=0)
    assume(len(points) > k)
    graph = knn_graph(points, k)
    hops = data.draw(st.integers(1, len(points) + 4), label="hops")
    result, expected = hop_graph(graph, hops), _naive_hop_graph(graph, hops)
    assert np.array_equal(result.indptr, expected.indptr)
    assert np.array_equal(result.indices, expected.indices)
    assert result.data.all() and len(result.data) == len(expected.data)


@PROPERTY_SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 30),
    density=st.floats(0.0, 0.3),
    hops=st.integers(1, 4),
)
def test_hop_graph_reads_any_adjacency_as_undirected(seed: int, n: int, density: float, hops: int):
    rng = np.random.default_rng(seed)
    directed = rng.random((n, n)) < density  # asymmetric, diagonal included
    result = hop_graph(sp.csr_matrix(directed), hops)
    undirected = (directed | directed.T) & ~np.eye(n, dtype=bool)
    expected = _naive_hop_graph(sp.csr_matrix(undirected), hops)
    assert (result != result.T).nnz == 0 and not result.diagonal().any()
    assert (result != expected).nnz == 0


@PROPERTY_SETTINGS
@given(points=clouds(max_points=25), exponent=st.integers(0, 1000), knn=st.booleans())
def test_huge_coordinates_give_the_same_answer_or_a_clear_refusal(
    points: np.ndarray, exponent: int, knn: bool
):
    """Scaling by a power of two is exact, so the answer may not change - until squared
    distances overflow, where the engine must refuse (not crash, not answer wrongly)."""
    points = np.unique(points, axis=0)
    assume(len(points) >= 5)
    factor = 2.0**exponent
    params: dict = {"metric": "knn-hop", "k": 4, "scale": 2.5} if knn else {}
    scale = params.pop("scale", float(np.median(pdist(points))))
    expected = betti_numbers(points, scale=scale, **params)
    scaled_scale = scale if knn else scale * factor
    try:
        scaled = betti_numbers(points * factor, scale=scaled_scale, **params)
    except ValueError as error:
        assert "overflow" in str(error) and "Rescale the" in str(error)
        assert exponent > 500  # squared distances overflow only above ~2^512
    else:
        assert scaled == expected

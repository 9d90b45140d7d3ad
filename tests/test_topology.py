"""Known answers and guard rails of the topology engine."""

from __future__ import annotations

import contextlib
import pickle
import re
import signal
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
import scipy.sparse as sp

from bettiscope import ComplexTooLargeError, betti_by_class, betti_numbers
from bettiscope.datasets import shapes
from bettiscope.topology import (
    METHODS,
    PARAMETER_CONSTRAINTS,
    BettiResult,
    dominated_vertices,
    estimate_clique_counts,
    flag_complex_betti,
    hop_graph,
    knn_graph,
    persistence_diagrams,
    scale_graph,
    subsample,
)

# (points, euclidean scale, knn-hop k, true Betti numbers up to dimension 2)
KNOWN_SHAPES = {
    "circle": (shapes.circle(100), 0.3, 4, (1, 1, 0)),
    "three circles": (shapes.disjoint_circles(3), 0.3, 4, (3, 3, 0)),
    "five circles": (shapes.disjoint_circles(5, spacing=2.5), 0.3, 4, (5, 5, 0)),
    "figure-eight": (shapes.figure_eight(), 0.2, 4, (1, 2, 0)),
    "sphere": (shapes.sphere(400), 0.3, 8, (1, 0, 1)),
    "torus": (shapes.torus(), 0.7, 9, (1, 2, 1)),
}


def _edges(graph: sp.spmatrix) -> set[tuple[int, int]]:
    upper = sp.triu(graph, 1).tocoo()
    return set(zip(upper.row.tolist(), upper.col.tolist(), strict=True))


class TestKnownShapes:
    @pytest.mark.parametrize("name", KNOWN_SHAPES)
    @pytest.mark.parametrize("method", ["auto", "plain", "ripser"])
    def test_euclidean(self, name: str, method: str) -> None:
        points, scale, _, truth = KNOWN_SHAPES[name]
        assert betti_numbers(points, scale=scale, max_dim=2, method=method) == truth

    @pytest.mark.parametrize("name", KNOWN_SHAPES)
    @pytest.mark.parametrize("method", ["auto", "strong", "collapse", "plain", "ripser"])
    def test_knn_hop(self, name: str, method: str) -> None:
        points, _, k, truth = KNOWN_SHAPES[name]
        result = betti_numbers(points, metric="knn-hop", k=k, scale=2.5, max_dim=2, method=method)
        assert result == truth

    def test_max_dim_truncates(self) -> None:
        points, scale, _, _ = KNOWN_SHAPES["torus"]
        assert betti_numbers(points, scale=scale, max_dim=0) == (1,)
        assert betti_numbers(points, scale=scale, max_dim=1) == (1, 2)
        assert betti_numbers(points, scale=scale, max_dim=3) == (1, 2, 1, 0)

    def test_scale_below_spacing_gives_isolated_points(self) -> None:
        points = shapes.circle(50)  # neighbours ~0.126 apart
        assert betti_numbers(points, scale=0.1) == (50, 0)

    def test_scale_is_inclusive(self) -> None:
        points = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]])
        assert betti_numbers(points, scale=1.0, max_dim=0) == (2,)
        assert betti_numbers(points, scale=np.nextafter(1.0, 0.0), max_dim=0) == (3,)

    def test_high_dimensional_path_matches_low_dimensional(self) -> None:
        """The BLAS path (> 16 features) and the k-d tree path give the same edges."""
        rng = np.random.default_rng(3)
        points = rng.normal(size=(120, 3))
        rotation, _ = np.linalg.qr(rng.normal(size=(40, 40)))
        lifted = np.c_[points, np.zeros((120, 37))] @ rotation  # isometric embedding in R^40
        scale = 0.9
        low = scale_graph(points, scale=scale)
        high = scale_graph(lifted, scale=scale)
        assert _edges(low) == _edges(high)
        assert betti_numbers(lifted, scale=scale, max_dim=2) == betti_numbers(
            points, scale=scale, max_dim=2
        )


class TestKnnHop:
    def test_k_counts_the_point_itself(self) -> None:
        # irregular gaps: each point's single nearest neighbour is unambiguous
        points = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]])
        graph = knn_graph(points, k=2)
        assert _edges(graph) == {(0, 1), (1, 2), (2, 3), (3, 4)}

    def test_union_symmetrisation(self) -> None:
        # point 2 (at 10) picks 1 (at 3) as nearest, but 1's nearest is 0: the union keeps both
        points = np.array([[0.0], [1.0], [10.0]])
        assert _edges(knn_graph(points, k=2)) == {(0, 1), (1, 2)}

    def test_hops(self) -> None:
        path = knn_graph(np.array([[0.0], [1.0], [3.0], [6.0], [10.0]]), k=2)
        assert _edges(hop_graph(path, 1)) == _edges(path)
        assert _edges(hop_graph(path, 2)) == _edges(path) | {(0, 2), (1, 3), (2, 4)}
        assert len(_edges(hop_graph(path, 4))) == 10

    def test_square_cycle_fills_at_two_hops(self) -> None:
        square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
        assert betti_numbers(square, metric="knn-hop", k=3, scale=1.0) == (1, 1)
        assert betti_numbers(square, metric="knn-hop", k=3, scale=2.5) == (1, 0)

    def test_hexagon_becomes_an_octahedron_at_two_hops(self) -> None:
        # the square of a 6-cycle is the octahedron graph: its clique complex is a 2-sphere
        hexagon = shapes.circle(6)
        assert betti_numbers(hexagon, metric="knn-hop", k=3, scale=1.5, max_dim=2) == (1, 1, 0)
        assert betti_numbers(hexagon, metric="knn-hop", k=3, scale=2.5, max_dim=2) == (1, 0, 1)

    def test_scale_is_floored(self) -> None:
        hexagon = shapes.circle(6)
        for scale in (2.0, 2.5, 2.99):
            assert betti_numbers(hexagon, metric="knn-hop", k=3, scale=scale, max_dim=2) == (
                1,
                0,
                1,
            )

    def test_duplicates_without_dedupe_still_use_k_minus_one_others(self) -> None:
        points = np.array([[0.0], [0.0], [1.0], [3.0], [6.0]])
        graph = knn_graph(points, k=2)
        assert (np.diff(graph.indptr) >= 1).all()
        assert graph.nnz // 2 <= len(points)

    def test_origin_point_artefact(self) -> None:
        ring = shapes.circle(12, radius=1.0)
        plain = betti_numbers(ring, metric="knn-hop", k=3, scale=1.5)
        artefact = betti_numbers(ring, metric="knn-hop", k=3, scale=1.5, origin_point=True)
        assert plain.n_points == 12 and artefact.n_points == 13
        assert plain == (1, 1)
        # the origin point's own neighbours reach the ring: it joins the cloud as a new vertex
        assert artefact[0] == 1
        assert artefact.params["origin_point"] is True

    def test_origin_point_merges_with_an_existing_origin(self) -> None:
        cloud = np.vstack([shapes.circle(12), [[0.0, 0.0]]])
        assert len(subsample(cloud, origin_point=True)) == 13


class TestSubsampling:
    def test_stride_keeps_every_nth_in_order(self) -> None:
        points = np.arange(20, dtype=float).reshape(10, 2)
        np.testing.assert_array_equal(subsample(points, stride=3), points[[0, 3, 6, 9]])

    def test_dedupe_keeps_first_occurrence_in_order(self) -> None:
        points = np.array([[2.0, 0], [1.0, 0], [2.0, 0], [0.0, 0], [1.0, 0]])
        np.testing.assert_array_equal(subsample(points), [[2.0, 0], [1.0, 0], [0.0, 0]])
        assert len(subsample(points, dedupe=False)) == 5

    def test_result_records_points_used(self) -> None:
        points = np.repeat(shapes.circle(40), 2, axis=0)  # every point twice
        result = betti_numbers(points, scale=0.3, stride=1)
        assert result.n_input == 80 and result.n_points == 40
        assert betti_numbers(points, scale=0.3, stride=2).n_points == 40

    def test_input_not_modified(self) -> None:
        points = shapes.circle(30)
        copy = points.copy()
        betti_numbers(points, metric="knn-hop", k=4, scale=2.5, stride=2, origin_point=True)
        np.testing.assert_array_equal(points, copy)


class TestResultsAndClasses:
    def test_result_is_a_tuple_with_provenance(self) -> None:
        result = betti_numbers(shapes.circle(50), scale=0.3)
        assert isinstance(result, tuple) and isinstance(result, BettiResult)
        info = result.to_dict()
        assert info["betti"] == [1, 1]
        assert info["params"]["metric"] == "euclidean"
        assert info["n_edges"] >= 50 and info["seconds"] >= 0
        assert "b1=1" in str(result)
        clone = pickle.loads(pickle.dumps(result))
        assert clone == result and clone.to_dict() == info

    def test_betti_by_class(self) -> None:
        points = np.vstack([shapes.circle(60), shapes.disjoint_circles(2, 60) + [10.0, 0.0]])
        labels = np.array(["ring"] * 60 + ["pair"] * 120)
        results = betti_by_class(points, labels, scale=0.3)
        assert results == {"pair": (2, 2), "ring": (1, 1)}
        assert results["pair"].n_points == 120

    def test_betti_by_class_names_the_class_in_errors(self) -> None:
        points = np.vstack([shapes.circle(60), shapes.circle(5)])
        labels = np.array([0] * 60 + [1] * 5)
        with pytest.raises(ValueError, match="class 1: .*k=10"):
            betti_by_class(points, labels, metric="knn-hop", k=10, scale=2.5)

    def test_progress_callbacks(self) -> None:
        stages: list[str] = []
        betti_numbers(shapes.circle(30), scale=0.3, progress=lambda s, d, t: stages.append(s))
        assert stages[0] == "subsample" and stages[-1] == "done"

    def test_persistence_diagrams_agree_with_betti_numbers(self) -> None:
        points = shapes.disjoint_circles(2, 40)
        scale = 0.5
        diagrams = persistence_diagrams(points, max_dim=1)
        alive = [int(((d[:, 0] <= scale) & (d[:, 1] > scale)).sum()) for d in diagrams]
        assert tuple(alive) == betti_numbers(points, scale=scale)

    def test_knn_hop_persistence_diagrams(self) -> None:
        hexagon = shapes.circle(6)
        diagrams = persistence_diagrams(hexagon, metric="knn-hop", k=3, max_dim=2)
        # one H1 bar born at 1 hop, killed at 2 hops; one H2 bar born at 2 hops
        assert diagrams[1].tolist() == [[1.0, 2.0]]
        assert diagrams[2][:, 0].tolist() == [2.0]


class TestGuardRails:
    @pytest.mark.parametrize(
        ("points", "message"),
        [
            (np.array([[0.0, np.nan], [1.0, 1.0]]), "NaN in 1 row"),
            (np.array([[0.0, np.inf], [1.0, 1.0]]), "infinity"),
            (np.zeros(5), "must be 2-D.*reshape"),
            (np.zeros((2, 3, 4)), "must be 2-D.*Flatten"),
            (np.zeros((0, 3)), "at least 1 point"),
            (np.array([["a", "b"]]), "must be numeric"),
            ([[1.0, 2.0], [3.0]], "2-D numeric array|could not convert"),
            (np.ones((3, 2), dtype=complex), "real-valued|numeric"),
        ],
    )
    def test_bad_points(self, points: object, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            betti_numbers(points, scale=1.0)

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"scale": 0.0}, "'scale' parameter of betti_numbers must be a float in the range"),
            ({"scale": -1.0}, "'scale'.*Got -1.0"),
            ({"scale": float("nan")}, "'scale'"),
            ({"scale": 1.0, "metric": "cosine"}, "'metric'.*one of 'euclidean', 'knn-hop'"),
            ({"scale": 1.0, "max_dim": -1}, "'max_dim'"),
            ({"scale": 1.0, "max_dim": 1.5}, "'max_dim'.*an int"),
            ({"scale": 1.0, "stride": 0}, "'stride'"),
            ({"scale": 1.0, "method": "magic"}, "'method'"),
            ({"scale": 1.0, "metric": "knn-hop"}, "needs k"),
            ({"scale": 1.0, "k": 5}, "k applies only to metric='knn-hop'"),
            ({"scale": 2.5, "metric": "knn-hop", "k": 1}, "'k'.*range \\[2, inf\\)"),
            ({"scale": 2.5, "metric": "knn-hop", "k": 30}, "k=30 must be smaller than.*20"),
            ({"scale": 2.5, "metric": "knn-hop", "k": 10, "stride": 4}, "stride 4.*5 of 20"),
        ],
    )
    def test_bad_parameters(self, params: dict, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            betti_numbers(shapes.circle(20), **params)

    def test_every_declared_constraint_rejects_a_bad_value(self) -> None:
        bad_values = {
            "metric": "nope",
            "scale": -1,
            "k": 0,
            "max_dim": 99,
            "stride": 0,
            "memory_limit": -1.0,
            "method": "nope",
        }
        assert set(bad_values) == set(PARAMETER_CONSTRAINTS)
        for name, value in bad_values.items():
            params = {"scale": 2.5, "metric": "knn-hop", "k": 3, name: value}
            with pytest.raises(ValueError, match=f"'{name}' parameter"):
                betti_numbers(shapes.circle(20), **params)

    @pytest.mark.parametrize("method", ["plain", "ripser"])
    def test_refuses_a_complex_that_does_not_fit(self, method: str) -> None:
        dense = np.random.default_rng(0).normal(size=(300, 3))
        with pytest.raises(ComplexTooLargeError, match="max_dim.*scale.*stride") as info:
            betti_numbers(dense, scale=100.0, max_dim=3, memory_limit=0.01, method=method)
        message = str(info.value)
        assert re.search(r"about [\d.]+ [GT]iB", message) and "flag complex" in message

    def test_collapse_makes_a_dense_complex_affordable(self) -> None:
        # the complete graph collapses to a point, so the same request fits after reduction
        dense = np.random.default_rng(0).normal(size=(300, 3))
        assert betti_numbers(dense, scale=100.0, max_dim=3, memory_limit=0.01) == (1, 0, 0, 0)

    def test_refuses_a_graph_that_does_not_fit(self) -> None:
        dense = np.random.default_rng(0).normal(size=(2000, 3))
        with pytest.raises(ComplexTooLargeError, match="scale graph.*smaller scale"):
            betti_numbers(dense, scale=100.0, max_dim=0, memory_limit=0.001)
        lifted = np.random.default_rng(0).normal(size=(2000, 30))
        with pytest.raises(ComplexTooLargeError, match="scale graph"):
            betti_numbers(lifted, scale=1000.0, max_dim=0, memory_limit=0.001)

    def test_refuses_too_many_hops(self) -> None:
        cloud = np.random.default_rng(0).normal(size=(2000, 3))
        with pytest.raises(ComplexTooLargeError, match="hop graph.*fewer hops"):
            betti_numbers(cloud, metric="knn-hop", k=20, scale=6, memory_limit=0.001)

    def test_tensor_input(self) -> None:
        torch = pytest.importorskip("torch")
        points = torch.tensor(shapes.circle(40), requires_grad=True)
        assert betti_numbers(points, scale=0.3) == (1, 1)


@pytest.fixture
def ripser_calls(monkeypatch) -> list[int]:
    """Records the vertex count of every graph the engine hands to ripser (it still runs)."""
    import bettiscope.topology as topology

    calls: list[int] = []
    real = topology._ripser_betti

    def spy(graph, *args):
        calls.append(graph.shape[0])
        return real(graph, *args)

    monkeypatch.setattr(topology, "_ripser_betti", spy)
    return calls


class TestFlagComplex:
    def test_hollow_tetrahedron_boundary(self) -> None:
        # the boundary of a tetrahedron as a graph is K4, whose clique complex is a solid simplex
        k4 = sp.csr_matrix(np.ones((4, 4)) - np.eye(4))
        for method in METHODS:
            assert flag_complex_betti(k4, max_dim=2, method=method)[0] == (1, 0, 0)

    def test_octahedron_graph_is_a_sphere(self) -> None:
        octahedron = np.ones((6, 6)) - np.eye(6)
        for i in range(3):
            octahedron[2 * i, 2 * i + 1] = octahedron[2 * i + 1, 2 * i] = 0
        for method in METHODS:
            betti, _ = flag_complex_betti(sp.csr_matrix(octahedron), max_dim=2, method=method)
            assert betti == (1, 0, 1)

    def test_empty_graph(self) -> None:
        assert flag_complex_betti(sp.csr_matrix((5, 5)), max_dim=2)[0] == (5, 0, 0)

    def test_rejects_non_square(self) -> None:
        with pytest.raises(ValueError, match="square"):
            flag_complex_betti(sp.csr_matrix((3, 4)), max_dim=1)

    def test_auto_sends_dense_graphs_to_ripser_for_beta_1(self, ripser_calls) -> None:
        calls = ripser_calls

        def cycle_power(n: int, width: int) -> sp.csr_matrix:
            # i ~ j when cyclically at most `width` apart: a circle while width < n / 3
            offsets = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
            gap = np.minimum(offsets, n - offsets)
            return sp.csr_matrix((gap > 0) & (gap <= width))

        dense = cycle_power(500, 120)  # ~60 triangles per edge (by the bound "auto" uses)
        assert flag_complex_betti(dense, max_dim=1)[0] == (1, 1)
        assert calls, "a dense graph should go to ripser"
        assert flag_complex_betti(dense, max_dim=1, method="collapse")[0] == (1, 1)
        # ripser stores no triangles: "auto" bounds its memory by the edges (~60 MB here) and is
        # not refused where the clique-count check (~450 MB) refuses an explicit method="ripser"
        assert flag_complex_betti(dense, max_dim=1, memory_limit=0.1)[0] == (1, 1)
        with pytest.raises(ComplexTooLargeError):
            flag_complex_betti(dense, max_dim=1, method="ripser", memory_limit=0.1)
        calls.clear()
        # sparse graphs (a few triangles per edge) stay with the collapses, and so does beta_2 of
        # a dense graph whose collapse does not stall (a cycle power collapses to its circle)
        assert flag_complex_betti(cycle_power(500, 3), max_dim=1)[0] == (1, 1)
        assert flag_complex_betti(dense, max_dim=2)[0] == (1, 1, 0)
        assert not calls

    def test_auto_sends_beta_2_to_ripser_where_the_collapse_stalls(
        self, ripser_calls, monkeypatch
    ) -> None:
        import bettiscope.topology as topology

        calls = ripser_calls
        # at this size the graph has ~19 triangles per edge: lower the threshold rather than
        # build the ~70-part graph (~47 per edge) that crosses the real one
        monkeypatch.setattr(topology, "_RIPSER_TRIANGLES_PER_EDGE", 10.0)

        def cross_polytope(parts: int) -> np.ndarray:
            # all pairs but the antipodal ones: the flag complex is the sphere S^(parts - 1), and
            # no edge is dominated, so the edge collapse removes nothing (it stalls at once)
            graph = ~np.eye(2 * parts, dtype=bool)
            for i in range(parts):
                graph[2 * i, 2 * i + 1] = graph[2 * i + 1, 2 * i] = False
            return graph

        # S^29 (b0 = 1, nothing below dimension 29) beside an octahedron (S^2): (2, 0, 1)
        graph = sp.block_diag(
            [sp.csr_matrix(cross_polytope(30)), sp.csr_matrix(cross_polytope(3))]
        ).tocsr()
        betti, reduced = flag_complex_betti(graph, max_dim=2)
        assert betti == (2, 0, 1)
        assert calls, "a dense graph whose collapse stalls should go to ripser for beta_2"
        assert reduced == graph.nnz // 2  # the stalled collapse removed nothing
        calls.clear()
        assert flag_complex_betti(graph, max_dim=2, method="collapse")[0] == (2, 0, 1)
        assert not calls
        # neither ripser nor GUDHI fits: a clear refusal, not a long collapse
        with pytest.raises(ComplexTooLargeError, match="max_dim"):
            flag_complex_betti(graph, max_dim=2, memory_limit=1e-3)

    def test_collapse_reports_fewer_edges(self) -> None:
        graph = scale_graph(shapes.sphere(400), scale=0.3)
        betti, reduced = flag_complex_betti(graph, max_dim=2, method="collapse")
        assert betti == (1, 0, 1)
        assert reduced is not None and reduced < graph.nnz // 2

    def test_clique_bounds_are_upper_bounds(self) -> None:
        import gudhi

        graph = scale_graph(shapes.torus(), scale=0.7)
        bounds = estimate_clique_counts(graph, 4)
        tree = gudhi.SimplexTree()
        upper = sp.triu(graph, 1).tocoo()
        tree.insert_batch(np.arange(graph.shape[0])[None, :], np.zeros(graph.shape[0]))
        tree.insert_batch(np.stack([upper.row, upper.col]), np.zeros(upper.nnz))
        tree.expansion(3)
        actual = [0] * 4
        for simplex, _ in tree.get_simplices():
            actual[len(simplex) - 1] += 1
        assert bounds[0] == actual[0] and bounds[1] == actual[1]
        assert all(b >= a for a, b in zip(actual, bounds, strict=True))


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - Windows
        pytest.skip("needs SIGALRM")

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _naive_hop_graph(graph: sp.csr_matrix, hops: int) -> sp.csr_matrix:
    """The hop graph by ``hops - 1`` boolean products, each one taken (the original loop)."""
    n = graph.shape[0]
    closed = (graph + sp.identity(n, dtype=bool, format="csr")).tocsr()
    reach = closed
    for _ in range(hops - 1):
        reach = (closed @ reach).tocsr()
    reach = sp.csr_matrix(reach, dtype=bool)
    reach.setdiag(False)
    reach.eliminate_zeros()
    return reach


def _stored_identically(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    """Same entries stored in the same order (the edge collapse's output depends on it)."""
    return (
        a.shape == b.shape
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


CIRCLE_40 = shapes.circle(40)


class TestKnnHopScaleAndHops:
    @pytest.mark.parametrize("scale", [1e-9, 0.5, 0.999])
    def test_scale_below_one_hop_is_refused(self, scale: float) -> None:
        # it used to be read as one hop: scale=1e-9 gave the scale-1.0 graph
        message = r"'scale' parameter of betti_numbers.*\[1, inf\).*counts hops"
        with pytest.raises(ValueError, match=message):
            betti_numbers(CIRCLE_40, metric="knn-hop", k=4, scale=scale)
        with pytest.raises(ValueError, match=message):
            betti_numbers(CIRCLE_40, metric="knn-hop", k=4, scale=scale, max_dim=0)
        with pytest.raises(ValueError, match=r"'scale' parameter of scale_graph.*\[1, inf\)"):
            scale_graph(CIRCLE_40, metric="knn-hop", k=4, scale=scale)

    def test_one_hop_is_the_smallest_scale(self) -> None:
        one = betti_numbers(CIRCLE_40, metric="knn-hop", k=4, scale=1.0)
        assert one == (1, 1) and one.n_edges == knn_graph(CIRCLE_40, 4).nnz // 2

    @pytest.mark.parametrize("hops", [0, -3, 2.7, 2.0, True, None, "2"])
    def test_hop_graph_refuses_bad_hops(self, hops: object) -> None:
        graph = knn_graph(CIRCLE_40, 4)
        with pytest.raises(ValueError, match=r"'hops' parameter of hop_graph must be an int"):
            hop_graph(graph, hops)  # type: ignore[arg-type]

    def test_huge_scale_stops_once_everything_is_joined(self) -> None:
        # the hop loop used to run floor(scale) - 1 products: 1e9 never finished
        with _deadline(60):
            result = betti_numbers(CIRCLE_40, metric="knn-hop", k=4, scale=1e9, max_dim=2)
            assert hop_graph(knn_graph(CIRCLE_40, 4), 10**300).nnz == 40 * 39
        assert result == (1, 0, 0)
        assert result.n_edges == 40 * 39 // 2  # every pair joined: the complete graph

    @pytest.mark.parametrize(
        "points",
        [CIRCLE_40, shapes.figure_eight(40), np.random.default_rng(5).normal(size=(60, 3))],
    )
    def test_stopping_early_stores_the_graph_as_every_product_would(self, points) -> None:
        """Beyond the diameter, more products only reorder the stored entries; the early stop
        reproduces that order exactly (the edge collapse, and n_edges_reduced, depend on it)."""
        graph = knn_graph(points, 3)
        for hops in [*range(1, 30), 45, 46, 80, 81]:
            assert _stored_identically(hop_graph(graph, hops), _naive_hop_graph(graph, hops)), hops
        # far beyond: the order only alternates (period 2) once the walk settles, after <= n steps
        for huge, settled in ((10**18, 2 * len(points) + 10), (10**18 + 1, 2 * len(points) + 11)):
            expected = _naive_hop_graph(graph, settled)
            with _deadline(60):
                result = hop_graph(graph, huge)
            assert _stored_identically(result, expected)

    def test_hop_graph_is_symmetric_without_diagonal_for_any_input(self) -> None:
        # a directed path 0 -> 1 -> 2 -> 3 with self-loops and a stored zero
        directed = sp.csr_matrix(
            (np.array([1, 1, 1, 1, 1, 0]), (np.array([0, 1, 2, 0, 3, 3]), [1, 2, 3, 0, 3, 0])),
            shape=(4, 4),
        )
        undirected = {(0, 1), (1, 2), (2, 3)}
        for hops, expected in ((1, undirected), (2, undirected | {(0, 2), (1, 3)})):
            result = hop_graph(directed, hops)
            assert (result != result.T).nnz == 0, hops
            assert not result.diagonal().any() and result.nnz == np.count_nonzero(result.data)
            assert _edges(result) == expected
        # a dense array is a graph too
        assert _edges(hop_graph(directed.toarray(), 1)) == undirected

    def test_hop_graph_returns_a_valid_graph_unchanged(self) -> None:
        graph = knn_graph(CIRCLE_40, 4)
        assert _stored_identically(hop_graph(graph, 1), graph)


class TestGraphInputs:
    @pytest.mark.parametrize(
        "function",
        [
            lambda a: hop_graph(a, 2),
            dominated_vertices,
            lambda a: estimate_clique_counts(a, 3),
            lambda a: flag_complex_betti(a, max_dim=1),
        ],
        ids=["hop_graph", "dominated_vertices", "estimate_clique_counts", "flag_complex_betti"],
    )
    @pytest.mark.parametrize(
        ("adjacency", "error", "message"),
        [
            (sp.csr_matrix((3, 4)), ValueError, r"square.*got shape \(3, 4\)"),
            (np.ones((2, 3)), ValueError, r"square.*got shape \(2, 3\)"),
            (np.ones(4), ValueError, r"square.*got shape \(4,\)"),
            (np.ones((2, 2, 2)), ValueError, "square"),
            ("abc", TypeError, "real numbers.*got str"),
            (None, TypeError, "real numbers.*got NoneType"),
            (np.array([["a", "b"], ["c", "d"]]), TypeError, "real numbers"),
            (np.eye(2, dtype=complex), TypeError, "real numbers.*complex"),
            (np.array([[0.0, np.nan], [np.nan, 0.0]]), ValueError, "contains NaN"),
            (sp.csr_matrix(np.array([[0.0, np.nan], [1.0, 0.0]])), ValueError, "contains NaN"),
        ],
    )
    def test_bad_adjacency(self, function, adjacency: object, error: type, message: str) -> None:
        with pytest.raises(error, match=message) as info:
            function(adjacency)
        assert re.match(
            r"(hop_graph|dominated_vertices|estimate_clique_counts|flag_complex_betti): ",
            str(info.value),
        )

    def test_flag_complex_betti_of_strings_is_refused(self) -> None:
        # used to answer ((1, 0), 0): a one-vertex graph
        for bad in ("abc", None):
            with pytest.raises(TypeError, match="flag_complex_betti: adjacency"):
                flag_complex_betti(bad)  # type: ignore[arg-type]

    def test_dense_and_directed_graphs_are_read_as_undirected(self) -> None:
        square = np.zeros((4, 4))
        for i in range(4):
            square[i, (i + 1) % 4] = 1.0  # one direction only
        assert flag_complex_betti(square)[0] == (1, 1)
        assert estimate_clique_counts(square, 2) == [4.0, 4.0]
        np.testing.assert_array_equal(
            dominated_vertices(square), dominated_vertices(square + square.T)
        )

    def test_estimate_clique_counts_refuses_a_bad_size(self) -> None:
        graph = knn_graph(CIRCLE_40, 4)
        for size in (0, -1, 2.5):
            with pytest.raises(ValueError, match="'max_size' parameter of estimate_clique_counts"):
                estimate_clique_counts(graph, size)  # type: ignore[arg-type]


class TestHugeCoordinates:
    def test_sums_that_overflow(self) -> None:
        # used to raise IndexError inside the validation
        with pytest.raises(ValueError, match="betti_numbers: points has values as large as 1e"):
            betti_numbers([[1e308, 0.0], [1e308, 1.0]], scale=1)

    @pytest.mark.parametrize(
        "params",
        [
            {"scale": 1.0},  # scipy's k-d tree raised its own overflow error
            {"metric": "knn-hop", "k": 4, "scale": 2.5},  # used to give (2, 0) silently
            {"metric": "knn-hop", "k": 4, "scale": 2.5, "method": "collapse"},
        ],
    )
    def test_squared_distances_that_overflow(self, params: dict) -> None:
        with pytest.raises(ValueError, match=r"betti_numbers: points .* overflow .* Rescale"):
            betti_numbers(CIRCLE_40 * 1e200, **params)

    def test_every_entry_point_refuses_them(self) -> None:
        huge = CIRCLE_40 * 1e200
        with pytest.raises(ValueError, match="scale_graph: points .*Rescale"):
            scale_graph(huge, scale=1.0)
        with pytest.raises(ValueError, match="knn_graph: points .*Rescale"):
            knn_graph(huge, 4)
        with pytest.raises(ValueError, match="persistence_diagrams: points .*Rescale"):
            persistence_diagrams(huge)
        with pytest.raises(ValueError, match="persistence_diagrams: points .*Rescale"):
            persistence_diagrams(huge, metric="knn-hop", k=4)

    def test_squared_norms_that_overflow_where_distances_come_from_norms(self) -> None:
        # > 16 features: distances by |x|^2 + |y|^2 - 2 x.y, which overflows far from the origin
        lifted = np.c_[CIRCLE_40, np.zeros((40, 18))] * 1e153
        lifted[:, 2:] = 1e154
        with pytest.raises(ValueError, match="squared lengths overflow"):
            betti_numbers(lifted, scale=0.3e153)

    def test_ripser_float32_limit(self) -> None:
        with pytest.raises(ValueError, match="exceed 3.4e\\+38.*Rescale"):
            persistence_diagrams(CIRCLE_40 * 1e39)

    def test_large_but_safe_coordinates_still_work(self) -> None:
        factor = 2.0**400  # ~2.6e120: exact scaling, squared distances far from overflow
        assert betti_numbers(CIRCLE_40 * factor, scale=0.3 * factor) == (1, 1)
        assert betti_numbers(CIRCLE_40 * factor, metric="knn-hop", k=4, scale=2.5) == (1, 1)


class TestPersistenceDiagramInputs:
    def test_k_with_the_euclidean_metric_is_refused(self) -> None:
        with pytest.raises(ValueError, match="persistence_diagrams: k applies only to metric="):
            persistence_diagrams(CIRCLE_40, k=4)

    def test_knn_hop_needs_fewer_neighbours_than_points(self) -> None:
        with pytest.raises(ValueError, match=r"persistence_diagrams: k=8 .*\(5 of 5\)"):
            persistence_diagrams(shapes.circle(5), metric="knn-hop", k=8)
        with pytest.raises(ValueError, match="persistence_diagrams: metric='knn-hop' needs k"):
            persistence_diagrams(CIRCLE_40, metric="knn-hop")

    @pytest.mark.parametrize("points", [[[0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    def test_no_ripser_warnings_about_transposing(self, points: list) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            diagrams = persistence_diagrams(points)
        assert diagrams[0][:, 1].tolist()[-1] == np.inf


def test_labels_with_none_or_mixed_kinds_are_refused() -> None:
    from bettiscope.topology import betti_by_class

    points = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="labels must all be of one kind .*got NoneType, int"):
        betti_by_class(points, [0] * 10 + [None] * 10)
    with pytest.raises(ValueError, match="got int, str"):
        betti_by_class(points, np.array([0] * 10 + ["a"] * 10, dtype=object))
    assert set(betti_by_class(points, ["a"] * 10 + ["b"] * 10, scale=0.5)) == {"a", "b"}

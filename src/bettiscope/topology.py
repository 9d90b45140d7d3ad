"""The topology engine: Betti numbers of point clouds at one scale, fast and exact.

Pipeline (data flows one way)::

    points -> subsample (stride, duplicates) -> scale graph -> reduced flag complex -> homology

* ``metric="euclidean"``: the scale graph joins points at Euclidean distance <= ``scale``.
* ``metric="knn-hop"``: the Naitzat-Zhitnikov-Lim method. Join each point to its ``k - 1``
  nearest other points (``k`` counts the point itself), symmetrise by union, and join every pair
  at most ``floor(scale)`` hops apart.

The Betti numbers are those of the clique (flag, Vietoris-Rips) complex of the scale graph, over
the field Z/2. ``beta_0`` comes from connected components (no complex is built). Higher Betti
numbers come from the flag complex after two exact reductions that preserve its homotopy type:

1. (knn-hop only) removal of dominated vertices: a vertex ``v`` whose closed neighbourhood in the
   kNN graph lies inside that of a neighbour ``u`` has its hop-ball inside ``u``'s hop-ball too,
   so it is dominated in the scale graph and deleting it is a strong collapse (Boissonnat-Pritam);
   found with one sparse product of the kNN graph (degree ~k), it removes 10-40% of the vertices;
2. Boissonnat-Pritam edge collapse (GUDHI), which removes most of the remaining edges.

The results are proved equal to ripser and to an uncollapsed GUDHI complex in the tests.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, shortest_path
from scipy.special import comb

from bettiscope._validation import (
    Interval,
    Options,
    check_adjacency,
    check_distance_range,
    check_labels,
    check_param,
    check_params,
    check_points,
    format_bytes,
)
from bettiscope._validation import memory_budget as _memory_budget

__all__ = [
    "METRICS",
    "BettiResult",
    "ComplexTooLargeError",
    "betti_by_class",
    "betti_numbers",
    "dominated_vertices",
    "estimate_clique_counts",
    "flag_complex_betti",
    "hop_graph",
    "knn_graph",
    "persistence_diagrams",
    "scale_graph",
    "subsample",
]

METRICS = ("euclidean", "knn-hop")

#: How the flag complex's homology is computed once the scale graph is known.
#: "collapse": GUDHI edge collapse, then expansion and homology (fast for beta_2 and above);
#: "ripser": ripser on the graph as a sparse 0/1 distance matrix (fast for beta_1 on small graphs);
#: "plain": GUDHI without collapse (the slow reference, for tests);
#: "strong": for knn-hop, first delete the vertices dominated in the kNN graph (an exact strong
#: collapse, see the module docstring), then "collapse"; for a graph given directly (no kNN graph
#: known) or the euclidean metric it is "collapse";
#: "auto": "strong", except on a dense graph (many triangles per edge, see
#: ``_RIPSER_TRIANGLES_PER_EDGE``): beta_0..beta_1 go to ripser at once; for beta_2 the edge
#: collapse stops when it stalls (``_COLLAPSE_STALL_FRACTION``) and what is left goes to ripser
#: if still dense (within ``_RIPSER_BYTES_PER_TRIANGLE``).
#: Measured: the collapses are ~25x faster than ripser for beta_2 on D-II/D-III classes; for
#: beta_1 ripser wins on the raw D-III input clouds (0.17 s vs 0.33 s) but the collapses win on the
#: layer clouds of a trained MLP, the main use (benchmarks/layer_betti.py: "strong" vs "collapse"
#: vs "ripser" on the 22 cells of a D-II checkpoint; figures in docs/study.md) - unless the
#: collapse stalls on a dense graph (figures at ``_RIPSER_TRIANGLES_PER_EDGE``).
METHODS = ("auto", "strong", "collapse", "ripser", "plain")

PARAMETER_CONSTRAINTS: dict[str, Interval | Options] = {
    "metric": Options(METRICS),
    "scale": Interval(float, 0.0, None, closed="neither"),
    "k": Interval(int, 2, None, closed="left"),
    "max_dim": Interval(int, 0, 8, closed="both"),
    "stride": Interval(int, 1, None, closed="left"),
    "memory_limit": Interval(float, 0.0, None, closed="neither"),
    "method": Options(METHODS),
}

#: With metric="knn-hop" the scale counts hops (floored), so it must be at least one hop.
KNN_HOP_SCALE = Interval(float, 1.0, None, closed="left")
KNN_HOP_SCALE_HINT = (
    "With metric='knn-hop' the scale counts hops, floored (1.5 = 1 hop, 2.5 = 2 hops as in the "
    "Naitzat study); use a scale of at least 1."
)
#: Largest float32 (about 3.4e38): ripser stores distances in float32.
_FLOAT32_MAX = float(np.finfo(np.float32).max)

#: Bytes per simplex in a GUDHI simplex tree (measured on 3.13: ~70-100; rounded up for safety).
_BYTES_PER_SIMPLEX = 128
#: Bytes per stored edge while building a scale graph (two int64 ends plus CSR overhead).
_BYTES_PER_EDGE = 48
#: Bytes per entry of a sparse matrix product (int32 value and index, plus scratch).
_BYTES_PER_PRODUCT_ENTRY = 16
#: Euclidean graphs in at most this many dimensions use a k-d tree; above it, blocked BLAS.
_KDTREE_MAX_DIM = 16
#: kNN searches in at most this many dimensions may use scipy's k-d tree: scikit-learn (the
#: reference for ties) uses its own k-d tree there, and brute-force BLAS distances above it.
_KNN_KDTREE_MAX_DIM = 15
#: Relative gap between the k-th and (k+1)-th neighbour distances below which a row counts as
#: tied and is resolved by scikit-learn (distances are exact to ~1e-15 relative).
_KNN_TIE_RTOL = 1e-9

ProgressCallback = Callable[[str, int, int], None]


class ComplexTooLargeError(ValueError):
    """The requested complex would not fit in memory; the message says what to change."""


class BettiResult(tuple):
    """Betti numbers ``(beta_0, ..., beta_max_dim)`` plus how they were obtained.

    Behaves as a plain tuple (``result == (1, 1)``); the extra attributes are

    Attributes
    ----------
    n_input : int
        Rows given.
    n_points : int
        Points the complex was built on, after stride subsampling and duplicate removal.
    n_edges : int
        Edges of the scale graph; for knn-hop with ``max_dim=0`` and method "auto" or "strong",
        of the kNN graph (it has the same components, and the scale graph is not built).
    n_edges_reduced : int or None
        Edges left after the reductions (dominated vertices, edge collapse); None when none ran.
    seconds : float
        Wall-clock time of the computation.
    params : dict
        The parameters used (metric, scale, k, max_dim, stride, dedupe, origin_point, method).
    """

    n_input: int
    n_points: int
    n_edges: int
    n_edges_reduced: int | None
    seconds: float
    params: dict[str, Any]

    def __new__(
        cls,
        betti: tuple[int, ...] | list[int],
        *,
        n_input: int,
        n_points: int,
        n_edges: int,
        n_edges_reduced: int | None,
        seconds: float,
        params: Mapping[str, Any],
    ) -> BettiResult:
        self = super().__new__(cls, (int(b) for b in betti))
        self.n_input = int(n_input)
        self.n_points = int(n_points)
        self.n_edges = int(n_edges)
        self.n_edges_reduced = None if n_edges_reduced is None else int(n_edges_reduced)
        self.seconds = float(seconds)
        self.params = dict(params)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_result, (tuple(self), self.to_dict()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of the numbers and their provenance."""
        return {
            "betti": list(self),
            "n_input": self.n_input,
            "n_points": self.n_points,
            "n_edges": self.n_edges,
            "n_edges_reduced": self.n_edges_reduced,
            "seconds": self.seconds,
            "params": dict(self.params),
        }

    def __str__(self) -> str:
        numbers = ", ".join(f"b{i}={b}" for i, b in enumerate(self))
        return f"Betti({numbers}; {self.n_points} points, {self.seconds:.3g} s)"


def _rebuild_result(betti: tuple[int, ...], info: dict[str, Any]) -> BettiResult:
    info = dict(info)
    info.pop("betti")
    return BettiResult(betti, **info)


# --------------------------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------------------------


def _refuse(what: str, needed_bytes: float, budget_bytes: float, advice: str) -> None:
    raise ComplexTooLargeError(
        f"{what} would need about {format_bytes(needed_bytes)}, more than the "
        f"{format_bytes(budget_bytes)} allowed (memory_limit, default half of the "
        f"available memory). {advice}"
    )


# --------------------------------------------------------------------------------------------
# points -> subsample
# --------------------------------------------------------------------------------------------


def subsample(
    points: Any,
    *,
    stride: int = 1,
    dedupe: bool = True,
    origin_point: bool = False,
) -> np.ndarray:
    """Deterministic stride subsampling and duplicate removal, as in the Naitzat method.

    Parameters
    ----------
    points : array-like of shape (n_points, n_features)
    stride : int, default=1
        Keep rows ``0, stride, 2*stride, ...`` in the given order.
    dedupe : bool, default=True
        Remove exact duplicate rows (ReLU layers create many), keeping the first occurrence.
    origin_point : bool, default=False
        Reproduce an artefact of the original Naitzat code: add a point at the origin of the
        space before duplicate removal. Off by default; it can change Betti numbers.

    Returns
    -------
    ndarray of shape (n_kept, n_features)
        The kept rows, in their original order.
    """
    X = check_points(points, caller="subsample")
    check_param("stride", stride, PARAMETER_CONSTRAINTS["stride"], caller="subsample")
    X = X[::stride]
    if origin_point:
        X = np.vstack([X, np.zeros((1, X.shape[1]), dtype=X.dtype)])
    if dedupe and len(X) > 1:
        first = _first_occurrences(X)
        if len(first) < len(X):
            X = X[first]
    return np.ascontiguousarray(X)


def _first_occurrences(X: np.ndarray) -> np.ndarray:
    """Sorted indices of the first occurrence of each distinct row.

    Rows are compared as raw bytes (4x faster than ``np.unique(axis=0)`` on wide data); adding
    0.0 first maps -0.0 to 0.0 so the two compare equal, as they do numerically.
    """
    rows = np.ascontiguousarray(X + 0.0)
    as_bytes = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first = np.unique(as_bytes, return_index=True)
    return np.sort(first)


# --------------------------------------------------------------------------------------------
# subsample -> scale graph
# --------------------------------------------------------------------------------------------


def _pairs_to_graph(rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_matrix:
    """Symmetric boolean CSR adjacency (no diagonal) from undirected pairs."""
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    data = np.ones(2 * len(rows), dtype=bool)
    graph = sp.coo_matrix(
        (data, (np.concatenate([rows, cols]), np.concatenate([cols, rows]))), shape=(n, n)
    ).tocsr()
    graph.sum_duplicates()
    graph.data[:] = True
    return graph


def _euclidean_pairs_kdtree(X: np.ndarray, scale: float, budget: float) -> np.ndarray:
    from scipy.spatial import cKDTree

    tree = cKDTree(X)
    # count first (no allocation) so a huge scale is refused before the pairs are materialised
    n_ordered = int(tree.count_neighbors(tree, scale)) - len(X)
    needed = n_ordered / 2 * _BYTES_PER_EDGE
    if needed > budget:
        _refuse(
            f"The scale graph ({n_ordered // 2:,} edges at scale {scale:g})",
            needed,
            budget,
            "Use a smaller scale, a larger stride, or fewer points.",
        )
    return tree.query_pairs(scale, output_type="ndarray")


def _euclidean_pairs_blas(X: np.ndarray, scale: float, budget: float) -> np.ndarray:
    n = len(X)
    sq_norms = np.einsum("ij,ij->i", X, X)
    threshold = scale * scale
    # Squared distances by |x|^2 + |y|^2 - 2 x.y suffer cancellation; pairs within this band of
    # the threshold are re-checked exactly so the "distance <= scale" edge set is exact.
    band = 1e-9 * (threshold + 2.0 * float(sq_norms.max(initial=0.0)))
    block = 1024  # rows per GEMM: measured fastest on 2 cores for n in the thousands
    found: list[np.ndarray] = []
    n_found = 0
    for start in range(0, n, block):
        stop = min(n, start + block)
        d2 = X[start:stop] @ X[start:].T  # (block, n - start): only the upper triangle's rows
        d2 *= -2.0
        d2 += sq_norms[start:stop, None]
        d2 += sq_norms[None, start:]
        local_r, local_c = np.nonzero(d2 <= threshold + band)
        upper = local_c > local_r  # column offset is `start` too, so this is "col > row"
        local_r, local_c = local_r[upper], local_c[upper]
        near = d2[local_r, local_c] > threshold - band
        rows, cols = local_r + start, local_c + start
        if near.any():
            diff = X[rows[near]] - X[cols[near]]
            keep = np.ones(len(rows), dtype=bool)
            keep[np.flatnonzero(near)] = np.einsum("ij,ij->i", diff, diff) <= threshold
            rows, cols = rows[keep], cols[keep]
        n_found += len(rows)
        if n_found * _BYTES_PER_EDGE > budget:
            _refuse(
                f"The scale graph (more than {n_found:,} edges at scale {scale:g})",
                n_found * _BYTES_PER_EDGE,
                budget,
                "Use a smaller scale, a larger stride, or fewer points.",
            )
        found.append(np.stack([rows, cols], axis=1))
    return np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)


def _knn_uses_brute_force(n: int, n_features: int, k: int) -> bool:
    """Whether :func:`_knn_neighbours` leaves the whole search to scikit-learn, which then uses
    brute force (distances as ``|x|^2 + |y|^2 - 2 x.y``); otherwise k-d trees (differences)."""
    return n_features > _KNN_KDTREE_MAX_DIM or k >= n // 2 or k + 1 > n


def _check_distances(X: np.ndarray, metric: str, k: int | None, caller: str) -> None:
    """:func:`check_distance_range` for the distance computation ``metric`` uses on ``X``."""
    if metric == "euclidean":
        about_origin = X.shape[1] > _KDTREE_MAX_DIM
    else:
        about_origin = k is None or _knn_uses_brute_force(len(X), X.shape[1], k)
    check_distance_range(X, caller=caller, about_origin=about_origin)


def _knn_neighbours(X: np.ndarray, k: int) -> np.ndarray:
    """Indices of each row's ``k`` nearest rows (itself included), as scikit-learn finds them.

    scikit-learn's ``NearestNeighbors`` (algorithm "auto") is the reference. Where it uses a k-d
    tree (at most 15 features, ``k < n // 2``: its own rule), scipy's k-d tree finds the same
    neighbour *sets* 2-4x faster whenever the k-th and (k+1)-th distances differ; rows with a
    (near-)tie there, where the choice is arbitrary, are handed to scikit-learn so that the graph
    is exactly the reference one. The order within a row may differ (it does not matter).
    """
    from sklearn.neighbors import NearestNeighbors

    n, n_features = X.shape
    if _knn_uses_brute_force(n, n_features, k):
        return NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X, return_distance=False)
    from scipy.spatial import cKDTree

    distances, neighbours = cKDTree(X).query(X, k=k + 1)
    # both libraries sum squared coordinate differences exactly (no |x|^2 - 2xy cancellation),
    # so a relative gap above 1e-9 decides the k-th neighbour the same way in both
    kth, next_ = distances[:, k - 1], distances[:, k]
    tied = next_ - kth <= _KNN_TIE_RTOL * next_
    result = np.ascontiguousarray(neighbours[:, :k])
    if tied.any():
        reference = NearestNeighbors(n_neighbors=k).fit(X)
        result[tied] = reference.kneighbors(X[tied], return_distance=False)
    return result


def knn_graph(points: Any, k: int) -> sp.csr_matrix:
    """k-nearest-neighbour graph, symmetrised by union, as a boolean CSR adjacency.

    ``k`` counts the point itself (the Naitzat convention): each point is joined to its
    ``k - 1`` nearest other points in Euclidean distance. Ties are broken by scikit-learn's
    neighbour search, deterministically for a given input (the faster scipy search is used only
    where it provably finds the same neighbours; see ``_knn_neighbours``).
    """
    X = check_points(points, caller="knn_graph", min_points=2)
    check_param("k", k, PARAMETER_CONSTRAINTS["k"], caller="knn_graph")
    n = len(X)
    if k >= n:
        raise ValueError(
            f"knn_graph: k={k} must be smaller than the number of points ({n}) after "
            "subsampling and duplicate removal. Use a smaller k or a smaller stride."
        )
    _check_distances(X, "knn-hop", k, "knn_graph")
    neighbours = _knn_neighbours(X, k)
    own = np.arange(n)[:, None]
    is_self = neighbours == own
    # With exact duplicates (dedupe=False) the point itself may not be listed: drop the farthest.
    has_self = is_self.any(axis=1)
    others = np.where(is_self, -1, neighbours)
    others[~has_self, -1] = -1
    rows = np.repeat(np.arange(n), k)
    cols = others.ravel()
    valid = cols >= 0
    return _pairs_to_graph(rows[valid], cols[valid], n)


def dominated_vertices(adjacency: sp.spmatrix) -> np.ndarray:
    """Vertices that can all be deleted at once without changing any hop graph's homotopy type.

    A vertex ``v`` is dominated by a neighbour ``u`` when its closed neighbourhood is inside
    ``u``'s: ``N[v] <= N[u]``. Then the ``h``-hop ball of ``v`` is inside that of ``u`` for every
    ``h >= 1`` (a path from ``v`` starts at a vertex of ``N[v]``, which ``u`` reaches in one hop),
    so ``v`` is also dominated in the ``h``-hop graph, and deleting a dominated vertex preserves
    the homotopy type of the flag complex (a strong collapse, Boissonnat and Pritam 2020).

    Only domination by a higher ``(degree, index)`` vertex counts. That order makes the relation
    acyclic, so every returned vertex is dominated by one that is *not* returned (follow the
    dominators upwards; domination is transitive), and deleting the returned vertices one by
    one, in any order, is a sequence of strong collapses of the ``h``-hop graph.

    Parameters
    ----------
    adjacency : sparse matrix or array-like of shape (n, n)
        The graph (e.g. :func:`knn_graph`): nonzero entries are edges, read as undirected (an
        edge wherever either of ``[i, j]``, ``[j, i]`` is nonzero); the diagonal is ignored.

    Returns
    -------
    ndarray of bool, shape (n,)
        True for the vertices to delete.

    Raises
    ------
    TypeError
        ``adjacency`` is not a matrix of real numbers.
    ValueError
        ``adjacency`` is not square or holds NaN.
    """
    return _dominated_vertices(_undirected(check_adjacency(adjacency, caller="dominated_vertices")))


def _undirected(graph: sp.csr_matrix) -> sp.csr_matrix:
    """``graph`` (boolean CSR) as a symmetric adjacency without diagonal or stored zeros.

    A graph that already is one (every graph the engine builds) is returned as it is, so the
    order of its stored entries, on which the edge collapse's output size depends, is kept.
    """
    stored_zeros = graph.nnz != np.count_nonzero(graph.data)
    if not stored_zeros and not graph.diagonal().any() and (graph != graph.T).nnz == 0:
        return graph
    graph = graph.maximum(graph.T).tocsr()
    graph.setdiag(False)
    graph.eliminate_zeros()
    return graph


def _dominated_vertices(graph: sp.csr_matrix) -> np.ndarray:
    """:func:`dominated_vertices` of a symmetric boolean CSR graph without diagonal."""
    n = graph.shape[0]
    closed = (graph + sp.identity(n, dtype=bool, format="csr")).astype(np.int32)
    degree = np.diff(closed.indptr)
    # |N[v] & N[u]| for every edge (v, u): one sparse product, cheap on a kNN graph (degree ~k)
    common = (closed @ closed).multiply(graph).tocoo()
    v, u = common.row, common.col
    higher = (degree[u] > degree[v]) | ((degree[u] == degree[v]) & (u > v))
    dominated = np.zeros(n, dtype=bool)
    dominated[v[(common.data == degree[v]) & higher]] = True
    return dominated


def hop_graph(
    adjacency: sp.spmatrix, hops: int, *, memory_limit: float | None = None
) -> sp.csr_matrix:
    """Join every pair of vertices at most ``hops`` edges apart in ``adjacency``.

    Parameters
    ----------
    adjacency : sparse matrix or array-like of shape (n, n)
        The graph (e.g. :func:`knn_graph`): nonzero entries are edges, read as undirected (an
        edge wherever either of ``[i, j]``, ``[j, i]`` is nonzero); the diagonal is ignored.
    hops : int
        Largest number of edges on a joining path, >= 1. ``hops=1`` returns the graph itself
        (symmetrised, without diagonal); any ``hops`` at least the graph's diameter joins each
        connected component completely (the products stop as soon as the graph stops growing,
        so a huge ``hops`` costs no more than the diameter).
    memory_limit : float, optional
        GiB the graph may use; default half of the available memory.

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape (n, n)
        Symmetric, without diagonal.

    Raises
    ------
    TypeError
        ``adjacency`` is not a matrix of real numbers.
    ValueError
        ``adjacency`` is not square or holds NaN, or ``hops`` is not an int >= 1.
    ComplexTooLargeError
        The hop graph would not fit in ``memory_limit``.
    """
    caller = "hop_graph"
    graph = _undirected(check_adjacency(adjacency, caller=caller))
    check_param(
        "hops",
        hops,
        Interval(int, 1, None, closed="left"),
        caller=caller,
        hint="Pass a whole number of hops, e.g. math.floor(scale) for a knn-hop scale.",
    )
    check_params({"memory_limit": memory_limit}, PARAMETER_CONSTRAINTS, caller=caller)
    return _hop_graph(graph, hops, memory_limit)


def _hop_graph(graph: sp.csr_matrix, hops: int, memory_limit: float | None) -> sp.csr_matrix:
    """:func:`hop_graph` of a symmetric boolean CSR graph without diagonal, ``hops >= 1``."""
    n = graph.shape[0]
    if hops <= 1 or n == 0:
        return graph
    budget = _memory_budget(memory_limit)
    # boolean products (scipy ORs the terms): exact and ~25% faster than counting paths in int32
    closed = (graph + sp.identity(n, dtype=bool, format="csr")).tocsr()
    reach = closed
    for done in range(1, hops):  # reach holds the done-hop balls (closed neighbourhoods)
        # bound the product's size before forming it: nnz(A B) <= sum_i sum_{j in A_i} deg_B(j)
        row_bound = closed @ np.diff(reach.indptr).astype(np.float64)
        needed = min(float(row_bound.sum()), float(n) * n) * _BYTES_PER_PRODUCT_ENTRY
        if needed > budget:
            _refuse(
                f"The {hops}-hop graph on {n:,} points",
                needed,
                budget,
                "Use a smaller scale (fewer hops), a smaller k, or a larger stride.",
            )
        grown = (closed @ reach).tocsr()
        if grown.nnz == reach.nnz:
            # reach <= grown (closed holds the diagonal), so they are equal: every ball is its
            # whole component, and more products would only reorder the stored entries
            reach = _skip_products(closed, reach, grown, hops - 1 - done)
            break
        reach = grown
    reach = sp.csr_matrix(reach, dtype=bool)
    reach.setdiag(False)
    reach.eliminate_zeros()
    return reach


def _skip_products(
    closed: sp.csr_matrix, before: sp.csr_matrix, after: sp.csr_matrix, remaining: int
) -> sp.csr_matrix:
    """``after`` multiplied ``remaining`` more times by ``closed``, without the products.

    ``after = closed @ before`` has the same entries as ``before``: each row is its vertex's
    whole component. Further products keep the entries but not their stored order, and that
    order matters downstream (the edge collapse's output size depends on it; results must be
    reproducible to the last edge). scipy's product (``csr_matmat``) lists row ``r``'s entries
    in the reverse of their first appearance while it walks the rows of ``before`` named by
    row ``r`` of ``closed``: here all of them appear in the first one, ``f(r)``, so row ``r`` of
    the product is row ``f(r)`` reversed, and after ``m`` products it is row ``f^m(r)`` of the
    start, reversed ``m`` times. That rule is checked on the product just taken; if it does not
    hold (another scipy), ``after`` is returned: the same graph, stored in another order.
    """
    first = closed.indices[closed.indptr[:-1]]  # closed holds the diagonal: no row is empty
    if remaining == 0 or not np.array_equal(_follow(before, first, 1).indices, after.indices):
        return after
    return _follow(after, first, remaining)


def _follow(matrix: sp.csr_matrix, first: np.ndarray, steps: int) -> sp.csr_matrix:
    """Row ``r`` of the result is row ``first^steps(r)`` of ``matrix``, reversed if ``steps``
    is odd (rows of one component have the same length, so only the order changes)."""
    power = np.arange(len(first))
    base = first
    remaining = steps
    while remaining:  # first^steps by repeated squaring: steps may be astronomically large
        if remaining & 1:
            power = base[power]
        base = base[base]
        remaining >>= 1
    starts = matrix.indptr[:-1].astype(np.int64)
    lengths = np.diff(matrix.indptr).astype(np.int64)
    offset = np.arange(matrix.nnz, dtype=np.int64) - np.repeat(starts, lengths)
    if steps % 2:
        offset = np.repeat(lengths, lengths) - 1 - offset
    source = np.repeat(starts[power], lengths) + offset
    return sp.csr_matrix(
        (matrix.data[source], matrix.indices[source], matrix.indptr.copy()), shape=matrix.shape
    )


def scale_graph(
    points: Any,
    *,
    metric: str = "euclidean",
    scale: float,
    k: int | None = None,
    memory_limit: float | None = None,
) -> sp.csr_matrix:
    """The graph whose flag complex is measured, as a symmetric boolean CSR adjacency.

    Parameters
    ----------
    points : array-like of shape (n_points, n_features)
        Already subsampled (see :func:`subsample`).
    metric : {"euclidean", "knn-hop"}, default="euclidean"
    scale : float
        Euclidean: the largest distance joined (inclusive), > 0. knn-hop: hops, floored, >= 1.
    k : int, optional
        Neighbours for knn-hop, counting the point itself. Required for that metric.
    memory_limit : float, optional
        GiB the graph may use; default half of the available memory.

    Raises
    ------
    ValueError
        Bad points (including coordinates so large that squared distances overflow) or
        parameters (scale <= 0, a knn-hop scale below 1, knn-hop without k).
    ComplexTooLargeError
        The graph would not fit in ``memory_limit``.
    """
    caller = "scale_graph"
    check_params(
        {"metric": metric, "scale": scale, "k": k, "memory_limit": memory_limit},
        PARAMETER_CONSTRAINTS,
        caller=caller,
    )
    if metric == "knn-hop":
        check_param("scale", scale, KNN_HOP_SCALE, caller=caller, hint=KNN_HOP_SCALE_HINT)
    X = check_points(points, caller=caller)
    _check_distances(X, metric, k, caller)
    budget = _memory_budget(memory_limit)
    if metric == "euclidean":
        finder = _euclidean_pairs_kdtree if X.shape[1] <= _KDTREE_MAX_DIM else _euclidean_pairs_blas
        pairs = finder(X, float(scale), budget) if len(X) > 1 else np.empty((0, 2), np.int64)
        return _pairs_to_graph(pairs[:, 0], pairs[:, 1], len(X))
    if k is None:
        raise ValueError(
            "scale_graph: metric='knn-hop' needs k, the number of nearest neighbours counting "
            "the point itself (the Naitzat study uses k=35 for D-II/D-III and k=14 for D-I)."
        )
    return _hop_graph(knn_graph(X, k), math.floor(scale), memory_limit)


# --------------------------------------------------------------------------------------------
# scale graph -> flag complex -> homology
# --------------------------------------------------------------------------------------------


def _upper_edges(adjacency: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    upper = sp.triu(adjacency, k=1).tocoo()
    return upper.row.astype(np.int64), upper.col.astype(np.int64)


def estimate_clique_counts(adjacency: sp.spmatrix, max_size: int) -> list[float]:
    """Upper bounds on the number of cliques of 1..``max_size`` vertices in a graph.

    Orients every edge from the lower- to the higher-(degree, index) end; each clique is counted
    once at its lowest vertex, so ``sum_v C(outdeg(v), j - 1)`` bounds the ``j``-cliques. This is
    exact for vertices and edges and a few times too high for triangles and above in geometric
    graphs: good enough to refuse hopeless computations before they start.

    Parameters
    ----------
    adjacency : sparse matrix or array-like of shape (n, n)
        The graph: nonzero entries are edges, read as undirected (an edge wherever either of
        ``[i, j]``, ``[j, i]`` is nonzero); the diagonal is ignored.
    max_size : int
        Largest clique size counted, >= 1.

    Returns
    -------
    list of float
        ``max_size`` bounds: on the vertices, the edges, the triangles, ...

    Raises
    ------
    TypeError
        ``adjacency`` is not a matrix of real numbers.
    ValueError
        ``adjacency`` is not square or holds NaN, or ``max_size`` is not an int >= 1.
    """
    caller = "estimate_clique_counts"
    graph = _undirected(check_adjacency(adjacency, caller=caller))
    check_param("max_size", max_size, Interval(int, 1, None, closed="left"), caller=caller)
    return _clique_counts(graph, max_size)


def _clique_counts(graph: sp.csr_matrix, max_size: int) -> list[float]:
    """:func:`estimate_clique_counts` of a symmetric boolean CSR graph without diagonal."""
    graph = sp.csr_matrix(graph, dtype=bool)
    n = graph.shape[0]
    degree = np.diff(graph.indptr)
    rank = np.lexsort((np.arange(n), degree))  # rank[i] = vertex with i-th lowest degree
    position = np.empty(n, dtype=np.int64)
    position[rank] = np.arange(n)
    rows, cols = _upper_edges(graph)
    lower_end = np.where(position[rows] < position[cols], rows, cols)
    outdeg = np.bincount(lower_end, minlength=n).astype(np.float64)
    return [float(n)] + [float(comb(outdeg, size - 1).sum()) for size in range(2, max_size + 1)]


def _check_complex_size(adjacency: sp.spmatrix, max_dim: int, budget: float) -> None:
    counts = _clique_counts(adjacency, max_dim + 2)
    needed = sum(counts) * _BYTES_PER_SIMPLEX
    if needed > budget:
        _refuse(
            f"The flag complex up to dimension {max_dim + 1} (up to {sum(counts):,.0f} simplices "
            f"on {adjacency.shape[0]:,} vertices)",
            needed,
            budget,
            "Lower max_dim, use a smaller scale, or subsample more (larger stride).",
        )


def _betti_from_simplex_tree(tree: Any, max_dim: int) -> list[int]:
    # GUDHI skips the complex's top dimension unless asked; that dimension matters whenever the
    # complex has no simplices above max_dim (e.g. a collapsed circle has no triangles).
    tree.compute_persistence(
        homology_coeff_field=2, persistence_dim_max=tree.dimension() <= max_dim
    )
    betti = list(tree.betti_numbers())[: max_dim + 1]
    return betti + [0] * (max_dim + 1 - len(betti))


def _gudhi_tree(n: int, rows: np.ndarray, cols: np.ndarray) -> Any:
    import gudhi

    tree = gudhi.SimplexTree()
    tree.insert_batch(np.arange(n, dtype=np.int64)[None, :], np.zeros(n))
    if len(rows):
        tree.insert_batch(np.stack([rows, cols]), np.zeros(len(rows)))
    return tree


#: "auto" sends beta_1 to ripser when the graph has more triangles per edge than this (by
#: :func:`estimate_clique_counts`, ~10 ms). Measured on the 22 cells of a trained ReLU and a trained
#: cone D-II net: 18-38 on every ReLU cell, where one collapse round takes 0.03-0.3 s; 56-110 on
#: cone's deep layers, where a round takes 1-8 s and removes only 25-60% of the edges, and ripser
#: takes 0.3-0.8 s.
_RIPSER_TRIANGLES_PER_EDGE = 45.0
#: Memory allowed per edge when "auto" sends beta_1 to ripser. Measured peak: ~150 B per edge
#: (160 MB for 1.1 million edges, 1.3e8 triangles by the bound); 1 KiB leaves room.
_RIPSER_BYTES_PER_EDGE = 1024
#: Memory allowed per triangle (by the bound) when "auto" sends beta_2 to ripser: its columns are
#: then the triangles. Measured peak on two cone-trained D-II cells: ~45-57 B per triangle
#: (3.5 GB for 6.1e7 triangles, 6.6 GB for 1.3e8, process included).
_RIPSER_BYTES_PER_TRIANGLE = 96
#: On a dense graph "auto" stops the edge collapse once a round removes less than this fraction
#: of the edges. Measured on a cone-trained D-II cell: 19% in the first round, 10% in the second,
#: then ~1% per 15-s round for 40+ rounds (a dense random graph: 0% in the first).
_COLLAPSE_STALL_FRACTION = 0.1


def _collapse_edge_list(
    n: int,
    rows: np.ndarray,
    cols: np.ndarray,
    max_rounds: int = 200,
    stall_fraction: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Edge-collapse a graph (GUDHI) until nothing more collapses; returns the remaining edges.

    Same algorithm as ``SimplexTree.collapse_edges`` but on the edge list directly, which skips
    building a simplex tree of the full graph (~10% of the cost on ~300k-edge graphs). With
    ``stall_fraction`` > 0 it also stops after a round that removed less than that fraction of
    the edges (every intermediate graph has the same homology, so stopping early is exact).
    """
    from gudhi.flag_filtration.edge_collapse import reduce_graph

    edges = sp.coo_matrix((np.zeros(len(rows)), (rows, cols)), shape=(n, n))
    for _ in range(max_rounds):
        if edges.nnz == 0:
            break
        collapsed = reduce_graph(edges, nb_iterations=1)
        # a round only removes edges: the same count means none removed
        done = collapsed.nnz == edges.nnz or collapsed.nnz > (1 - stall_fraction) * edges.nnz
        edges = collapsed
        if done:
            break
    return edges.row.astype(np.int64), edges.col.astype(np.int64)


def _ripser_betti(
    graph: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, max_dim: int
) -> tuple[int, ...]:
    """Betti numbers of the flag complex of ``graph`` (upper edges ``rows``, ``cols``) by ripser.

    The caller checks the size first.
    """
    import ripser

    n = graph.shape[0]
    # All edges at value 1, vertices at 0: the infinite bars at threshold 1 are the homology.
    distances = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    diagrams = ripser.ripser(distances, distance_matrix=True, maxdim=max_dim, thresh=1.0)
    return tuple(int(np.isinf(d[:, 1]).sum()) for d in diagrams["dgms"])


def flag_complex_betti(
    adjacency: sp.spmatrix,
    *,
    max_dim: int = 1,
    method: str = "auto",
    memory_limit: float | None = None,
) -> tuple[tuple[int, ...], int | None]:
    """Betti numbers of the flag (clique) complex of a graph, over Z/2.

    Parameters
    ----------
    adjacency : sparse matrix or array-like of shape (n_vertices, n_vertices)
        Real numbers; nonzero entries are edges, read as undirected (an edge wherever either of
        ``[i, j]``, ``[j, i]`` is nonzero); the diagonal is ignored.
    max_dim : int, default=1
        Highest Betti number returned.
    method : {"auto", "strong", "collapse", "ripser", "plain"}, default="auto"
        See :data:`METHODS`. All give the same numbers; they differ in speed. On a graph given
        here "strong" is "collapse" (the vertex reduction needs the kNN graph; see
        :func:`betti_numbers`), and "auto" is "collapse" except on dense graphs, where it may
        use ripser.
    memory_limit : float, optional
        GiB the complex may use; default half of the available memory.

    Returns
    -------
    betti : tuple of int
        ``(beta_0, ..., beta_max_dim)``.
    n_edges_reduced : int or None
        Edges left after the reduction ("collapse"), else None.

    Raises
    ------
    TypeError
        ``adjacency`` is not a matrix of real numbers (e.g. None or a string).
    ValueError
        ``adjacency`` is not square or holds NaN, or a parameter is out of range.
    ComplexTooLargeError
        The complex would not fit in ``memory_limit``.
    """
    caller = "flag_complex_betti"
    check_params(
        {"max_dim": max_dim, "method": method, "memory_limit": memory_limit},
        PARAMETER_CONSTRAINTS,
        caller=caller,
    )
    graph = check_adjacency(adjacency, caller=caller)
    graph = graph.maximum(graph.T).tocsr()
    graph.setdiag(False)
    graph.eliminate_zeros()
    return _flag_betti(graph, max_dim, method, _memory_budget(memory_limit))


def _flag_betti(
    graph: sp.csr_matrix, max_dim: int, method: str, budget: float
) -> tuple[tuple[int, ...], int | None]:
    """:func:`flag_complex_betti` on a graph already symmetric, boolean, without diagonal."""
    n = graph.shape[0]
    beta_0 = int(connected_components(graph, directed=False)[0]) if n else 0
    if max_dim == 0 or n == 0:
        return (beta_0,) + (0,) * max_dim, None
    rows, cols = _upper_edges(graph)
    # more triangles per edge (by the bound, ~10 ms) than the collapses handle well
    dense = method == "auto" and (
        _clique_counts(graph, 3)[2] > _RIPSER_TRIANGLES_PER_EDGE * len(rows)
    )
    # ripser never stores the triangles for beta_1, so here its memory is bounded by the edges,
    # not by the clique count the general check uses (which refuses such graphs by ~100x)
    if dense and max_dim == 1 and len(rows) * _RIPSER_BYTES_PER_EDGE <= budget:
        return _ripser_betti(graph, rows, cols, max_dim), None
    if method == "ripser":
        _check_complex_size(graph, max_dim, budget)
        return _ripser_betti(graph, rows, cols, max_dim), None
    if len(rows) * _BYTES_PER_SIMPLEX > budget:
        _refuse(
            f"The 1-skeleton ({len(rows):,} edges)",
            len(rows) * _BYTES_PER_SIMPLEX,
            budget,
            "Use a smaller scale, a smaller k, or a larger stride.",
        )
    n_reduced: int | None = None
    if method in ("auto", "strong", "collapse"):
        stall = _COLLAPSE_STALL_FRACTION if dense else 0.0
        rows, cols = _collapse_edge_list(n, rows, cols, stall_fraction=stall)
        n_reduced = len(rows)
        check_graph = _pairs_to_graph(rows, cols, n)
        # beta_2 where the collapse stalled on a dense graph: the expansion would hold billions
        # of 4-cliques, while ripser's memory goes with the triangles (~4 min on 0.8M edges)
        if dense and max_dim == 2:
            triangles = _clique_counts(check_graph, 3)[2]
            still_dense = triangles > _RIPSER_TRIANGLES_PER_EDGE * len(rows)
            if still_dense and triangles * _RIPSER_BYTES_PER_TRIANGLE <= budget:
                return _ripser_betti(check_graph, rows, cols, max_dim), n_reduced
    else:
        check_graph = graph
    _check_complex_size(check_graph, max_dim, budget)
    tree = _gudhi_tree(n, rows, cols)
    tree.expansion(max_dim + 1)
    betti = _betti_from_simplex_tree(tree, max_dim)
    # beta_0 from components is exact and independent of the reduction; keep it as the answer.
    betti[0] = beta_0
    return tuple(int(b) for b in betti), n_reduced


# --------------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------------


def betti_numbers(
    points: Any,
    *,
    metric: str = "euclidean",
    scale: float,
    k: int | None = None,
    max_dim: int = 1,
    stride: int = 1,
    dedupe: bool = True,
    origin_point: bool = False,
    method: str = "auto",
    memory_limit: float | None = None,
    progress: ProgressCallback | None = None,
) -> BettiResult:
    """Betti numbers ``beta_0 .. beta_max_dim`` of the clique complex of a point cloud at one scale.

    Parameters
    ----------
    points : array-like or torch.Tensor of shape (n_points, n_features)
        The point cloud (one class at one layer, typically).
    metric : {"euclidean", "knn-hop"}, default="euclidean"
        "euclidean": join points at distance <= ``scale`` (same units as ``points``).
        "knn-hop": the Naitzat-Zhitnikov-Lim method; join points at most ``floor(scale)`` hops
        apart in the union-symmetrised k-nearest-neighbour graph.
    scale : float
        The scale, > 0. For knn-hop it counts hops, floored, and must be >= 1 (the Naitzat
        study uses 2.5, i.e. 2 hops); any scale at least the kNN graph's diameter joins each
        component completely.
    k : int, optional
        knn-hop only: neighbours per point, counting the point itself (k=35 means 34 others).
    max_dim : int, default=1
        Highest Betti number computed (0 to 8). Cost grows steeply with it.
    stride : int, default=1
        Keep every ``stride``-th point, in the given order (the study uses 4 for D-II/D-III).
    dedupe : bool, default=True
        Remove exact duplicate points first.
    origin_point : bool, default=False
        Add a point at the origin, reproducing an artefact of the original Naitzat code (it
        changes results, e.g. D-III class a becomes (9, 1, 9)). Off by default.
    method : {"auto", "strong", "collapse", "ripser", "plain"}, default="auto"
        How homology is computed; all give the same numbers (see :data:`METHODS`). "auto" =
        "strong": for knn-hop, vertices dominated in the kNN graph are deleted first (exact).
    memory_limit : float, optional
        GiB the computation may use; default half of the memory available now. Larger
        computations are refused with :class:`ComplexTooLargeError` before they start.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` between stages.

    Returns
    -------
    BettiResult
        A tuple of ints with provenance attributes (points kept, edges, seconds, params).

    Raises
    ------
    ValueError
        Bad points (not 2-D, empty, NaN/inf, coordinates so large that squared distances
        overflow) or parameters (scale <= 0, a knn-hop scale below 1, k >= n, unknown metric).
    ComplexTooLargeError
        The complex would not fit in ``memory_limit``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    >>> circle = np.c_[np.cos(t), np.sin(t)]
    >>> betti_numbers(circle, scale=0.3)
    (1, 1)
    >>> betti_numbers(circle, metric="knn-hop", k=4, scale=2.5, max_dim=2)
    (1, 1, 0)
    """
    caller = "betti_numbers"
    started = time.perf_counter()
    check_params(
        {
            "metric": metric,
            "scale": scale,
            "k": k,
            "max_dim": max_dim,
            "stride": stride,
            "method": method,
            "memory_limit": memory_limit,
        },
        PARAMETER_CONSTRAINTS,
        caller=caller,
    )
    if metric == "knn-hop" and k is None:
        raise ValueError(
            "betti_numbers: metric='knn-hop' needs k (neighbours counting the point itself), "
            "e.g. k=35, scale=2.5 as in the Naitzat study."
        )
    if metric == "euclidean" and k is not None:
        raise ValueError(
            "betti_numbers: k applies only to metric='knn-hop'; drop k or set metric='knn-hop'."
        )
    if metric == "knn-hop":
        check_param("scale", scale, KNN_HOP_SCALE, caller=caller, hint=KNN_HOP_SCALE_HINT)
    X = check_points(points, caller=caller)
    report = progress or (lambda stage, done, total: None)
    report("subsample", 0, 4)
    kept = subsample(X, stride=stride, dedupe=dedupe, origin_point=origin_point)
    if metric == "knn-hop" and k is not None and k >= len(kept):
        raise ValueError(
            f"betti_numbers: k={k} must be smaller than the number of points after stride "
            f"{stride} and duplicate removal ({len(kept)} of {len(X)}). Use a smaller k or "
            "stride, or more points."
        )
    _check_distances(kept, metric, k, caller)
    report("graph", 1, 4)
    if metric == "knn-hop" and method in ("auto", "strong"):
        assert k is not None  # knn-hop without k was refused above
        # the vertex reduction needs the kNN graph, so the scale graph is built here
        knn = knn_graph(kept, k)
        if max_dim == 0:
            # beta_0 only: any hop graph of the kNN graph has the kNN graph's components, so
            # the hop product (~30% of a beta_0 trace's time) is skipped
            graph = reduced = knn
        else:
            graph = _hop_graph(knn, math.floor(scale), memory_limit)
            keep = np.flatnonzero(~_dominated_vertices(knn))
            reduced = graph[keep][:, keep].tocsr()
    else:
        graph = scale_graph(kept, metric=metric, scale=scale, k=k, memory_limit=memory_limit)
        reduced = graph
    report("homology", 2, 4)
    betti, n_reduced = _flag_betti(reduced, max_dim, method, _memory_budget(memory_limit))
    report("done", 4, 4)
    return BettiResult(
        betti,
        n_input=len(X),
        n_points=len(kept),
        n_edges=graph.nnz // 2,
        n_edges_reduced=n_reduced,
        seconds=time.perf_counter() - started,
        params={
            "metric": metric,
            "scale": float(scale),
            "k": k,
            "max_dim": max_dim,
            "stride": stride,
            "dedupe": dedupe,
            "origin_point": origin_point,
            "method": method,
        },
    )


def betti_by_class(
    points: Any,
    labels: Any,
    *,
    progress: Callable[[Any, int, int], None] | None = None,
    **params: Any,
) -> dict[Any, BettiResult]:
    """Betti numbers of each class's points: ``{label: BettiResult}`` in sorted label order.

    ``params`` are those of :func:`betti_numbers` (metric, scale, k, max_dim, stride, ...);
    the stride applies within each class, in the given order. ``progress(label, done, total)``
    is called before each class.
    """
    caller = "betti_by_class"
    X = check_points(points, caller=caller)
    y = check_labels(labels, len(X), caller=caller)
    classes = np.unique(y)
    results: dict[Any, BettiResult] = {}
    for done, label in enumerate(classes):
        key = label.item() if hasattr(label, "item") else label
        if progress is not None:
            progress(key, done, len(classes))
        try:
            results[key] = betti_numbers(X[y == label], **params)
        except ComplexTooLargeError:
            raise
        except ValueError as error:
            raise ValueError(f"class {key!r}: {error}") from None
    if progress is not None:
        progress(None, len(classes), len(classes))
    return results


def persistence_diagrams(
    points: Any,
    *,
    metric: str = "euclidean",
    max_dim: int = 1,
    k: int | None = None,
    max_scale: float | None = None,
    stride: int = 1,
    dedupe: bool = True,
    origin_point: bool = False,
    memory_limit: float | None = None,
) -> list[np.ndarray]:
    """Persistence diagrams of the whole Vietoris-Rips filtration (ripser), one per dimension.

    Parameters
    ----------
    metric : {"euclidean", "knn-hop"}, default="euclidean"
        "knn-hop" filters by hop distance in the k-nearest-neighbour graph (values in hops).
    max_dim : int, default=1
    k : int, optional
        knn-hop only, counting the point itself.
    max_scale : float, optional
        Stop the filtration here (same units as the metric); default: no limit.
    stride, dedupe, origin_point : see :func:`betti_numbers`.
    memory_limit : float, optional
        GiB allowed; the dense distance matrix is refused if it does not fit.

    Returns
    -------
    list of ndarray of shape (n_pairs, 2)
        ``(birth, death)`` pairs for dimensions 0..max_dim; death is ``inf`` for bars alive at
        ``max_scale``.

    Raises
    ------
    ValueError
        Bad points (including Euclidean distances beyond ripser's float32 range) or parameters
        (k with the euclidean metric, knn-hop without k or with k >= n).
    ComplexTooLargeError
        The distance matrix would not fit in ``memory_limit``.
    """
    import ripser

    caller = "persistence_diagrams"
    check_params(
        {
            "metric": metric,
            "max_dim": max_dim,
            "k": k,
            "stride": stride,
            "memory_limit": memory_limit,
        },
        PARAMETER_CONSTRAINTS,
        caller=caller,
    )
    if max_scale is not None:
        check_param("max_scale", max_scale, Interval(float, 0.0, None, "neither"), caller=caller)
    if metric == "euclidean" and k is not None:
        raise ValueError(
            f"{caller}: k applies only to metric='knn-hop'; drop k or set metric='knn-hop'."
        )
    if metric == "knn-hop" and k is None:
        raise ValueError(f"{caller}: metric='knn-hop' needs k (neighbours counting the point).")
    given = check_points(points, caller=caller)
    X = subsample(given, stride=stride, dedupe=dedupe, origin_point=origin_point)
    n = len(X)
    if k is not None and k >= n:
        raise ValueError(
            f"{caller}: k={k} must be smaller than the number of points after stride {stride} "
            f"and duplicate removal ({n} of {len(given)}). Use a smaller k or stride, or more "
            "points."
        )
    if metric == "euclidean":
        # ripser computes distances as |x|^2 + |y|^2 - 2 x.y (scikit-learn) and keeps float32
        check_distance_range(X, caller=caller, about_origin=True, max_distance=_FLOAT32_MAX)
    else:
        _check_distances(X, metric, k, caller)
    budget = _memory_budget(memory_limit)
    needed = 8.0 * n * n
    if needed > budget:
        _refuse(
            f"The distance matrix of {n:,} points",
            needed,
            budget,
            "Use a larger stride or fewer points.",
        )
    thresh = np.inf if max_scale is None else float(max_scale)
    if metric == "euclidean":
        with warnings.catch_warnings():
            # ripser's guesses that a point cloud with n_points <= n_features (e.g. one point)
            # is transposed or a distance matrix: X is always (n_points, n_features) here
            warnings.filterwarnings("ignore", "The input point cloud has more columns", UserWarning)
            warnings.filterwarnings("ignore", "The input matrix is square", UserWarning)
            return list(ripser.ripser(X, maxdim=max_dim, thresh=thresh)["dgms"])
    assert k is not None  # knn-hop without k was refused above
    hops = shortest_path(knn_graph(X, k), unweighted=True, directed=False)
    hops[np.isinf(hops)] = 0  # unreachable pairs never join (no entry in the sparse matrix)
    if np.isfinite(thresh):
        hops[hops > thresh] = 0
    distances = sp.coo_matrix(np.triu(hops, 1))
    return list(
        ripser.ripser(distances, distance_matrix=True, maxdim=max_dim, thresh=thresh)["dgms"]
    )

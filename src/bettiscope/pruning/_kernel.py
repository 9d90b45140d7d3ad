"""Betti numbers of many filters' point clouds at once: the fast path behind filter scoring.

This module imports no torch (only NumPy, SciPy and the topology engine), so worker processes
start in a fraction of a second.

One filter's point cloud is its output map over ``N`` images, each map flattened to a point of
``R^(H*W)``. For ``metric="euclidean"`` the scale graph joins two maps at Euclidean distance
``<= eps``; ``beta_0`` is its number of connected components and higher Betti numbers come from
its flag complex via :func:`bettiscope.topology.flag_complex_betti`. The fast path differs from
calling :func:`bettiscope.topology.betti_numbers` once per filter only in how it finds the edges:

1. one float32 Gram matrix per filter (BLAS ``syrk``, one thread) on the centred cloud decides
   every pair that is inside or outside the ball by more than twice the worst-case float32
   error (:func:`candidate_margin`);
2. the few pairs in between are re-measured exactly (float64 differences), so the edge set is
   the exact "distance <= eps" set the engine uses;
3. the components of all filters of a chunk come from one sparse-graph call.

Filters with exact duplicate maps (the engine removes duplicates first, which changes ``N`` and
the relative scale) and the ``knn-hop`` metric take the engine's per-filter path instead, so
every number equals the engine's by construction; the tests check both against ripser.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from bettiscope.topology import betti_numbers, flag_complex_betti, subsample

__all__ = [
    "betti_block",
    "betti_block_job",
    "candidate_margin",
    "rms_pairwise_distance",
]

#: Unit roundoff of float32 (2**-24).
FLOAT32_UNIT = 2.0**-24


def candidate_margin(n_features: int) -> float:
    """Relative margin (on ``|x_i|^2 + |x_j|^2``) that covers float32 error in the Gram test.

    A float32 dot product of length ``D`` errs by at most ``~D u |x||y| <= D u (|x|^2+|y|^2)/2``
    (``u = 2**-24``); the squared distance doubles it, and the two float32 subtractions add a
    few ``u``. ``4 (D + 8) u`` is twice that worst case: 6e-6 for 8x8 maps, 2.4e-4 for 64x64.
    """
    return 4.0 * (n_features + 8) * FLOAT32_UNIT


def rms_pairwise_distance(points: np.ndarray) -> float:
    """Root-mean-square distance over all ordered pairs of rows, ``sqrt(2 * mean |x - mean|^2)``.

    The unit of the relative Euclidean scale: invariant to translating the cloud, and scaling
    the cloud scales it, so ``eps = scale * rms`` gives Betti numbers that do not change when a
    batch-norm layer (a per-channel affine map) rescales or shifts a filter's output.

    Parameters
    ----------
    points : ndarray of shape (n_points, n_features)

    Returns
    -------
    float
        0.0 for a single point or identical points.
    """
    _, sq = _centred(np.asarray(points, dtype=np.float64))
    return math.sqrt(2.0 * float(sq.mean()))


def _centred(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``X`` minus its mean, and each row's squared norm after centring (float64)."""
    centred = X - X.mean(axis=0)
    return centred, np.einsum("ij,ij->i", centred, centred)


def _absolute_scale(points: np.ndarray, scale: float, relative: bool) -> tuple[float, float]:
    """(eps, unit): the Euclidean scale in the cloud's units and the unit it was measured in."""
    unit = rms_pairwise_distance(points) if relative else 1.0
    return scale * unit, unit


def _engine_filter(
    X: np.ndarray,
    *,
    metric: str,
    scale: float,
    relative: bool,
    k: int | None,
    max_dim: int,
    dedupe: bool,
    memory_limit: float | None,
) -> dict[str, Any]:
    """One filter through :func:`bettiscope.topology.betti_numbers` (the reference path)."""
    points = subsample(X, dedupe=dedupe)
    if len(points) < 2 or (metric == "knn-hop" and k is not None and len(points) <= k):
        # A dead filter (one distinct map) is one point. With at most k distinct maps, "join
        # each point to its k - 1 nearest others" joins every pair: a simplex, Betti (1, 0, ..).
        betti = (1,) + (0,) * max_dim
        return {"betti": betti, "n_points": len(points), "eps": 0.0, "unit": 0.0, "path": "few"}
    if metric == "euclidean":
        eps, unit = _absolute_scale(points, scale, relative)
        result = betti_numbers(
            points, scale=eps, max_dim=max_dim, dedupe=False, memory_limit=memory_limit
        )
    else:
        eps, unit = float(scale), 1.0
        result = betti_numbers(
            points,
            metric="knn-hop",
            k=k,
            scale=scale,
            max_dim=max_dim,
            dedupe=False,
            memory_limit=memory_limit,
        )
    return {
        "betti": tuple(result),
        "n_points": result.n_points,
        "eps": eps,
        "unit": unit,
        "path": "engine",
    }


_CONTROLLER: list[Any] = []


def _blas_controller() -> Any:
    """One cached threadpoolctl controller (building one scans the loaded libraries: ~5 ms)."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def _candidate_edges(
    X64: np.ndarray, centred: np.ndarray, sq: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Exact ``distance <= eps`` pairs (i < j) of one cloud, found through a float32 Gram matrix.

    ``centred, sq`` come from :func:`_centred`. Pairs clearly inside or outside the ball (by
    more than the float32 error bound) are decided by the Gram matrix; the few in between are
    measured exactly from float64 differences, as the engine does. The flag says whether two
    maps are exactly equal (checked only on pairs whose estimated distance is ~0).
    """
    from scipy.linalg.blas import ssyrk

    n, n_features = centred.shape
    margin = candidate_margin(n_features)
    # |x_i - x_j|^2 = sq_i + sq_j - 2 G_ij <= eps^2 + margin (sq_i + sq_j)  <=>  G_ij >= a_i + a_j
    a = (((1.0 - margin) * sq - 0.5 * eps * eps) / 2.0).astype(np.float32)
    gram = ssyrk(1.0, np.asfortranarray(centred, dtype=np.float32))  # upper triangle, (N, N)
    np.subtract(gram, a[:, None], out=gram)
    np.subtract(gram, a[None, :], out=gram)
    flat = np.flatnonzero(gram >= 0.0)
    rows, cols = np.divmod(flat, n)  # 7x faster than 2-D nonzero
    upper = rows < cols  # syrk leaves the lower triangle at zero; the diagonal is no edge
    rows, cols, slack = rows[upper], cols[upper], gram.ravel()[flat[upper]]
    # slack = (eps^2 + margin S - distance^2) / 2 up to float32 error (S = sq_i + sq_j), so
    # slack >= margin S means distance^2 <= eps^2 - margin S: certainly an edge
    norms = margin * (sq[rows] + sq[cols])
    certain = slack >= norms
    unsure = np.flatnonzero(~certain)
    diff = X64[rows[unsure]] - X64[cols[unsure]]
    certain[unsure] = np.einsum("ij,ij->i", diff, diff) <= eps * eps
    # equal maps have distance 0, i.e. slack ~ (eps^2 + margin S) / 2: compare those exactly
    near_zero = np.flatnonzero(slack >= 0.5 * eps * eps - norms)
    duplicate = bool(np.any(np.all(X64[rows[near_zero]] == X64[cols[near_zero]], axis=1)))
    return rows[certain], cols[certain], duplicate


def betti_block(
    maps: np.ndarray,
    *,
    metric: str = "euclidean",
    scale: float = 0.4,
    relative: bool = True,
    k: int | None = None,
    max_dim: int = 0,
    dedupe: bool = True,
    fast: bool = True,
    memory_limit: float | None = None,
) -> list[dict[str, Any]]:
    """Betti numbers of the point cloud of every filter in a block.

    Parameters
    ----------
    maps : ndarray of shape (n_filters, n_images, n_features)
        Row ``[f, i]`` is filter ``f``'s output map on image ``i``, flattened.
    metric : {"euclidean", "knn-hop"}, default="euclidean"
    scale : float, default=0.4
        Euclidean: the scale, in units of the cloud's RMS pairwise distance when ``relative``
        (see :func:`rms_pairwise_distance`), else in the maps' own units. knn-hop: hops.
    relative : bool, default=True
        Euclidean only: measure ``scale`` relative to each filter's cloud.
    k : int, optional
        knn-hop only: neighbours counting the point itself.
    max_dim : int, default=0
        Highest Betti number computed.
    dedupe : bool, default=True
        Remove duplicate maps first (as the engine does by default).
    fast : bool, default=True
        Use the batched Euclidean path; False calls the engine once per filter (the reference).
    memory_limit : float, optional
        GiB allowed per filter, passed to the engine.

    Returns
    -------
    list of dict
        Per filter: ``betti`` (tuple), ``n_points``, ``eps`` (the scale used, in map units or
        hops), ``unit`` (the RMS pairwise distance, or 1), ``path`` ("fast", "engine" or "few").
    """
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(
            f"betti_block: maps must have shape (n_filters, n_images, n_features); "
            f"got {maps.shape}."
        )
    options: dict[str, Any] = {
        "metric": metric,
        "scale": scale,
        "relative": relative,
        "k": k,
        "max_dim": max_dim,
        "dedupe": dedupe,
        "memory_limit": memory_limit,
    }
    n_filters, n_images, _ = maps.shape
    results: list[dict[str, Any] | None] = [None] * n_filters
    if not fast or metric != "euclidean" or n_images < 2:
        return [
            _engine_filter(np.asarray(maps[f], np.float64), **options) for f in range(n_filters)
        ]

    edge_rows: list[np.ndarray] = []
    edge_cols: list[np.ndarray] = []
    fast_filters: list[int] = []
    with _blas_controller().limit(limits=1):  # 2 BLAS threads on a busy 2-core box: ~20x slower
        for f in range(n_filters):
            X64 = np.asarray(maps[f], dtype=np.float64)
            centred, sq = _centred(X64)
            unit = math.sqrt(2.0 * float(sq.mean())) if relative else 1.0  # as rms_pairwise_...
            eps = scale * unit
            if eps <= 0.0:  # every map identical: one point (or, without dedupe, one clique)
                results[f] = _engine_filter(X64, **options)
                continue
            rows, cols, duplicate = _candidate_edges(X64, centred, sq, eps)
            if dedupe and duplicate:
                # duplicates change the point count and the relative scale: engine path
                results[f] = _engine_filter(X64, **options)
                continue
            offset = len(fast_filters) * n_images
            edge_rows.append(rows + offset)
            edge_cols.append(cols + offset)
            fast_filters.append(f)
            higher: tuple[int, ...] = ()
            if max_dim >= 1:
                graph = sp.coo_matrix(
                    (np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n_images, n_images)
                )
                betti, _ = flag_complex_betti(graph, max_dim=max_dim, memory_limit=memory_limit)
                higher = tuple(betti[1:])
            results[f] = {
                "betti": higher,  # beta_0 is prepended below, from one components call
                "n_points": n_images,
                "eps": eps,
                "unit": unit,
                "path": "fast",
            }
    if fast_filters:
        # beta_0 of every fast filter from one components call on the block-diagonal graph
        n = len(fast_filters) * n_images
        rows, cols = np.concatenate(edge_rows), np.concatenate(edge_cols)
        graph = sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, n))
        n_components, labels = connected_components(graph, directed=False)
        block_of_component = np.empty(n_components, dtype=np.int64)
        block_of_component[labels] = np.arange(n) // n_images
        beta_0 = np.bincount(block_of_component, minlength=len(fast_filters))
        for position, f in enumerate(fast_filters):
            entry = results[f] or {}
            entry["betti"] = (int(beta_0[position]), *entry["betti"])
    return [entry or {} for entry in results]


def betti_block_job(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Process-pool entry point: ``betti_block(job["maps"], **job["options"])``."""
    return betti_block(job["maps"], **job["options"])

"""Small point clouds of known topology, for tests, examples and the engine's benchmarks.

Each sampler is deterministic (evenly spaced, optionally jittered by ``noise`` with ``seed``), so
the documented ``scale`` recovers the documented Betti numbers exactly.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from bettiscope._validation import Interval, check_param

__all__ = ["circle", "disjoint_circles", "fibonacci_sphere", "figure_eight", "sphere", "torus"]

_POSITIVE = Interval(float, 0.0, None, closed="neither")


def _count(name: str, value: Any, caller: str, low: int = 1) -> None:
    check_param(name, value, Interval(int, low, None, closed="left"), caller=caller)


def _check_seed(seed: Any, caller: str) -> None:
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise ValueError(
            f"The 'seed' parameter of {caller} must be None or an int >= 0. Got {seed!r} instead."
        )


def _check_center(center: Any, caller: str) -> np.ndarray:
    try:
        array = np.asarray(center, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.empty(0)
    if array.shape != (2,) or not np.isfinite(array).all():
        raise ValueError(
            f"The 'center' parameter of {caller} must be two finite numbers (x, y). "
            f"Got {center!r} instead."
        )
    return array


def _jitter(points: np.ndarray, noise: float, seed: int | None) -> np.ndarray:
    if noise <= 0:
        return points
    rng = np.random.default_rng(seed)
    return points + rng.normal(scale=noise, size=points.shape)


def circle(
    n_points: int = 100,
    *,
    radius: float = 1.0,
    center: tuple[float, float] = (0.0, 0.0),
    noise: float = 0.0,
    seed: int | None = 0,
) -> np.ndarray:
    """``n_points`` evenly spaced on a circle in the plane. Betti numbers (1, 1).

    Neighbouring points are ``2 * radius * sin(pi / n_points)`` apart; any Euclidean scale between
    about 1.5x that spacing and ``radius`` recovers (1, 1), as does knn-hop with k=4, scale 2.5.

    Parameters
    ----------
    n_points : int, default=100
        Number of points, >= 1 (at least 4 for a hole at some scale).
    radius : float, default=1.0
        Radius, > 0.
    center : tuple of float, default=(0.0, 0.0)
        Centre ``(x, y)``.
    noise : float, default=0.0
        Standard deviation of Gaussian jitter added to every coordinate, >= 0 (0: none).
    seed : int or None, default=0
        Seed of the jitter (unused when ``noise`` is 0).

    Returns
    -------
    ndarray of shape (n_points, 2)

    Raises
    ------
    ValueError
        A parameter is out of range or of the wrong type.
    """
    caller = "shapes.circle"
    _count("n_points", n_points, caller)
    check_param("radius", radius, _POSITIVE, caller=caller)
    shift = _check_center(center, caller)
    check_param("noise", noise, Interval(float, 0.0, None, closed="left"), caller=caller)
    _check_seed(seed, caller)
    angles = np.linspace(0.0, 2.0 * np.pi, n_points, endpoint=False)
    points = np.c_[np.cos(angles), np.sin(angles)] * radius + shift
    return _jitter(points, noise, seed)


def disjoint_circles(
    n_circles: int = 3, n_points: int = 60, *, spacing: float = 3.0, seed: int | None = 0
) -> np.ndarray:
    """``n_circles`` unit circles along the x-axis, ``spacing`` apart. Betti numbers (k, k).

    Parameters
    ----------
    n_circles : int, default=3
        Number of circles, >= 1.
    n_points : int, default=60
        Points per circle, >= 1.
    spacing : float, default=3.0
        Distance between neighbouring centres, > 2 (unit circles at most 2 apart touch).
    seed : int or None, default=0
        Passed to :func:`circle` (no jitter is added).

    Returns
    -------
    ndarray of shape (n_circles * n_points, 2)

    Raises
    ------
    ValueError
        A parameter is out of range or of the wrong type.
    """
    caller = "shapes.disjoint_circles"
    _count("n_circles", n_circles, caller)
    _count("n_points", n_points, caller)
    check_param(
        "spacing",
        spacing,
        Interval(float, 2.0, None, closed="neither"),
        caller=caller,
        hint="Unit circles whose centres are at most 2 apart touch or overlap.",
    )
    _check_seed(seed, caller)
    return np.vstack(
        [circle(n_points, center=(i * spacing, 0.0), seed=seed) for i in range(n_circles)]
    )


def figure_eight(n_points: int = 120) -> np.ndarray:
    """Two unit circles touching at the origin (a wedge of two circles). Betti numbers (1, 2).

    Parameters
    ----------
    n_points : int, default=120
        Points in all, >= 2: ``n_points // 2`` per circle (an odd ``n_points`` gives one fewer);
        the point nearest the origin is moved onto it, and exact duplicates are dropped.

    Returns
    -------
    ndarray of shape (2 * (n_points // 2), 2)
        Fewer rows only if a duplicate was dropped (none for n_points up to 400, measured).

    Raises
    ------
    ValueError
        ``n_points`` is not an int >= 2.
    """
    _count("n_points", n_points, "shapes.figure_eight", low=2)
    half = n_points // 2
    right = circle(half, center=(1.0, 0.0))
    left = circle(half, center=(-1.0, 0.0))
    points = np.vstack([right, left])
    points[np.argmin(np.linalg.norm(points, axis=1))] = 0.0
    _, first = np.unique(points, axis=0, return_index=True)
    return points[np.sort(first)]


def fibonacci_sphere(n_points: int, radius: float = 1.0) -> np.ndarray:
    """``n_points`` spread evenly over a sphere by the Fibonacci lattice.

    Parameters
    ----------
    n_points : int
        Number of points, >= 1.
    radius : float, default=1.0
        Radius, > 0.

    Returns
    -------
    ndarray of shape (n_points, 3)

    Raises
    ------
    ValueError
        A parameter is out of range or of the wrong type.
    """
    caller = "shapes.fibonacci_sphere"
    _count("n_points", n_points, caller)
    check_param("radius", radius, _POSITIVE, caller=caller)
    i = np.arange(n_points) + 0.5
    polar = np.arccos(1.0 - 2.0 * i / n_points)
    azimuth = np.pi * (1.0 + 5.0**0.5) * i
    return (
        radius
        * np.c_[np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)]
    )


def sphere(n_points: int = 400, *, radius: float = 1.0) -> np.ndarray:
    """A 2-sphere in R^3 (Fibonacci lattice): Betti numbers (1, 0, 1) at scale 0.3 (400 points).

    Parameters
    ----------
    n_points : int, default=400
        Number of points, >= 1.
    radius : float, default=1.0
        Radius, > 0.

    Returns
    -------
    ndarray of shape (n_points, 3)

    Raises
    ------
    ValueError
        A parameter is out of range or of the wrong type.
    """
    caller = "shapes.sphere"
    _count("n_points", n_points, caller)
    check_param("radius", radius, _POSITIVE, caller=caller)
    return fibonacci_sphere(n_points, radius)


def torus(
    n_major: int = 40, n_minor: int = 16, *, major_radius: float = 2.0, minor_radius: float = 1.0
) -> np.ndarray:
    """A torus in R^3 sampled on an angle grid. Betti numbers (1, 2, 1) at Euclidean scales
    from the diagonal of the largest grid cell upwards: for the defaults, at every scale from
    0.607 to 1.78 (measured: below 0.607 the outer grid cells stay open, e.g. (1, 321, 0) at
    0.5; the tests use 0.7), and with knn-hop, k=9, scale 2.5.

    Parameters
    ----------
    n_major : int, default=40
        Angles around the central axis, >= 1.
    n_minor : int, default=16
        Angles around the tube, >= 1.
    major_radius : float, default=2.0
        Distance from the central axis to the tube's centre, > ``minor_radius``.
    minor_radius : float, default=1.0
        Radius of the tube, > 0.

    Returns
    -------
    ndarray of shape (n_major * n_minor, 3)

    Raises
    ------
    ValueError
        A parameter is out of range or of the wrong type (a ``minor_radius`` of at least
        ``major_radius`` makes a surface that meets itself on the axis, not a torus).
    """
    caller = "shapes.torus"
    _count("n_major", n_major, caller)
    _count("n_minor", n_minor, caller)
    check_param("minor_radius", minor_radius, _POSITIVE, caller=caller)
    check_param("major_radius", major_radius, _POSITIVE, caller=caller)
    if not minor_radius < major_radius:
        raise ValueError(
            f"shapes.torus: minor_radius ({minor_radius!r}) must be smaller than major_radius "
            f"({major_radius!r}); otherwise the tube reaches the central axis and the surface "
            "is not a torus."
        )
    u, v = np.meshgrid(
        np.linspace(0.0, 2.0 * np.pi, n_major, endpoint=False),
        np.linspace(0.0, 2.0 * np.pi, n_minor, endpoint=False),
        indexing="ij",
    )
    ring = major_radius + minor_radius * np.cos(v)
    return np.c_[
        (ring * np.cos(u)).ravel(), (ring * np.sin(u)).ravel(), (minor_radius * np.sin(v)).ravel()
    ]

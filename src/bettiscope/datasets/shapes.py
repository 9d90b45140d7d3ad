"""Small point clouds of known topology, for tests, examples and the engine's benchmarks.

Each sampler is deterministic (evenly spaced, optionally jittered by ``noise`` with ``seed``), so
the documented ``scale`` recovers the documented Betti numbers exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = ["circle", "disjoint_circles", "fibonacci_sphere", "figure_eight", "sphere", "torus"]


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
    """
    angles = np.linspace(0.0, 2.0 * np.pi, n_points, endpoint=False)
    points = np.c_[np.cos(angles), np.sin(angles)] * radius + np.asarray(center)
    return _jitter(points, noise, seed)


def disjoint_circles(
    n_circles: int = 3, n_points: int = 60, *, spacing: float = 3.0, seed: int | None = 0
) -> np.ndarray:
    """``n_circles`` unit circles along the x-axis, ``spacing`` apart. Betti numbers (k, k)."""
    return np.vstack(
        [circle(n_points, center=(i * spacing, 0.0), seed=seed) for i in range(n_circles)]
    )


def figure_eight(n_points: int = 120) -> np.ndarray:
    """Two unit circles touching at the origin (a wedge of two circles). Betti numbers (1, 2)."""
    half = n_points // 2
    right = circle(half, center=(1.0, 0.0))
    left = circle(half, center=(-1.0, 0.0))
    points = np.vstack([right, left])
    points[np.argmin(np.linalg.norm(points, axis=1))] = 0.0
    _, first = np.unique(points, axis=0, return_index=True)
    return points[np.sort(first)]


def fibonacci_sphere(n_points: int, radius: float = 1.0) -> np.ndarray:
    """``n_points`` spread evenly over a sphere by the Fibonacci lattice."""
    i = np.arange(n_points) + 0.5
    polar = np.arccos(1.0 - 2.0 * i / n_points)
    azimuth = np.pi * (1.0 + 5.0**0.5) * i
    return (
        radius
        * np.c_[np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)]
    )


def sphere(n_points: int = 400, *, radius: float = 1.0) -> np.ndarray:
    """A 2-sphere in R^3 (Fibonacci lattice): Betti numbers (1, 0, 1) at scale 0.3 (400 points)."""
    return fibonacci_sphere(n_points, radius)


def torus(
    n_major: int = 40, n_minor: int = 16, *, major_radius: float = 2.0, minor_radius: float = 1.0
) -> np.ndarray:
    """A torus in R^3 sampled on an angle grid. Betti numbers (1, 2, 1) at a scale near the
    largest grid spacing (about 0.5 for the defaults)."""
    u, v = np.meshgrid(
        np.linspace(0.0, 2.0 * np.pi, n_major, endpoint=False),
        np.linspace(0.0, 2.0 * np.pi, n_minor, endpoint=False),
        indexing="ij",
    )
    ring = major_radius + minor_radius * np.cos(v)
    return np.c_[
        (ring * np.cos(u)).ravel(), (ring * np.sin(u)).ravel(), (minor_radius * np.sin(v)).ravel()
    ]

"""The sample shapes: documented Betti numbers, and clear errors for bad parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bettiscope import betti_numbers
from bettiscope.datasets import shapes


@pytest.mark.parametrize(
    ("function", "args", "kwargs", "message"),
    [
        # used to fail inside numpy ("Number of samples, -5, must be non-negative")
        (shapes.circle, (-5,), {}, r"'n_points' parameter of shapes.circle .*\[1, inf\)"),
        # used to return an empty array
        (shapes.circle, (0,), {}, "'n_points' parameter of shapes.circle"),
        (shapes.circle, (10.0,), {}, "'n_points' .* an int"),
        (shapes.circle, (True,), {}, "'n_points'"),
        (shapes.circle, (10,), {"radius": 0.0}, r"'radius' .* \(0, inf\)"),
        (shapes.circle, (10,), {"radius": -1.0}, "'radius'"),
        (shapes.circle, (10,), {"radius": np.inf}, "'radius'"),
        (shapes.circle, (10,), {"center": (1.0,)}, "'center' .* two finite numbers"),
        (shapes.circle, (10,), {"center": (0.0, np.nan)}, "'center'"),
        (shapes.circle, (10,), {"center": "xy"}, "'center'"),
        (shapes.circle, (10,), {"noise": -0.1}, r"'noise' .* \[0, inf\)"),
        (shapes.circle, (10,), {"noise": 0.1, "seed": -1}, "'seed' .* None or an int >= 0"),
        (shapes.circle, (10,), {"seed": 1.5}, "'seed'"),
        (shapes.disjoint_circles, (0,), {}, "'n_circles' parameter of shapes.disjoint_circles"),
        (shapes.disjoint_circles, (2, 0), {}, "'n_points' parameter of shapes.disjoint_circles"),
        (shapes.disjoint_circles, (2,), {"spacing": 2.0}, r"'spacing' .* \(2, inf\).*overlap"),
        (shapes.disjoint_circles, (2,), {"spacing": -3.0}, "'spacing'"),
        # used to fail on an empty argmin
        (
            shapes.figure_eight,
            (1,),
            {},
            r"'n_points' parameter of shapes.figure_eight .*\[2, inf\)",
        ),
        (shapes.figure_eight, (None,), {}, "'n_points'"),
        (shapes.fibonacci_sphere, (0,), {}, "'n_points' parameter of shapes.fibonacci_sphere"),
        (shapes.fibonacci_sphere, (10, 0.0), {}, "'radius' parameter of shapes.fibonacci_sphere"),
        (shapes.sphere, (-1,), {}, "'n_points' parameter of shapes.sphere"),
        (shapes.sphere, (10,), {"radius": -2.0}, "'radius' parameter of shapes.sphere"),
        (shapes.torus, (0,), {}, "'n_major' parameter of shapes.torus"),
        (shapes.torus, (10, -1), {}, "'n_minor' parameter of shapes.torus"),
        (shapes.torus, (), {"minor_radius": 0.0}, "'minor_radius'"),
        (shapes.torus, (), {"major_radius": np.nan}, "'major_radius'"),
        (shapes.torus, (), {"minor_radius": 2.0}, "minor_radius .* smaller than major_radius"),
    ],
)
def test_bad_parameters(
    function: Callable[..., np.ndarray], args: tuple, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        function(*args, **kwargs)


def test_smallest_valid_inputs() -> None:
    assert shapes.circle(1).shape == (1, 2)
    assert shapes.figure_eight(2).shape == (2, 2)
    assert shapes.fibonacci_sphere(1).shape == (1, 3)
    assert shapes.torus(1, 1).shape == (1, 3)
    assert shapes.disjoint_circles(1, 1).shape == (1, 2)


@pytest.mark.parametrize("n_points", [2, 3, 7, 8, 120, 121])
def test_figure_eight_size(n_points: int) -> None:
    points = shapes.figure_eight(n_points)
    assert points.shape == (2 * (n_points // 2), 2)
    assert (np.linalg.norm(points, axis=1) == 0).sum() == 1  # the wedge point


def test_circle_parameters() -> None:
    points = shapes.circle(4, radius=2.0, center=(1, -1))
    np.testing.assert_allclose(points, [[3, -1], [1, 1], [-1, -1], [1, -3]], atol=1e-12)
    noisy = shapes.circle(30, noise=0.05, seed=3)
    np.testing.assert_array_equal(noisy, shapes.circle(30, noise=0.05, seed=3))
    assert not np.array_equal(noisy, shapes.circle(30))


def test_circle_documented_scales() -> None:
    n_points, radius = 100, 1.0
    spacing = 2 * radius * np.sin(np.pi / n_points)
    for scale in (1.5 * spacing, 0.5, radius):
        assert betti_numbers(shapes.circle(n_points), scale=scale) == (1, 1)
    assert betti_numbers(shapes.circle(n_points), metric="knn-hop", k=4, scale=2.5) == (1, 1)


def test_torus_documented_scales() -> None:
    """The docstring's range, measured: (1, 2, 1) from 0.607 to 1.78; not at 0.5 (it once
    said "about 0.5")."""
    torus = shapes.torus()
    for scale in (0.607, 0.7, 1.2, 1.78):
        assert betti_numbers(torus, scale=scale, max_dim=2) == (1, 2, 1), scale
    assert betti_numbers(torus, scale=0.5, max_dim=2) == (1, 321, 0)
    assert betti_numbers(torus, scale=0.6, max_dim=2) != (1, 2, 1)
    assert betti_numbers(torus, metric="knn-hop", k=9, scale=2.5, max_dim=2) == (1, 2, 1)


def test_sphere_documented_scale() -> None:
    assert betti_numbers(shapes.sphere(400), scale=0.3, max_dim=2) == (1, 0, 1)

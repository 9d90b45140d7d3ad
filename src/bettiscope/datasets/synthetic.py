"""Synthetic binary-classification point clouds whose per-class Betti numbers are known.

Two groups (class a = label 0, class b = label 1):

* The Naitzat-Zhitnikov-Lim sets **D-I** (2-D, 9 disks vs. a disk with 9 holes), **D-II** (3-D,
  9 pairs of linked solid tori) and **D-III** (3-D, 9 units of nested spherical shells), with
  the published sizes and geometry, scaled into [-1, 1].
* Families with a count parameter whose defaults give Betti numbers above 150:
  **disks-grid** (n x n disks vs. the square minus them), **linked-rings** (m pairs of linked
  solid tori on a lattice) and **nested-shells** (m units of a small sphere inside a larger one).

Every generator is seeded (the same arguments give the same array), has a points-per-component
and a ``noise`` parameter, refuses parameters that would make components overlap, and returns a
:class:`~bettiscope.datasets.registry.PointCloudDataset` whose ``measure`` holds parameters under
which :func:`bettiscope.topology.betti_by_class` recovers ``true_betti`` exactly (verified by
``tests/test_datasets_synthetic.py``). All measurements use the Naitzat ``knn-hop`` metric,
which is scale-free, so the same parameters can follow the data through a network's layers.

Every generator also refuses (``ValueError``) parameters that leave too few points for its own
measure to see the truth: a component with fewer than ``k`` points (the measure's ``k``, which
counts the point itself, so each point is joined to ``k - 1`` others: one of them must lie in
another component) in a class of several components, or a class of ``k`` points or fewer (no
k-nearest-neighbour graph). That minimum is necessary, not sufficient: the docstrings give the
sizes verified to recover the truth. The measure's stride is not counted, since a study often
measures every point.

``noise`` is the standard deviation of Gaussian jitter added to every coordinate, in the units
of the returned points (before the final max-abs scaling of D-II and D-III, which changes lengths
by a few percent). The exact recovery is verified at ``noise=0``; the docstrings give the noise
levels also checked.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bettiscope._validation import Interval, check_param
from bettiscope.datasets.registry import PointCloudDataset, _square_grid, register_dataset

__all__ = [
    "D1_EVAL_AXIS",
    "d1",
    "d2",
    "d3",
    "disks_grid",
    "lattice_shape",
    "linked_rings",
    "nested_shells",
]

#: Coordinates of each axis of D-I's evaluation grid: ``arange(-1.1, 1.1, 0.025)``, 88 values.
D1_EVAL_AXIS = np.arange(-1.1, 1.1, 0.025)

#: Largest data set a generator will build (rows), so a typo cannot exhaust memory.
MAX_POINTS = 5_000_000

_POSITIVE_INT = Interval(int, 1, None, closed="left")
_POSITIVE = Interval(float, 0.0, None, closed="neither")
_NON_NEGATIVE = Interval(float, 0.0, None, closed="left")


# --------------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------------


def _check(caller: str, **values: tuple[Any, Interval]) -> None:
    for name, (value, constraint) in values.items():
        check_param(name, value, constraint, caller=caller)


def _check_size(caller: str, n_points: float, advice: str) -> None:
    if n_points > MAX_POINTS:
        raise ValueError(
            f"{caller}: these parameters give about {n_points:,.0f} points, more than the "
            f"{MAX_POINTS:,} allowed. {advice}"
        )


def _require_measurable(data: PointCloudDataset, caller: str, *, unit: str, advice: str) -> None:
    """Refuse a data set too sparse for its own measure to see its true Betti numbers.

    The knn-hop graph joins each point to its ``k - 1`` nearest others (``k`` counts the point
    itself). A component with fewer than ``k`` points therefore always has an edge to another
    component of its class, so beta_0 would be undercounted; and a class needs more than ``k``
    points for the graph to exist. Those are the minimums refused here: necessary, not
    sufficient (each generator's docstring gives the sizes verified to recover the truth). The
    measure's stride is not counted, since tasks often measure every point.
    """
    k = data.measure.get("k")
    if data.measure.get("metric") != "knn-hop" or k is None:
        return
    for label in np.unique(data.y):
        in_class = data.y == label
        n_class = int(in_class.sum())
        if n_class <= k:
            raise ValueError(
                f"{caller}: class {int(label)} has only {n_class} points, but the measure's "
                f"k-nearest-neighbour graph (k={k}) needs more than k points per class, so its "
                f"true Betti numbers {data.true_betti.get(int(label))} could not be measured. "
                f"{advice}"
            )
        if data.components is None:
            continue
        sizes = np.bincount(data.components[in_class])
        sizes = sizes[sizes > 0]
        if len(sizes) > 1 and int(sizes.min()) < k:
            raise ValueError(
                f"{caller}: a {unit} of class {int(label)} has only {int(sizes.min())} points, "
                f"but the measure (knn-hop, k={k}, counting the point itself) needs at least "
                f"k = {k} points in every component: with fewer, each of its points has a "
                "neighbour in another component, so the true Betti numbers "
                f"{data.true_betti.get(int(label))} could not be measured. {advice}"
            )


def _jitter(X: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    if noise <= 0:
        return X
    return X + rng.normal(scale=noise, size=X.shape)


def _max_abs_scale(X: np.ndarray) -> tuple[np.ndarray, float]:
    """Divide by the largest absolute coordinate (one factor for all axes, shapes keep their
    proportions); return the scaled points and the factor."""
    factor = 1.0 / float(np.abs(X).max())
    return X * factor, factor


def fibonacci_shell(n_points: int, radius: float, azimuth: float = 0.0) -> np.ndarray:
    """``n_points`` on a sphere by the Fibonacci lattice, rotated by ``azimuth`` about the z axis.

    The points come in order of height (a spiral from pole to pole), as in the Naitzat code.
    """
    i = np.arange(n_points) + 0.5
    polar = np.arccos(1.0 - 2.0 * i / n_points)
    angle = np.pi * (1.0 + 5.0**0.5) * i + azimuth
    return (
        radius * np.c_[np.cos(angle) * np.sin(polar), np.sin(angle) * np.sin(polar), np.cos(polar)]
    )


def solid_torus(
    n_points: int,
    rng: np.random.Generator,
    *,
    radius: float,
    radial_half_width: float,
    half_thickness: float,
    normal: str,
    stratified: bool = False,
    round_section: bool = False,
) -> np.ndarray:
    """Points uniform in a solid torus around the origin (core circle of ``radius``).

    The cross-section is either the rectangle ``|r - radius| <= radial_half_width``,
    ``|h| <= half_thickness`` (D-II), or, with ``round_section``, a disk of radius
    ``radial_half_width``. ``normal`` ("z" or "y") is the axis the torus winds around.
    ``stratified`` spreads the angles evenly (one per sector of ``2 pi / n_points``, jittered
    within it) so a few hundred points leave no gap along the core.
    """
    if stratified:
        theta = 2.0 * np.pi * (np.arange(n_points) + rng.uniform(size=n_points)) / n_points
    else:
        theta = rng.uniform(0.0, 2.0 * np.pi, n_points)
    if round_section:
        r_section = radial_half_width * np.sqrt(rng.uniform(size=n_points))
        phi = rng.uniform(0.0, 2.0 * np.pi, n_points)
        r = radius + r_section * np.cos(phi)
        h = r_section * np.sin(phi)
    else:
        # uniform in area over the annulus: r^2 uniform
        inner, outer = radius - radial_half_width, radius + radial_half_width
        r = np.sqrt(rng.uniform(inner**2, outer**2, n_points))
        h = rng.uniform(-half_thickness, half_thickness, n_points)
    a, b = r * np.cos(theta), r * np.sin(theta)
    if normal == "z":
        return np.c_[a, b, h]
    return np.c_[a, h, b]


def lattice_shape(m: int) -> tuple[int, int, int]:
    """The near-cubic lattice ``(nx, ny, nz)`` with the fewest cells that holds ``m`` units.

    Start from the cube ``s^3`` (``s = ceil(m ** (1/3))``) and drop layers (z first) while the
    lattice still holds ``m``: 150 -> (6, 5, 5), 180 -> (6, 6, 5), 216 -> (6, 6, 6).
    """
    side = max(1, math.ceil(round(m ** (1.0 / 3.0), 9)))
    while side**3 < m:
        side += 1
    shape = [side, side, side]
    for axis in (2, 1, 2, 1):
        if shape[axis] > 1 and math.prod(shape) // shape[axis] * (shape[axis] - 1) >= m:
            shape[axis] -= 1
    return shape[0], shape[1], shape[2]


def _lattice_centres(m: int) -> tuple[np.ndarray, float, tuple[int, int, int]]:
    """Centres of the first ``m`` cells (x fastest) of a lattice filling [-1, 1] along its
    longest side, centred at the origin; also the cell width and the lattice shape."""
    shape = lattice_shape(m)
    cell = 2.0 / max(shape)
    index = np.array(np.unravel_index(np.arange(m), shape[::-1]))[::-1].T  # x fastest
    centres = (index + 0.5) * cell - np.asarray(shape) * cell / 2.0
    return centres, cell, shape


def _largest_count(fits: Any, start: int) -> int:
    """Largest count ``m <= start`` for which ``fits(m)`` holds (0 if none)."""
    m = start
    while m > 0 and not fits(m):
        m -= 1
    return m


def _linked_torus_pairs(
    centres: Any, points_per_torus: int, rng: np.random.Generator, *, offset: float, **torus: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two linked solid tori per centre: class a in the plane with normal z, class b with
    normal y, ``offset`` apart along x. Returns points, labels and component ids."""
    shift = np.array([offset / 2.0, 0.0, 0.0])
    blocks, labels, components = [], [], []
    for pair, centre in enumerate(centres):
        for label, normal, sign in ((0, "z", -1.0), (1, "y", 1.0)):
            blocks.append(
                solid_torus(points_per_torus, rng, normal=normal, **torus) + centre + sign * shift
            )
            labels.append(np.full(points_per_torus, label, dtype=np.int64))
            components.append(np.full(points_per_torus, 2 * pair + label, dtype=np.int64))
    return np.vstack(blocks), np.concatenate(labels), np.concatenate(components)


def _require_lattice_fit(
    caller: str, m: int, half_extent: float, *, units: str, unit: str, advice: str
) -> None:
    """Refuse ``m`` units of half-width ``half_extent`` that overlap on the lattice in [-1, 1]."""

    def fits(count: int) -> bool:
        return 2.0 / max(lattice_shape(count)) > 2.0 * half_extent

    if not fits(m):
        raise ValueError(
            f"{caller}: {m} {units} overlap: a {'x'.join(map(str, lattice_shape(m)))} lattice in "
            f"[-1, 1] has cells {2.0 / max(lattice_shape(m)):.4g} wide, but {unit} spans "
            f"{2 * half_extent:.4g}. Use m <= {_largest_count(fits, m)}, or {advice}."
        )


# --------------------------------------------------------------------------------------------
# the Naitzat-Zhitnikov-Lim data sets
# --------------------------------------------------------------------------------------------

_D1_CENTRES = np.vstack(
    [
        [0.0, 0.0],
        0.7 * np.c_[np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)],
    ]
)


def _distance_to_d1_disks(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, None, :] - _D1_CENTRES[None, :, :], axis=2).min(axis=1)


@register_dataset(
    "D-I", dim=2, summary="9 disks vs. the square around them (a disk with 9 holes), 2-D"
)
def d1(
    *,
    radius: float = 0.13,
    margin: float = 0.05,
    spacing: float = 0.019,
    noise: float = 0.0,
    seed: int = 0,
) -> PointCloudDataset:
    """D-I: nine disks (class a) inside the square around them (class b), with a grid to label.

    Geometry (the Naitzat generator scaled by 1/10 into [-1, 1]): disks of ``radius`` centred at
    the origin and at 8 points on the circle of radius 0.7 (neighbouring centres 0.536 apart).
    The training set is the grid ``arange(-1, 1, spacing)`` squared: points within ``radius`` of a
    centre are class a, points farther than ``radius + margin`` are class b, and the band between
    is left out so the classes are ``margin`` apart. ``X_eval`` is the 88 x 88 evaluation grid
    ``arange(-1.1, 1.1, 0.025)`` squared (7,744 points) on which the study measures Betti numbers
    of the network's predicted classes; ``y_eval`` labels it by the true geometry, splitting the
    margin (class a within ``radius + margin / 2`` of a centre).

    True Betti numbers: class a (9, 0), class b (1, 9) -- on the training set and on the grid.
    Measurement: knn-hop, k=14, scale 2.5 (2 hops), stride 3, max_dim 1 (the study's), which
    recovers them on both; on the grid they hold for any labelling radius from 0.12 to 0.21.

    Parameters
    ----------
    radius : float, default=0.13
        Disk radius.
    margin : float, default=0.05
        Width of the unlabelled band around each disk.
    spacing : float, default=0.019
        Training-grid spacing (about 147 points per disk at the defaults). One that leaves a
        disk fewer than k = 14 points (e.g. 0.065 at the default radius) is refused.
    noise : float, default=0.0
        Gaussian jitter of the training points (the original's "random" option used 0.002).
    seed : int, default=0
        Seed of the jitter (the grid itself is fixed).
    """
    caller = "D-I"
    _check(
        caller,
        radius=(radius, _POSITIVE),
        margin=(margin, _NON_NEGATIVE),
        spacing=(spacing, _POSITIVE),
        noise=(noise, _NON_NEGATIVE),
        seed=(seed, Interval(int, 0, None, closed="left")),
    )
    reach = radius + margin
    if 2.0 * reach >= 0.7 * 2.0 * math.sin(math.pi / 8.0):
        raise ValueError(
            f"{caller}: disks of radius {radius:g} with margin {margin:g} overlap (neighbouring "
            f"centres are 0.536 apart, so radius + margin must stay below 0.268; got "
            f"{reach:g}). Use a smaller radius or margin."
        )
    if spacing > radius / 2.0:
        raise ValueError(
            f"{caller}: spacing {spacing:g} is too coarse for disks of radius {radius:g} (fewer "
            f"than ~13 points per disk); use spacing <= {radius / 2.0:g}."
        )
    _check_size(caller, (2.0 / spacing) ** 2, "Use a larger spacing.")
    rng = np.random.default_rng(seed)
    grid = _square_grid(np.arange(-1.0, 1.0, spacing))
    distance = _distance_to_d1_disks(grid)
    keep = (distance <= radius) | (distance > reach)
    X = grid[keep]
    y = (distance[keep] > radius).astype(np.int64)
    nearest = np.linalg.norm(X[:, None, :] - _D1_CENTRES[None], axis=2).argmin(axis=1)
    components = np.where(y == 0, nearest, len(_D1_CENTRES))
    X_eval = _square_grid(D1_EVAL_AXIS)
    eval_radius = radius + margin / 2.0
    y_eval = (_distance_to_d1_disks(X_eval) > eval_radius).astype(np.int64)
    data = PointCloudDataset(
        name="D-I",
        X=_jitter(X, noise, rng),
        y=y,
        true_betti={0: (9, 0), 1: (1, 9)},
        measure={"metric": "knn-hop", "k": 14, "scale": 2.5, "stride": 3, "max_dim": 1},
        params={
            "radius": radius,
            "margin": margin,
            "spacing": spacing,
            "noise": noise,
            "seed": seed,
        },
        X_eval=X_eval,
        y_eval=y_eval,
        components=components,
        description="9 disks (class a) in the square around them (class b); "
        "Naitzat et al. D-I, with the 88 x 88 evaluation grid",
        extra_meta={
            "eval_grid": {"start": -1.1, "stop": 1.1, "step": 0.025},
            "eval_label_radius": eval_radius,
        },
    )
    _require_measurable(data, caller, unit="disk", advice="Use a smaller spacing.")
    return data


#: D-II before scaling: pair centres, core radius, pair offset, radial half-width, thickness.
_D2_CORNER = 0.58
_D2_CORE = 0.26
_D2_OFFSET = 0.21
_D2_HALF_WIDTH = 0.08
_D2_HALF_THICKNESS = 0.06


def _nine_centres(corner: float) -> np.ndarray:
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    return np.vstack([np.zeros((1, 3)), corner * signs])


@register_dataset("D-II", dim=3, summary="9 pairs of linked solid tori, one of each per class, 3-D")
def d2(*, points_per_torus: int = 2500, noise: float = 0.0, seed: int = 0) -> PointCloudDataset:
    """D-II: nine pairs of linked solid tori; class a and class b each hold one torus per pair.

    Geometry, before the final max-abs scaling (one factor, 1/1.025): pair centres at the origin
    and the 8 corners (+-0.58)^3. In each pair the class-a torus winds around the z axis and is
    centred 0.105 to -x of the pair centre, the class-b torus winds around the y axis 0.105 to
    +x (offset 0.21, the published value), so each passes through the other's hole. Both have
    core radius 0.26, radial extent [0.18, 0.34] and out-of-plane thickness +-0.06, with points
    uniform in the solid. After scaling: centres (+-0.566)^3, offset 0.205, core 0.254.

    The published tori are fatter (radial extent [0.13, 0.40], thickness +-0.086); at offset
    0.21 such tori would intersect their partners, so the classes could not be separated
    exactly. These are as large as possible while keeping the classes at least 0.04 apart.

    True Betti numbers: class a (9, 9, 0), class b (9, 9, 0).
    Measurement: knn-hop, k=35, scale 2.5, stride 4, max_dim 2 (the study's): 625 points per
    torus after the stride. Verified at seeds 0-4 and ``noise`` up to 0.01.

    Parameters
    ----------
    points_per_torus : int, default=2500
        45,000 points in all at the default. Keep it >= 1000 for the measurement
        above (at 600, stride 4 leaves too few points: class a reads (9, 8, 1)). Below k = 35
        it is refused (see the module docstring).
    noise : float, default=0.0
    seed : int, default=0
    """
    caller = "D-II"
    _check(
        caller,
        points_per_torus=(points_per_torus, _POSITIVE_INT),
        noise=(noise, _NON_NEGATIVE),
        seed=(seed, Interval(int, 0, None, closed="left")),
    )
    _check_size(caller, 18 * points_per_torus, "Use fewer points_per_torus.")
    rng = np.random.default_rng(seed)
    points, labels, components = _linked_torus_pairs(
        _nine_centres(_D2_CORNER),
        points_per_torus,
        rng,
        offset=_D2_OFFSET,
        radius=_D2_CORE,
        radial_half_width=_D2_HALF_WIDTH,
        half_thickness=_D2_HALF_THICKNESS,
    )
    X, factor = _max_abs_scale(_jitter(points, noise, rng))
    data = PointCloudDataset(
        name="D-II",
        X=X,
        y=labels,
        true_betti={0: (9, 9, 0), 1: (9, 9, 0)},
        measure={"metric": "knn-hop", "k": 35, "scale": 2.5, "stride": 4, "max_dim": 2},
        params={"points_per_torus": points_per_torus, "noise": noise, "seed": seed},
        components=components,
        description="9 pairs of linked solid tori, one torus of each pair per class; "
        "Naitzat et al. D-II",
        extra_meta={"scale_factor": factor},
    )
    _require_measurable(
        data, caller, unit="torus", advice=f"Use points_per_torus >= {data.measure['k']}."
    )
    return data


@register_dataset("D-III", dim=3, summary="9 units of nested spherical shells (+ inner balls), 3-D")
def d3(
    *,
    points_per_shell: int = 1000,
    points_inner: int = 200,
    noise: float = 0.0,
    seed: int = 0,
) -> PointCloudDataset:
    """D-III: nine units of nested spheres; class a is the middle shell, class b the outer
    shell plus a small ball at the centre.

    Geometry (the Naitzat generator): unit centres at the origin and the 8 corners (+-3)^3; per
    unit, class a = Fibonacci-lattice spheres of radius 1 and 1.05 (``points_per_shell`` each),
    class b = spheres of radius 2 and 2.05 (``points_per_shell`` each) plus a sphere of radius
    0.5 with only ``points_inner`` points, which reads as a solid ball at k=35. Every sphere is
    turned about the z axis by a random angle (``seed``). The whole set is then divided by its
    largest coordinate, 5.05: centres (+-0.594)^3, radii 0.198, 0.208 / 0.396, 0.406 / 0.099.
    Points come unit by unit, sphere by sphere, each sphere in lattice order, so the stride
    keeps exactly a quarter of every sphere (shuffling would make the 50 points left of an
    inner sphere vary, and a ball with fewer than 35 points joins its outer shell at k=35).

    True Betti numbers: class a (9, 0, 9), class b (18, 0, 9).
    Measurement: knn-hop, k=35, scale 2.5, stride 4, max_dim 2 (the study's). Verified at
    seeds 0-4 and ``noise`` up to 0.005 (in the units before scaling, where radii are 1-2).

    Parameters
    ----------
    points_per_shell : int, default=1000
        Points on each of the four outer spheres of a unit (37,800 points in all at the
        defaults). Keep it >= 1000 for the measurement above: sparser outer shells have
        longer k=35 edges, which reach the inner balls (at 800 class b reads (10, 0, 9)).
        Below 18 (a shell of two spheres with fewer than k = 35 points) it is refused.
    points_inner : int, default=200
        Points on the innermost sphere; keep it >= 4 * 36 = 144 so the stride leaves more than
        k = 35 of them. Below 35 it is refused.
    noise : float, default=0.0
    seed : int, default=0
    """
    caller = "D-III"
    _check(
        caller,
        points_per_shell=(points_per_shell, _POSITIVE_INT),
        points_inner=(points_inner, _POSITIVE_INT),
        noise=(noise, _NON_NEGATIVE),
        seed=(seed, Interval(int, 0, None, closed="left")),
    )
    _check_size(caller, 9 * (4 * points_per_shell + points_inner), "Use fewer points.")
    rng = np.random.default_rng(seed)
    # (radius, points, label, piece within the unit): piece 0 = class-a shell, 1 = class-b
    # shell, 2 = class-b inner ball
    spheres = (
        (1.0, points_per_shell, 0, 0),
        (1.05, points_per_shell, 0, 0),
        (2.0, points_per_shell, 1, 1),
        (2.05, points_per_shell, 1, 1),
        (0.5, points_inner, 1, 2),
    )
    blocks, labels, components = [], [], []
    for unit, centre in enumerate(_nine_centres(3.0)):
        for radius, count, label, piece in spheres:
            azimuth = rng.uniform(0.0, 2.0 * np.pi)
            blocks.append(fibonacci_shell(count, radius, azimuth) + centre)
            labels.append(np.full(count, label, dtype=np.int64))
            components.append(np.full(count, 3 * unit + piece, dtype=np.int64))
    X, factor = _max_abs_scale(_jitter(np.vstack(blocks), noise, rng))
    data = PointCloudDataset(
        name="D-III",
        X=X,
        y=np.concatenate(labels),
        true_betti={0: (9, 0, 9), 1: (18, 0, 9)},
        measure={"metric": "knn-hop", "k": 35, "scale": 2.5, "stride": 4, "max_dim": 2},
        params={
            "points_per_shell": points_per_shell,
            "points_inner": points_inner,
            "noise": noise,
            "seed": seed,
        },
        components=np.concatenate(components),
        description="9 units: a thin shell (class a) between an outer shell and an inner ball "
        "(class b); Naitzat et al. D-III",
        extra_meta={"scale_factor": factor},
    )
    _require_measurable(
        data,
        caller,
        unit="shell or inner ball",
        advice=f"Use points_per_shell >= {math.ceil(data.measure['k'] / 2)} (a shell is two "
        f"spheres) and points_inner >= {data.measure['k']}.",
    )
    return data


# --------------------------------------------------------------------------------------------
# families with large Betti numbers
# --------------------------------------------------------------------------------------------


@register_dataset(
    "disks-grid", dim=2, summary="n x n disks vs. the square minus them (n^2 holes), 2-D"
)
def disks_grid(
    n: int = 13,
    *,
    radius: float = 0.04,
    margin: float = 0.015,
    points_per_disk: int = 50,
    noise: float = 0.0,
    seed: int = 0,
) -> PointCloudDataset:
    """disks-grid: ``n x n`` disks (class a) in the square [-1, 1]^2 minus them (class b).

    The square is cut into ``n x n`` cells of width ``2 / n``; a disk of ``radius`` sits at each
    cell centre. Points lie on a square grid of spacing ``h = radius * sqrt(pi /
    points_per_disk)`` whose origin is shifted by a random fraction of ``h`` (``seed``): points
    within ``radius`` of a centre are class a, points farther than ``radius + margin`` are class b
    (a perforated square), the band between is left out.

    True Betti numbers: class a (n^2, 0), class b (1, n^2) -- (169, 0) and (1, 169) at n = 13.
    Measurement: knn-hop, k=10, scale 2.5, stride 1, max_dim 1. Verified for n = 1, 2, 3,
    7, 13, 14, 15, ``points_per_disk`` 12 to 200 and ``noise`` up to 0.3 h (0.003 at the
    defaults); at 12 some seeds leave a disk with fewer than k = 10 points, which is refused.

    Parameters
    ----------
    n : int, default=13
        Disks per side. With the default radius and margin at most 15 fit.
    radius : float, default=0.04
        Disk radius (data units).
    margin : float, default=0.015
        Width of the unlabelled band around each disk.
    points_per_disk : int, default=50
        About this many points per disk; sets the grid spacing h (0.01 at the defaults,
        32,320 points in all at seed 0: 8,468 in class a, 23,852 in class b).
    noise : float, default=0.0
    seed : int, default=0

    Raises
    ------
    ValueError
        If ``n < 1``, the disks with their margins do not fit in their cells with a corridor
        of at least two grid spacings between them (then class b would not be connected), or a
        disk gets fewer than k = 10 points.
    """
    caller = "disks-grid"
    _check(
        caller,
        n=(n, _POSITIVE_INT),
        radius=(radius, _POSITIVE),
        margin=(margin, _NON_NEGATIVE),
        points_per_disk=(points_per_disk, Interval(int, 12, None, closed="left")),
        noise=(noise, _NON_NEGATIVE),
        seed=(seed, Interval(int, 0, None, closed="left")),
    )
    spacing = radius * math.sqrt(math.pi / points_per_disk)
    cell = 2.0 / n
    corridor = cell - 2.0 * (radius + margin)
    if corridor < 2.0 * spacing:
        largest = int(2.0 // (2.0 * (radius + margin) + 2.0 * spacing))
        raise ValueError(
            f"{caller}: {n} x {n} disks of radius {radius:g} with margin {margin:g} overlap: "
            f"each cell is 2/n = {cell:.4g} wide, but a disk and its margin need "
            f"{2 * (radius + margin):.4g} plus a corridor of two grid spacings "
            f"({2 * spacing:.4g}) for class b. Use n <= {largest}, or a smaller radius or margin."
        )
    _check_size(caller, (2.0 / spacing) ** 2, "Use fewer points_per_disk.")
    rng = np.random.default_rng(seed)
    offset = rng.uniform(0.0, spacing, size=2)
    xs = np.arange(-1.0 + offset[0], 1.0, spacing)
    ys = np.arange(-1.0 + offset[1], 1.0, spacing)
    xx, yy = np.meshgrid(xs, ys)
    grid = np.c_[xx.ravel(), yy.ravel()]
    cell_index = np.clip(np.floor((grid + 1.0) / cell), 0, n - 1).astype(np.int64)
    nearest_centre = -1.0 + (cell_index + 0.5) * cell
    distance = np.linalg.norm(grid - nearest_centre, axis=1)
    in_disk = distance <= radius
    keep = in_disk | (distance > radius + margin)
    X = grid[keep]
    y = (~in_disk[keep]).astype(np.int64)
    disk_id = cell_index[keep, 1] * n + cell_index[keep, 0]
    components = np.where(y == 0, disk_id, n * n)
    data = PointCloudDataset(
        name="disks-grid",
        X=_jitter(X, noise, rng),
        y=y,
        true_betti={0: (n * n, 0), 1: (1, n * n)},
        measure={"metric": "knn-hop", "k": 10, "scale": 2.5, "stride": 1, "max_dim": 1},
        params={
            "n": n,
            "radius": radius,
            "margin": margin,
            "points_per_disk": points_per_disk,
            "noise": noise,
            "seed": seed,
        },
        components=components,
        description=f"{n} x {n} disks (class a) in the square minus them (class b)",
        extra_meta={"grid_spacing": spacing},
    )
    _require_measurable(data, caller, unit="disk", advice="Use more points_per_disk.")
    return data


def _pair_half_extent(ring_radius: float, tube_radius: float) -> float:
    """Half the x-extent of a linked pair: the tori sit ring_radius/2 either side of the centre."""
    return 1.5 * ring_radius + tube_radius


@register_dataset(
    "linked-rings", dim=3, summary="m pairs of linked solid tori on a lattice, one per class, 3-D"
)
def linked_rings(
    m: int = 180,
    *,
    ring_radius: float = 0.08,
    tube_radius: float = 0.02,
    points_per_ring: int = 100,
    noise: float = 0.0,
    seed: int = 0,
) -> PointCloudDataset:
    """linked-rings: ``m`` pairs of linked solid tori, one torus of each pair per class.

    Pairs sit at the centres of a near-cubic lattice (:func:`lattice_shape`: 6 x 6 x 5 for
    m = 180) spanning [-1, 1] along its longest side. In each pair the class-a torus winds around
    the z axis, ``ring_radius / 2`` to -x of the centre, the class-b torus winds around the y axis
    ``ring_radius / 2`` to +x, so each core circle passes through the other's centre (every point
    of one core is then exactly ``ring_radius`` from the other core). Tori have a round
    cross-section of ``tube_radius``; points are uniform in the solid, with the angles along the
    core stratified so no gap opens.

    True Betti numbers: class a (m, m, 0), class b (m, m, 0) -- (180, 180, 0) at the default.
    Measurement: knn-hop, k=12, scale 2.5, stride 1, max_dim 2. Verified for
    ``points_per_ring`` 60 to 150 and ``noise`` up to 0.002.

    Parameters
    ----------
    m : int, default=180
        Number of linked pairs (36,000 points at the defaults).
    ring_radius : float, default=0.08
        Core radius of every torus.
    tube_radius : float, default=0.02
        Radius of the cross-section; below ``ring_radius / 2`` so linked tori do not touch.
    points_per_ring : int, default=100
    noise : float, default=0.0
    seed : int, default=0

    Raises
    ------
    ValueError
        If ``m < 1``, linked tori would touch, or the pairs do not fit in their lattice cells.
    """
    caller = "linked-rings"
    _check(
        caller,
        m=(m, _POSITIVE_INT),
        ring_radius=(ring_radius, _POSITIVE),
        tube_radius=(tube_radius, _POSITIVE),
        points_per_ring=(points_per_ring, Interval(int, 20, None, closed="left")),
        noise=(noise, _NON_NEGATIVE),
        seed=(seed, Interval(int, 0, None, closed="left")),
    )
    if 2.0 * tube_radius >= ring_radius:
        raise ValueError(
            f"{caller}: the linked tori of a pair touch: their cores are ring_radius = "
            f"{ring_radius:g} apart, so 2 * tube_radius ({2 * tube_radius:g}) must be smaller. "
            f"Use tube_radius < {ring_radius / 2:g}."
        )
    _require_lattice_fit(
        caller,
        m,
        _pair_half_extent(ring_radius, tube_radius),
        units="pairs",
        unit=f"a pair with ring_radius {ring_radius:g} and tube_radius {tube_radius:g}",
        advice="smaller rings",
    )
    _check_size(caller, 2 * m * points_per_ring, "Use fewer pairs or points_per_ring.")
    rng = np.random.default_rng(seed)
    centres, _, shape = _lattice_centres(m)
    points, labels, components = _linked_torus_pairs(
        centres,
        points_per_ring,
        rng,
        offset=ring_radius,
        radius=ring_radius,
        radial_half_width=tube_radius,
        half_thickness=tube_radius,
        stratified=True,
        round_section=True,
    )
    data = PointCloudDataset(
        name="linked-rings",
        X=_jitter(points, noise, rng),
        y=labels,
        true_betti={0: (m, m, 0), 1: (m, m, 0)},
        measure={"metric": "knn-hop", "k": 12, "scale": 2.5, "stride": 1, "max_dim": 2},
        params={
            "m": m,
            "ring_radius": ring_radius,
            "tube_radius": tube_radius,
            "points_per_ring": points_per_ring,
            "noise": noise,
            "seed": seed,
        },
        components=components,
        description=f"{m} pairs of linked solid tori on a {'x'.join(map(str, shape))} lattice, "
        "one torus of each pair per class",
        extra_meta={"lattice": list(shape)},
    )
    _require_measurable(
        data, caller, unit="torus", advice=f"Use points_per_ring >= {data.measure['k']}."
    )
    return data


@register_dataset(
    "nested-shells", dim=3, summary="m units of a small sphere inside a larger sphere, 3-D"
)
def nested_shells(
    m: int = 180,
    *,
    inner_radius: float = 0.06,
    outer_radius: float = 0.12,
    points_per_shell: int = 150,
    noise: float = 0.0,
    seed: int = 0,
) -> PointCloudDataset:
    """nested-shells: ``m`` units of a thin sphere (class a) inside a larger sphere (class b).

    Units sit at the centres of a near-cubic lattice (:func:`lattice_shape`) spanning [-1, 1]
    along its longest side. Each sphere is a Fibonacci lattice of ``points_per_shell`` points
    turned about the z axis by a random angle (``seed``).

    True Betti numbers: class a (m, 0, m), class b (m, 0, m) -- (180, 0, 180) at the default:
    every sphere is one component enclosing one void.
    Measurement: knn-hop, k=8, scale 2.5, stride 1, max_dim 2. Verified for
    ``points_per_shell`` 60 to 250 and ``noise`` up to 0.002.

    Parameters
    ----------
    m : int, default=180
        Number of units (54,000 points at the defaults).
    inner_radius : float, default=0.06
    outer_radius : float, default=0.12
    points_per_shell : int, default=150
    noise : float, default=0.0
    seed : int, default=0

    Raises
    ------
    ValueError
        If ``m < 1``, the inner sphere is not strictly inside the outer one, or the outer
        spheres do not fit in their lattice cells.
    """
    caller = "nested-shells"
    _check(
        caller,
        m=(m, _POSITIVE_INT),
        inner_radius=(inner_radius, _POSITIVE),
        outer_radius=(outer_radius, _POSITIVE),
        points_per_shell=(points_per_shell, Interval(int, 20, None, closed="left")),
        noise=(noise, _NON_NEGATIVE),
        seed=(seed, Interval(int, 0, None, closed="left")),
    )
    if inner_radius >= outer_radius:
        raise ValueError(
            f"{caller}: inner_radius ({inner_radius:g}) must be smaller than outer_radius "
            f"({outer_radius:g}) so the spheres nest without touching."
        )
    _require_lattice_fit(
        caller,
        m,
        outer_radius,
        units="units",
        unit=f"an outer sphere of radius {outer_radius:g}",
        advice="a smaller outer_radius",
    )
    _check_size(caller, 2 * m * points_per_shell, "Use fewer units or points_per_shell.")
    rng = np.random.default_rng(seed)
    centres, _, shape = _lattice_centres(m)
    blocks, labels, components = [], [], []
    for unit, centre in enumerate(centres):
        for label, radius in ((0, inner_radius), (1, outer_radius)):
            azimuth = rng.uniform(0.0, 2.0 * np.pi)
            blocks.append(fibonacci_shell(points_per_shell, radius, azimuth) + centre)
            labels.append(np.full(points_per_shell, label, dtype=np.int64))
            components.append(np.full(points_per_shell, 2 * unit + label, dtype=np.int64))
    data = PointCloudDataset(
        name="nested-shells",
        X=_jitter(np.vstack(blocks), noise, rng),
        y=np.concatenate(labels),
        true_betti={0: (m, 0, m), 1: (m, 0, m)},
        measure={"metric": "knn-hop", "k": 8, "scale": 2.5, "stride": 1, "max_dim": 2},
        params={
            "m": m,
            "inner_radius": inner_radius,
            "outer_radius": outer_radius,
            "points_per_shell": points_per_shell,
            "noise": noise,
            "seed": seed,
        },
        components=np.concatenate(components),
        description=f"{m} units of a sphere (class a) inside a larger sphere (class b) on a "
        f"{'x'.join(map(str, shape))} lattice",
        extra_meta={"lattice": list(shape)},
    )
    _require_measurable(
        data, caller, unit="sphere", advice=f"Use points_per_shell >= {data.measure['k']}."
    )
    return data

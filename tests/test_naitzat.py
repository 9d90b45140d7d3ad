"""The published Naitzat table beside measured per-layer Betti numbers."""

from __future__ import annotations

from bettiscope.naitzat import (
    PUBLISHED,
    ordering_verdict,
    published_comparison,
    render_published_md,
)


def _means(b0: list[float], b1: list[float] | None = None, n: int = 5) -> dict:
    """A mean_betti_by_layer-shaped dict with class a's values and a dummy class b."""
    b1 = b1 or [0.0] * len(b0)
    cells = [[x, y] for x, y in zip(b0, b1, strict=True)]
    return {
        "layers": [f"l{i}" for i in range(len(b0))],
        "classes": ["0", "1"],
        "mean": {"0": cells, "1": [[1.0, 0.0]] * len(b0)},
        "std": {"0": [[0.0, 0.0]] * len(b0), "1": [[0.0, 0.0]] * len(b0)},
        "n": {"0": [n] * len(b0), "1": [n] * len(b0)},
    }


def test_published_tables_have_the_study_shape() -> None:
    for dataset, dims in PUBLISHED.items():
        for dim, rows in dims.items():
            assert set(rows) == {"relu", "leaky_relu", "tanh"}, dataset
            for values in rows.values():
                assert len(values) == 11 and values[0] == 9, (dataset, dim)


def test_ordering_reproduced_and_not() -> None:
    fast = [9, 5, 3, 2, 1, 1, 1, 1, 1, 1, 1]
    slow = [9, 9, 8, 7, 6, 5, 4, 3, 2, 2, 1]
    good = {"relu": _means(fast), "tanh": _means(slow)}
    table = published_comparison("D-I", good, good)
    assert table is not None and table["ordering"][0]["reproduced"]
    assert table["ordering"][0]["measured"] == ["relu", "tanh"]
    relu = next(r for r in table["rows"] if r["activation"] == "relu")
    assert relu["measured_hidden_sum"] == sum(fast[1:-1]) and relu["networks"] == "well-trained"
    assert relu["published"] == list(PUBLISHED["D-I"][0]["relu"])
    swapped = {"relu": _means(slow), "tanh": _means(fast)}
    table = published_comparison("D-I", swapped, swapped)
    assert table is not None and not table["ordering"][0]["reproduced"]
    text = "\n".join(render_published_md(table))
    assert "NOT reproduced" in text and "published" in text


def test_falls_back_to_all_networks_and_covers_beta_1_on_d_ii() -> None:
    values = [9, 8, 6, 4, 2, 1, 1, 1, 1, 1, 1]
    converged = {"relu": _means(values), "leaky_relu": None, "tanh": None}
    everything = {
        "relu": _means(values),
        "leaky_relu": _means(values, b1=[9.0] * 11, n=3),
        "tanh": None,
    }
    table = published_comparison("D-II", converged, everything)
    assert table is not None and table["dims"] == [0, 1]
    leaky = [r for r in table["rows"] if r["activation"] == "leaky_relu"]
    assert {r["dim"] for r in leaky} == {0, 1}
    assert all(r["networks"] == "all" and r["n"] == 3 for r in leaky)
    assert table["ordering"][1]["measured"] == ["relu", "leaky_relu"]
    # relu's sums come from well-trained nets, leaky ReLU's from all: the verdict says so
    assert table["ordering"][0]["all_networks"] == ["leaky_relu"]
    text = " ".join(render_published_md(table))
    assert "leaky_relu had no well-trained network" in text
    assert ordering_verdict({"reproduced": True, "all_networks": []}) == "reproduced"


def test_nothing_to_compare() -> None:
    one = {"relu": _means([9] * 11)}
    assert published_comparison("D-I", one, one) is None  # one activation only
    two = {"relu": _means([9] * 11), "tanh": _means([9] * 11)}
    assert published_comparison("disks-grid", two, two) is None  # no published values
    short = {"relu": _means([9] * 5), "tanh": _means([9] * 5)}
    assert published_comparison("D-I", short, short) is None  # not the study's depth

"""The Naitzat-Zhitnikov-Lim study's published per-layer Betti numbers, and a side-by-side table.

Naitzat, Zhitnikov and Lim ("Topology of deep neural networks", JMLR 2020) trained MLPs of width
15 with 9 hidden layers on D-I, D-II and D-III with ReLU, leaky ReLU (slope 0.2) and tanh, and
plotted the mean Betti numbers of class a at every layer over the well-trained networks (100%
training accuracy). The values below were read off those figures (about +-0.1; see
``shared/reference/naitzat-method.md`` of the development checkout): they are the study's, not
bettiscope's. Their claim: Betti numbers fall to about (1, 0, 0) by the output, faster for ReLU
than for leaky ReLU and faster for leaky ReLU than for tanh.

:func:`published_comparison` puts a comparison's measured means (from
:func:`bettiscope.experiments.mean_betti_by_layer`) beside them; ``bettiscope compare`` adds the
table to ``summary.md`` when the data set is D-I, D-II or D-III and at least two of the three
activations were run.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ACTIVATIONS",
    "PUBLISHED",
    "ordering_verdict",
    "published_comparison",
    "render_published_md",
]

#: The study's activations, in its published order of Betti decay (fastest first).
ACTIVATIONS = ("relu", "leaky_relu", "tanh")

#: ``PUBLISHED[dataset][betti_dim][activation]``: class a's mean Betti number per layer
#: (input, hidden 1-9, output), read off the published figures (+-0.1).
PUBLISHED: dict[str, dict[int, dict[str, tuple[float, ...]]]] = {
    "D-I": {
        0: {
            "tanh": (9, 8.8, 7.6, 7.1, 6.0, 4.9, 3.8, 2.9, 2.2, 1.35, 1.05),
            "leaky_relu": (9, 8.8, 7.7, 6.3, 4.2, 3.2, 2.1, 1.85, 1.5, 1.25, 1.05),
            "relu": (9, 8.35, 6.4, 3.5, 2.2, 1.6, 1.25, 1.1, 1.1, 1.1, 1.0),
        }
    },
    "D-II": {
        0: {
            "tanh": (9, 8.8, 7.5, 5.2, 3.7, 2.5, 2.05, 1.45, 1.05, 1, 1),
            "leaky_relu": (9, 8.2, 6.9, 4.6, 2.6, 1.45, 1.1, 1.05, 1, 1, 1),
            "relu": (9, 8.35, 5.8, 2.95, 1.45, 1.05, 1.05, 1, 1, 1, 1),
        },
        1: {
            "tanh": (9, 9, 9.05, 8.85, 8.45, 7.9, 6.75, 6.3, 3.65, 3.1, 2.45),
            "leaky_relu": (9, 9, 8.75, 7.45, 7.05, 6.0, 4.9, 3.1, 1.2, 0.55, 0.8),
            "relu": (9, 9, 8.15, 7.0, 5.7, 3.3, 2.2, 2.0, 1.35, 1.7, 0.8),
        },
    },
    "D-III": {
        0: {
            "tanh": (9, 9, 8.65, 8.15, 7.7, 6.65, 5.4, 3.85, 2.75, 2.5, 1.15),
            "leaky_relu": (9, 9, 8.9, 8.5, 7.45, 5.6, 3.85, 2.45, 1.9, 1.4, 1.05),
            "relu": (9, 9, 8.15, 5.65, 4.1, 2.5, 1.6, 1.35, 1.2, 1.05, 1.0),
        }
    },
}

_CLASS_A = "0"


def _hidden_sum(values: list[float | None]) -> float | None:
    """Sum over the hidden layers (everything between the input and the output)."""
    hidden = values[1:-1]
    if not hidden or any(v is None for v in hidden):
        return None
    return float(sum(hidden))  # type: ignore[arg-type]


def published_comparison(
    dataset: str,
    betti_converged: dict[str, Any],
    betti_all: dict[str, Any],
) -> dict[str, Any] | None:
    """Measured class-a Betti numbers per layer beside the published ones.

    Parameters
    ----------
    dataset : str
        "D-I", "D-II" or "D-III"; anything else returns None.
    betti_converged, betti_all : dict
        ``{activation: mean_betti_by_layer(...) or None}`` over the well-trained networks
        (100% training accuracy, as in the study) and over all networks. Where an activation
        has no well-trained network, all its networks are used and the row says so.

    Returns
    -------
    dict or None
        ``{"dataset", "dims", "rows": [{"activation", "dim", "networks" ("well-trained" or
        "all"), "n", "measured", "published", "measured_hidden_sum", "published_hidden_sum"}],
        "ordering": {dim: {"measured": [...], "published": [...], "reproduced": bool,
        "all_networks": [activations whose row averages all networks]}}}``;
        None when the data set has no published values, the layer count differs from the
        study's 11 point clouds, or fewer than two of ReLU, leaky ReLU and tanh were run.
    """
    published = PUBLISHED.get(dataset)
    present = [a for a in ACTIVATIONS if betti_converged.get(a) or betti_all.get(a)]
    if published is None or len(present) < 2:
        return None
    rows: list[dict[str, Any]] = []
    sums: dict[int, dict[str, float]] = {}
    for dim, by_activation in published.items():
        for activation in present:
            source, which = betti_converged.get(activation), "well-trained"
            if not source:
                source, which = betti_all.get(activation), "all"
            if not source or _CLASS_A not in source["mean"]:
                continue
            layers = source["mean"][_CLASS_A]
            if len(layers) != len(by_activation[activation]):
                return None  # not the study's depth: nothing to put beside
            measured = [
                None if cell is None or len(cell) <= dim else float(cell[dim]) for cell in layers
            ]
            measured_sum = _hidden_sum(measured)
            rows.append(
                {
                    "activation": activation,
                    "dim": dim,
                    "networks": which,
                    "n": min(source["n"][_CLASS_A]),
                    "measured": measured,
                    "published": list(by_activation[activation]),
                    "measured_hidden_sum": measured_sum,
                    "published_hidden_sum": _hidden_sum(list(by_activation[activation])),
                }
            )
            if measured_sum is not None:
                sums.setdefault(dim, {})[activation] = measured_sum
    ordering = {}
    for dim, sum_by_activation in sums.items():
        order = sorted(sum_by_activation, key=sum_by_activation.__getitem__)
        expected = [a for a in ACTIVATIONS if a in sum_by_activation]
        published_sums = {a: _hidden_sum(list(published[dim][a])) for a in expected}
        ordering[dim] = {
            "measured": order,
            "published": sorted(expected, key=lambda a: published_sums[a] or 0.0),
            "reproduced": order == expected and len(order) >= 2,
            # rows that had to average all networks are not the study's measurement
            "all_networks": [
                r["activation"]
                for r in rows
                if r["dim"] == dim
                and r["networks"] == "all"
                and r["activation"] in sum_by_activation
            ],
        }
    if not rows:
        return None
    return {"dataset": dataset, "dims": sorted(published), "rows": rows, "ordering": ordering}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def ordering_verdict(info: dict[str, Any]) -> str:
    """Verdict on one entry of ``published_comparison()["ordering"]``.

    "reproduced" or "NOT reproduced", qualified when a row had no well-trained network (its
    mean is then of all networks, which is not what the study averaged).
    """
    verdict = "reproduced" if info["reproduced"] else "NOT reproduced"
    fallback = info.get("all_networks") or []
    if fallback:
        verdict += (
            f", but {', '.join(fallback)} had no well-trained network (mean of all networks, "
            "not the study's measurement)"
        )
    return verdict


def render_published_md(table: dict[str, Any]) -> list[str]:
    """Markdown lines for :func:`published_comparison`'s result."""
    lines = [
        f"## Beside the Naitzat study ({table['dataset']}, class a)",
        "",
        "Mean Betti numbers per layer (input, hidden 1-9, output) at the last trace; published "
        "values read off the study's figures (+-0.1). The study averaged only well-trained "
        "networks (100% training accuracy); 'all' marks an activation with none.",
        "",
        "| activation | beta | networks | | per layer | hidden-layer sum |",
        "|---|---|---|---|---|---|",
    ]
    for row in table["rows"]:
        lines.append(
            f"| {row['activation']} | {row['dim']} | {row['networks']} (n={row['n']}) | "
            f"measured | {', '.join(_fmt(v) for v in row['measured'])} | "
            f"{_fmt(row['measured_hidden_sum'])} |"
        )
        lines.append(
            f"| | | | published | {', '.join(_fmt(v) for v in row['published'])} | "
            f"{_fmt(row['published_hidden_sum'])} |"
        )
    lines.append("")
    for dim, info in sorted(table["ordering"].items()):
        lines.append(
            f"- beta_{dim}, hidden-layer sums from fastest to slowest decay: measured "
            f"{' < '.join(info['measured'])}; published {' < '.join(info['published'])}: "
            f"ordering {ordering_verdict(info)}."
        )
    lines.append("")
    return lines

"""Figures and the Markdown summary of a pruning comparison (``pruning.json`` -> files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bettiscope.storage import pyplot, save_figure

__all__ = ["plot_accuracy_vs_params", "plot_scores", "summary_markdown", "table_rows"]

#: One colour per method, stable across figures.
COLORS = {
    "betti": "#d62728",
    "random": "#7f7f7f",
    "l1": "#1f77b4",
    "hrank": "#2ca02c",
    "l1-matched": "#17becf",
    "hrank-matched": "#98df8a",
    "betti-lowest": "#ff7f0e",
    "original": "#000000",
}


def _save(fig: Any, path: Path) -> None:
    save_figure(fig, path)


def plot_scores(
    scores: Any, plan: dict[str, Any] | None, path: str | Path, cfg: Any = None
) -> Path:
    """Distribution of the Betti scores per layer (histogram), threshold line, removed filters.

    Parameters
    ----------
    scores : FilterScores
    plan : dict of str to indices, optional
        Filters removed by the rule (drawn in red).
    path : path-like
        PNG destination.
    cfg : PruneConfig, optional
        For the threshold line and the title.
    """
    plt = pyplot()
    layers = list(scores.scores)
    fig, axes = plt.subplots(
        len(layers), 1, figsize=(7.5, 1.6 + 1.35 * len(layers)), squeeze=False, sharex=True
    )
    all_values = np.concatenate([scores.scores[layer] for layer in layers])
    low, high = float(all_values.min()), float(all_values.max())
    threshold = getattr(cfg, "threshold", None)
    if threshold is not None:
        low, high = min(low, threshold), max(high, threshold)
    bins = np.linspace(low, high + 1e-9, 40)
    for ax, layer in zip(axes[:, 0], layers, strict=True):
        values = scores.scores[layer]
        removed = np.zeros(len(values), dtype=bool)
        if plan is not None and layer in plan:
            removed[np.asarray(plan[layer], dtype=int)] = True
        ax.hist(
            [values[~removed], values[removed]],
            bins=bins,
            stacked=True,
            color=["#1f77b4", "#d62728"],
            label=["kept", "removed"],
        )
        if threshold is not None:
            ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
        ax.set_ylabel("filters")
        ax.set_title(
            f"{layer}: {len(values)} filters, {int(removed.sum())} removed, "
            f"median {np.median(values):.0f}",
            fontsize=9,
            loc="left",
        )
    axes[0, 0].legend(fontsize=8, loc="upper right")
    params = scores.params
    unit = "RMS" if params.get("relative", True) and params.get("metric") == "euclidean" else ""
    axes[-1, 0].set_xlabel(
        f"Betti score ({params.get('number', 'b0')}, {params.get('metric')}, scale "
        f"{params.get('scale')} {unit}, N = {params.get('n_images')} images)"
        + (f"; dashed: threshold {threshold:g}" if threshold is not None else "")
    )
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)
    return Path(path)


def plot_accuracy_vs_params(payload: dict[str, Any], path: str | Path) -> Path:
    """Test accuracy against the fraction of parameters kept, per method, +/- fine-tuning."""
    plt = pyplot()
    original = payload["original"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter([1.0], [original["accuracy"]], marker="*", s=180, color="black", label="original")
    tuned_original = payload.get("original_finetuned")
    if tuned_original:
        ax.scatter(
            [1.0],
            [tuned_original["accuracy"]],
            marker="*",
            s=180,
            facecolors="none",
            edgecolors="black",
            label="original, fine-tuned",
        )
    names = list(dict.fromkeys(entry["name"] for entry in payload["methods"]))
    for entry in payload["methods"]:
        # methods with equal sizes would hide each other: offset each a little along x
        offset = 0.004 * (names.index(entry["name"]) - (len(names) - 1) / 2)
        kept = entry["params"] / original["params"] + offset
        color = COLORS.get(entry["name"], "#8c564b")
        label = entry["name"] + (" (fine-tuned)" if entry["finetuned"] else "")
        ax.scatter(
            [kept],
            [entry["accuracy"]],
            marker="o" if entry["finetuned"] else "x",
            s=60,
            color=color,
            label=label,
        )
    ax.set_xlabel("parameters kept (fraction of the original; methods offset by <= 0.015)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Pruning rule: {payload.get('rule', '')}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best", ncol=2)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)
    return Path(path)


def table_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per model (original first): the numbers of the summary table."""
    rows = []
    entries = [payload["original"]]
    if payload.get("original_finetuned"):
        entries.append(payload["original_finetuned"])
    entries += payload["methods"]
    base = payload["original"]
    for entry in entries:
        removed = entry.get("filters_removed") or {}
        rows.append(
            {
                "method": entry["name"],
                "finetuned": entry["finetuned"],
                "removed": sum(removed.values()),
                "accuracy": entry["accuracy"],
                "params": entry["params"],
                "params_kept": entry["params"] / base["params"],
                "macs": entry["macs"],
                "file_bytes": entry["file_bytes"],
                "batch1": entry["latency_ms"].get("batch1"),
                "batch64": entry["latency_ms"].get("batch64"),
                "scoring_seconds": entry.get("scoring_seconds", 0.0),
            }
        )
    return rows


def summary_markdown(payload: dict[str, Any]) -> str:
    """The comparison as a Markdown report: settings, per-layer counts, the table, caveats."""
    cfg = payload["config"]["prune"]
    betti = cfg["betti"]
    original = payload["original"]
    lines = [
        "# Filter pruning: Betti rule vs baselines",
        "",
        f"- checkpoint: `{payload['config'].get('checkpoint')}`",
        f"- data: {payload['config'].get('dataset', {}).get('name')} "
        f"(test accuracy measured on the test split)",
        f"- rule: **{payload['rule']}** (min {cfg['min_keep']} filter(s) kept per layer)",
        f"- Betti score: {betti['number']} of each filter's {betti['where']} maps, "
        f"{betti['metric']} metric, scale {betti['scale']}"
        + (
            " RMS pairwise distances"
            if betti["relative"] and betti["metric"] == "euclidean"
            else ""
        )
        + (f", k={betti['k']}" if betti.get("k") else "")
        + f", N = {payload['sample']['n_images']} training images (seed {cfg['seed']})",
        f"- fine-tuning: {cfg['finetune_epochs']} epoch(s), Adam lr {cfg['finetune_lr']}, "
        f"batch {cfg['finetune_batch_size']}, the same for every method",
        f"- latency: CPU, {payload.get('torch_threads')} torch thread(s), median of "
        f"{cfg['latency_repeats']} passes after 3 warm-ups",
        "",
        "## Filters removed per layer",
        "",
    ]
    layers = list(original["filters_removed"])
    header = "| method | " + " | ".join(f"`{layer}`" for layer in layers) + " | total |"
    lines += [header, "|---" * (len(layers) + 2) + "|"]
    widths = dict(zip(layers, original["channels"], strict=False))
    for entry in payload["methods"]:
        if entry["finetuned"]:
            continue
        removed = entry["filters_removed"]
        cells = [f"{removed.get(layer, 0)}/{widths.get(layer, '?')}" for layer in layers]
        lines.append(f"| {entry['name']} | " + " | ".join(cells) + f" | {sum(removed.values())} |")
    lines += [
        "",
        "## Results",
        "",
        "| method | fine-tuned | removed | accuracy | params (kept) | MACs | file bytes | "
        "latency b1 (ms) | latency b64 (ms) | scoring (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table_rows(payload):
        lines.append(
            f"| {row['method']} | {'yes' if row['finetuned'] else 'no'} | {row['removed']} | "
            f"{row['accuracy']:.4f} | {row['params']:,} ({row['params_kept']:.1%}) | "
            f"{row['macs']:,} | {row['file_bytes']:,} | {row['batch1']:.3f} | "
            f"{row['batch64']:.2f} | {row['scoring_seconds']:.3f} |"
        )
    total_removed = sum(payload["methods"][0]["filters_removed"].values())
    lines += ["", "## Notes", ""]
    if total_removed == 0:
        lines.append(
            "- The Betti rule removed no filter: every score is at or below the threshold "
            "for this sample size and scale (see figures/score_distributions.png). Use "
            "--ratio, a larger --samples or a smaller --scale to prune."
        )
    lines += [
        "- Matched-count controls remove, in every layer, as many filters as the Betti rule; "
        "l1/hrank spread the Betti rule's total uniformly over layers.",
        "- betti-lowest removes the lowest-Betti filters at the same counts (direction check).",
        "- Latency on a shared machine is noisy; compare methods within one run.",
        "- Figures: figures/accuracy_vs_params.png, figures/score_distributions.png; "
        "scores per filter: scores/*.csv; models: checkpoints/*.pt.",
        "",
    ]
    return "\n".join(lines)

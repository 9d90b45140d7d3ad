"""`bettiscope trace`: train an MLP on a data set and trace per-layer Betti numbers over epochs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from bettiscope.cli._common import (
    err_console,
    fail,
    make_progress,
    out_console,
    progress_callback,
    resume_on_interrupt,
    user_errors,
)


def parse_data_params(items: list[str] | None) -> dict[str, Any]:
    """``["n=3", "noise=0.01"]`` -> ``{"n": 3, "noise": 0.01}`` (values read as YAML scalars)."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--data-param expects KEY=VALUE; got {item!r}.")
        params[key.strip()] = yaml.safe_load(value)
    return params


def measure_overrides(
    k: int | None, scale: float | None, stride: int | None, max_dim: int | None
) -> dict[str, Any]:
    """Command-line Betti parameters that replace the data set's recommended ones."""
    given = {"k": k, "scale": scale, "stride": stride, "max_dim": max_dim}
    return {key: value for key, value in given.items() if value is not None}


def parse_epochs(text: str | None) -> list[int] | None:
    """``"0,50,200"`` -> ``[0, 50, 200]``; None stays None."""
    if text is None:
        return None
    epochs = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not part.isdigit():
            fail(f"--at expects epochs >= 0 separated by commas (e.g. 0,50,200); got {part!r}.")
        epochs.append(int(part))
    if not epochs:
        fail("--at expects at least one epoch (e.g. 0,50,200).")
    return epochs


def trace(
    dataset: Annotated[
        str, typer.Option(help="Data set name (D-I, D-II, ...) or a labelled .npz/.csv file.")
    ],
    out: Annotated[Path, typer.Option(help="Run folder: trace.json, heatmap.png, checkpoint.")],
    activation: Annotated[
        str, typer.Option(help="Activation name (see bettiscope.activations.ACTIVATIONS).")
    ] = "relu",
    width: Annotated[int, typer.Option(min=1, help="Hidden units per layer.")] = 15,
    depth: Annotated[
        int, typer.Option(min=1, help="Dense layers counting the output layer (Naitzat's L).")
    ] = 10,
    bias_init: Annotated[
        str, typer.Option(help="Biases: zeros (the study) or uniform (PyTorch's default).")
    ] = "zeros",
    epochs: Annotated[int, typer.Option(min=1, help="Epoch budget.")] = 1000,
    every: Annotated[int, typer.Option(min=1, help="Measure every N epochs.")] = 10,
    at: Annotated[
        str | None,
        typer.Option(
            help="Measure at these epochs instead (e.g. 0,50,200); --every then only sets "
            "the checkpoint spacing. Epoch 0 and the last epoch are always measured."
        ),
    ] = None,
    lr: Annotated[float, typer.Option(min=0.0, help="Adam learning rate.")] = 0.02,
    lr_decay_steps: Annotated[
        str,
        typer.Option(
            help="lr * 0.5**(step/N): N steps, 'none', or 'auto' = the study's 2500 epochs "
            "(2500 steps in full batch)."
        ),
    ] = "auto",
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Mini-batch size (default: full batch).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the weights and data order.")] = 0,
    data_seed: Annotated[int, typer.Option(help="Seed of the data set generator.")] = 0,
    data_param: Annotated[
        list[str] | None, typer.Option(help="Data set parameter KEY=VALUE (repeatable).")
    ] = None,
    target_train_acc: Annotated[
        float, typer.Option(help="Stop once training accuracy reaches this (1.0 = 100%).")
    ] = 1.0,
    keep_training: Annotated[
        bool, typer.Option("--keep-training", help="Train the whole budget, past the target.")
    ] = False,
    probe: Annotated[
        str, typer.Option(help="Points traced: auto (evaluation grid if any), train or eval.")
    ] = "auto",
    k: Annotated[int | None, typer.Option("--k", "-k", help="knn-hop neighbours.")] = None,
    scale: Annotated[float | None, typer.Option(help="Scale (hops for knn-hop).")] = None,
    stride: Annotated[int | None, typer.Option(help="Keep every N-th point per class.")] = None,
    max_dim: Annotated[int | None, typer.Option(help="Highest Betti number.")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto.")] = "cpu",
    probe_workers: Annotated[
        int,
        typer.Option(
            min=1, help="Processes measuring Betti numbers (1 = in the training process)."
        ),
    ] = 1,
    background: Annotated[
        bool,
        typer.Option(
            "--background",
            help="Measure in --probe-workers background processes while training goes on "
            "(same numbers; an interruption loses the checkpoints still being measured).",
        ),
    ] = False,
    max_overhead: Annotated[
        float | None,
        typer.Option(
            help="Probe budget, a multiple of the training time (e.g. 1.0): skip scheduled "
            "epochs whose measuring would take probing over it (epoch 0 and the last are "
            "always measured).",
        ),
    ] = None,
) -> None:
    """Train an MLP and record per-layer, per-class Betti numbers every N epochs."""
    from bettiscope.activations import get_activation
    from bettiscope.experiments import mlp_task
    from bettiscope.probe import plot_trace_heatmap, run_trace
    from bettiscope.training import TrainConfig

    if max_overhead is not None and not max_overhead > 0:
        fail(f"--max-overhead must be a multiple of the training time > 0; got {max_overhead:g}.")
    with user_errors():
        get_activation(activation)  # unknown names fail before any work
        task = mlp_task(
            dataset,
            data_seed=data_seed,
            width=width,
            depth=depth,
            bias_init=bias_init,
            val_fraction=0.0,
            probe=probe,
            lr_decay_steps=lr_decay_steps,
            batch_size=batch_size,
            dataset_params=parse_data_params(data_param),
            measure=measure_overrides(k, scale, stride, max_dim),
        )
        cfg = TrainConfig(
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            lr_decay_steps=task.train_defaults.lr_decay_steps,
            seed=seed,
            device=device,
            target_train_acc=target_train_acc,
            stop_at_target=not keep_training,
        ).validate()
        model = task.build_model(activation, seed)
        config = {
            "dataset": task.name,
            "activation": activation,
            "seed": seed,
            "task": task.info,
        }
        advice = f"the trace so far and a checkpoint are kept in {out}; run the same command again."
        with resume_on_interrupt(advice), make_progress() as progress:
            result = run_trace(
                model,
                task.train,
                cfg,
                out,
                probe_inputs=task.probe_inputs,
                probe_labels=task.probe_labels,
                measure=task.measure,
                every=every,
                config=config,
                progress=progress_callback(progress),
                workers=probe_workers,
                background=background,
                at=parse_epochs(at),
                max_overhead=max_overhead,
            )
        heatmap = plot_trace_heatmap(
            result["trace"],
            out / "heatmap.png",
            title=f"{task.name}, {activation}, width {width}, depth {depth}, seed {seed}",
        )
    _render(result, heatmap)


def _render(result: dict[str, Any], heatmap: Path) -> None:
    history = result["history"]
    last = result["trace"][-1]
    target = (result.get("config") or {}).get("train", {}).get("target_train_acc")
    reached = history["epochs_to_train_target"] or "not reached"
    # title and caption as lines of their own: a narrow table would wrap them word by word
    out_console.print(
        f"Betti numbers per layer at epoch {last['epoch']} (classes by predicted label)"
    )
    table = Table()
    table.add_column("layer")
    for c in last["classes"]:
        table.add_column(f"class {c}", justify="right")
    for i, layer in enumerate(last["layers"]):
        cells = []
        for c in last["classes"]:
            numbers = last["betti"][str(c)][i]
            cells.append("-" if numbers is None else str(tuple(numbers)))
        table.add_row(layer, *cells)
    out_console.print(table)
    if any(n is None for c in last["classes"] for n in last["betti"][str(c)]):
        out_console.print(
            "-: too few points predicted in that class to measure (reason in trace.json)."
        )
    out_console.print(
        (f"Epochs to {target:.0%} training accuracy: {reached}; " if target else "")
        + f"training {result.get('train_seconds', 0.0):.1f} s, probing "
        f"{result['probe_seconds']:.1f} s"
        + (
            f" in the training loop ({result['probe_cpu_seconds']:.1f} CPU s in all)"
            if result.get("probe", {}).get("background")
            else ""
        )
        + "."
    )
    out_console.print(f"Trace: {heatmap.parent / 'trace.json'}; heat map: {heatmap}")
    skipped = result.get("probe", {}).get("skipped_epochs") or []
    if skipped:
        budget = result["probe"]["max_overhead"]
        err_console.print(
            f"[yellow]note[/]: {len(skipped)} scheduled epochs skipped to keep probing under "
            f"{budget:g}x the training (first: {', '.join(map(str, skipped[:5]))}"
            f"{', ...' if len(skipped) > 5 else ''}); all are listed in trace.json "
            "(probe.skipped_epochs).",
            highlight=False,
        )
    from bettiscope.probe import probe_cost_hint

    hint = probe_cost_hint(result)
    if hint is not None:
        err_console.print(f"[yellow]note[/]: {hint}", highlight=False)

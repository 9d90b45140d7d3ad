"""`bettiscope train`: train a CNN on an image data set -> model.pt, metrics.json, a curve."""

from __future__ import annotations

import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.table import Table

from bettiscope.activations import ACTIVATIONS, get_activation
from bettiscope.cli._common import (
    err_console,
    fail,
    make_progress,
    out_console,
    progress_callback,
    resume_on_interrupt,
    user_errors,
)
from bettiscope.image_study import ImageTrainConfig, run_train

Kind = Enum("Kind", {"vgg": "vgg", "resnet": "resnet"}, type=str)
Device = Enum("Device", {"cpu": "cpu", "cuda": "cuda", "auto": "auto"}, type=str)


def parse_classes(text: str | None) -> list[int | str] | None:
    """``"3,5"`` -> [3, 5]; ``"0"`` -> [0]; names are kept as strings (``"cat,dog"``)."""
    if text is None or not text.strip():
        return None
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        fail(f"--classes {text!r}: empty entry; give e.g. --classes 0 or --classes 3,5.")
    return [int(item) if item.lstrip("-").isdigit() else item for item in items]


def parse_channels(text: str | None) -> list[int] | None:
    """``"16,32,32,64"`` -> [16, 32, 32, 64]."""
    if text is None or not text.strip():
        return None
    try:
        return [int(item) for item in text.split(",")]
    except ValueError:
        fail(f"--channels {text!r}: give comma-separated ints, e.g. --channels 16,32,32,64.")


def train_command(
    dataset: Annotated[
        str,
        typer.Option(
            help="digits (offline), fashion-mnist, cifar10, cat-vs-dog, or a folder of images."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output folder (model.pt, metrics.json, curve).")],
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder with the data set's files (default $BETTISCOPE_DATA_DIR)."),
    ] = None,
    model: Annotated[Kind, typer.Option(help="VGG-style CNN or small ResNet.")] = Kind.vgg,
    activation: Annotated[
        str,
        typer.Option(
            help="Activation after every conv: "
            + ", ".join(sorted(ACTIVATIONS))
            + "; with arguments, e.g. 'fold(slope=0.5)'; or an import path, e.g. "
            "'my_acts.Snake' (importable wherever the model is loaded again)."
        ),
    ] = "relu",
    epochs: Annotated[int, typer.Option(min=1, help="Epoch budget.")] = 5,
    classes: Annotated[
        str | None,
        typer.Option(help="Task: 0 = class 0 vs the rest; 3,5 = only classes 3 and 5."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=2, help="Use at most N images in total (quick runs).")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seeds data split, weights, order.")] = 0,
    device: Annotated[Device, typer.Option(help="cpu, cuda, or auto.")] = Device.cpu,
    lr: Annotated[float, typer.Option(min=1e-8, help="Adam learning rate.")] = 0.003,
    batch_size: Annotated[int, typer.Option(min=1, help="Images per step.")] = 64,
    channels: Annotated[
        str | None, typer.Option(help="Conv widths, e.g. 16,32,32,64 (default per model).")
    ] = None,
    image_size: Annotated[
        int | None, typer.Option(min=4, help="Resize images to N x N (default native; 64).")
    ] = None,
    val_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Share of training images for validation.")
    ] = 0.1,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="CPU threads for torch (default: torch's; 1 on a busy machine)."),
    ] = None,
) -> None:
    """Train a CNN on an image data set; re-running on the same --out resumes."""
    cfg_kwargs: dict[str, Any] = {
        "dataset": dataset,
        "data_dir": str(data_dir) if data_dir is not None else None,
        "classes": parse_classes(classes),
        "limit": limit,
        "image_size": image_size,
        "val_fraction": val_fraction,
        "model": model.value,
        "channels": parse_channels(channels),
        "activation": activation,
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "seed": seed,
        "device": device.value,
    }
    if threads is not None:
        torch.set_num_threads(threads)
    with user_errors():
        get_activation(activation)  # an unknown name fails before the data is read
        cfg = ImageTrainConfig(**cfg_kwargs)
        advice = f"the last checkpoint is kept in {out}; run the same command to resume."
        with (
            resume_on_interrupt(advice),
            make_progress() as bar,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            metrics = run_train(cfg, out, progress=progress_callback(bar))
    for warning in caught:
        if issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            continue
        err_console.print(f"[yellow]warning:[/] {warning.message}", highlight=False)
    history = metrics["history"]
    data = metrics["dataset"]
    table = Table(title=f"{cfg.model} / {cfg.activation} on {data['name']}", show_header=False)
    table.add_row("task", f"{data['num_classes']} classes: {', '.join(data['class_names'])}"[:100])
    sizes = data["sizes"]
    table.add_row(
        "images", f"train {sizes['train']:,} / val {sizes['val']:,} / test {sizes['test']:,}"
    )
    table.add_row("epochs", f"{history['epochs']} ({history['seconds_per_epoch']:.2f} s/epoch)")
    if metrics["val_accuracy"] is not None:
        table.add_row("val accuracy", f"{metrics['val_accuracy']:.4f}")
    table.add_row("test accuracy", f"{metrics['test_accuracy']:.4f}")
    table.add_row(
        "files", f"{out / 'model.pt'}, {out / 'metrics.json'}, {out / 'training_curve.png'}"
    )
    out_console.print(table)

"""Physical removal of filters: the model really gets smaller, not masked.

``torch.nn.utils.prune`` only masks weights (shapes, parameter count and latency do not change).
Here each conv layer's chosen output channels are cut out with Torch-Pruning's dependency
graph: ``DependencyGraph().build_dependency(model, example)``, then per layer
``get_pruning_group(conv, prune_conv_out_channels, indices)`` with the plan's explicit indices,
``check_pruning_group`` (refuses to empty a layer) and ``group.prune()``. The group carries the
coupled cuts: the conv's bias, the batch norm after it, the next conv's input channels (and, in
a ResNet with 1x1-conv shortcuts, the shortcut conv and its batch norm), and the linear head's
input features. The head's outputs (the classes) are never pruned. After every layer the
forward pass is run and its output shape compared with the original.

For a bettiscope CNN the config is updated (``model.config.channels`` = the new widths), so
``bettiscope.models.cnn.save_model`` writes a portable file that ``load_model`` rebuilds.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from bettiscope.pruning.scoring import conv_layers

__all__ = [
    "PruneStep",
    "count_macs",
    "count_params",
    "describe_plan",
    "prune_filters",
    "pruned_copy",
]

ModuleT = TypeVar("ModuleT", bound=nn.Module)


@dataclass
class PruneStep:
    """One layer's cut: which filters went, widths before and after, and the coupled group."""

    layer: str
    removed: list[int]
    before: int
    after: int
    group: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_plan(
    model: nn.Module, plan: Mapping[str, Any]
) -> list[tuple[str, nn.Conv2d, list[int]]]:
    """Resolve plan entries to (name, conv, indices); validate names and indices."""
    modules = dict(model.named_modules())
    prunable = {name for name, _ in conv_layers(model)}
    steps = []
    for name, indices in plan.items():
        if name not in modules:
            raise ValueError(f"prune_filters: the model has no module named {name!r}.")
        module = modules[name]
        if not isinstance(module, nn.Conv2d):
            raise ValueError(
                f"prune_filters: {name!r} is a {type(module).__name__}; only conv layers' "
                "filters are pruned (the classifier never is)."
            )
        if name not in prunable:
            raise ValueError(
                f"prune_filters: {name!r} is not one of the model's prunable conv layers "
                f"({sorted(prunable)}); its channels are coupled to another layer's."
            )
        given = np.asarray(indices).ravel()
        fractional = not np.issubdtype(given.dtype, np.number) or np.any(given != np.round(given))
        if given.size and not np.issubdtype(given.dtype, np.integer) and fractional:
            raise ValueError(
                f"prune_filters: layer {name!r}: filter indices must be integers; "
                f"got {given[:5].tolist()}."
            )
        idxs = [int(i) for i in given.astype(np.int64)]
        if not idxs:
            continue
        if len(set(idxs)) != len(idxs):
            raise ValueError(f"prune_filters: layer {name!r}: duplicate filter indices.")
        bad = [i for i in idxs if not 0 <= i < module.out_channels]
        if bad:
            raise ValueError(
                f"prune_filters: layer {name!r} has {module.out_channels} filters; "
                f"indices {bad[:5]} are out of range."
            )
        if len(idxs) >= module.out_channels:
            raise ValueError(
                f"prune_filters: cannot remove all {module.out_channels} filters of {name!r}; "
                "keep at least one (selection rules take min_keep)."
            )
        steps.append((name, module, sorted(idxs)))
    return steps


def _build_graph(model: nn.Module, example_inputs: torch.Tensor) -> Any:
    import torch_pruning as tp

    # Torch-Pruning traces the graph through autograd: gradients must be on here.
    with torch.enable_grad():
        return tp.DependencyGraph().build_dependency(
            model, example_inputs=example_inputs, verbose=False
        )


def prune_filters(
    model: nn.Module,
    plan: Mapping[str, Any],
    example_inputs: torch.Tensor,
) -> list[PruneStep]:
    """Remove the planned filters from ``model`` in place.

    Parameters
    ----------
    model : nn.Module
        Modified in place (use :func:`pruned_copy` to keep the original).
    plan : mapping of str to sequence of int
        Conv layer name -> indices of its filters to remove (as returned by the selection
        rules). Indices refer to the layer's current filters.
    example_inputs : Tensor
        A batch of valid inputs, for tracing and for the shape check after each step.

    Returns
    -------
    list of PruneStep
        One per layer actually cut, in plan order (the pruning history).

    Raises
    ------
    ValueError
        Unknown or non-conv layer, out-of-range or duplicate indices, or a cut that would
        empty a layer.
    RuntimeError
        The forward output shape changed after a step (a coupling Torch-Pruning missed).
    """
    import torch_pruning as tp

    steps = _check_plan(model, plan)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        expected = tuple(model(example_inputs).shape)
    graph = _build_graph(model, example_inputs)
    history: list[PruneStep] = []
    try:
        for name, conv, idxs in steps:
            before = conv.out_channels
            group = graph.get_pruning_group(conv, tp.prune_conv_out_channels, idxs=idxs)
            if not graph.check_pruning_group(group):
                raise ValueError(
                    f"prune_filters: Torch-Pruning refuses to cut {len(idxs)} filters of {name!r}: "
                    "a coupled layer would lose all its channels."
                )
            description = str(group)
            group.prune()
            with torch.no_grad():
                shape = tuple(model(example_inputs).shape)
            if shape != expected:
                raise RuntimeError(
                    f"prune_filters: after cutting {name!r} the output shape is {shape}, "
                    f"expected {expected}; the model's channel coupling was not followed."
                )
            if conv.out_channels != before - len(idxs):
                raise RuntimeError(
                    f"prune_filters: {name!r} has {conv.out_channels} filters after the cut; "
                    f"expected {before - len(idxs)}."
                )
            history.append(PruneStep(name, idxs, before, conv.out_channels, description))
    finally:
        model.train(was_training)
    _update_config(model)
    return history


def _update_config(model: nn.Module) -> None:
    """A bettiscope CNN carries its config: set its channel widths to the pruned ones."""
    cfg = getattr(model, "config", None)
    own_layers = getattr(model, "conv_layers", None)
    if cfg is None or not hasattr(cfg, "channels") or not callable(own_layers):
        return
    widths = [conv.out_channels for _, conv in own_layers()]
    model.config = dataclasses.replace(cfg, channels=widths)


def pruned_copy(
    model: ModuleT, plan: Mapping[str, Any], example_inputs: torch.Tensor
) -> tuple[ModuleT, list[PruneStep]]:
    """A pruned deep copy of ``model`` and its pruning history; ``model`` is untouched."""
    clone = copy.deepcopy(model)
    history = prune_filters(clone, plan, example_inputs)
    return clone, history


def describe_plan(
    model: nn.Module, plan: Mapping[str, Any], example_inputs: torch.Tensor
) -> list[str]:
    """Dry run: Torch-Pruning's description of every group the plan would cut (no change)."""
    import torch_pruning as tp

    clone = copy.deepcopy(model)
    steps = _check_plan(clone, plan)
    clone.eval()
    graph = _build_graph(clone, example_inputs)
    return [
        str(graph.get_pruning_group(conv, tp.prune_conv_out_channels, idxs=idxs))
        for _, conv, idxs in steps
    ]


def count_params(model: nn.Module) -> int:
    """All parameters (weights, biases, batch-norm affine), as an int."""
    return int(sum(p.numel() for p in model.parameters()))


def count_macs(model: nn.Module, example_inputs: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass of ``example_inputs``, per image.

    Counts conv layers (output elements x input channels per group x kernel area) and linear
    layers (in x out features), the operations that pruning removes; batch norm, activations,
    pooling and additions (a few per cent) are not counted. One counter for every model, so
    methods compare fairly.
    """
    total = 0

    def conv_hook(module: nn.Conv2d, _inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        per_output = (module.in_channels // module.groups) * int(np.prod(module.kernel_size))
        total += int(output.numel()) * per_output

    def linear_hook(module: nn.Linear, _inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        total += int(output.numel()) * module.in_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(example_inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total // max(len(example_inputs), 1)

"""Look inside a network: representations per layer, split by predicted class, and their topology.

Data flows one way::

    model, inputs --capture--> {layer: points (n, features)}
                  --predicted labels--> per class --topology engine--> Betti numbers per layer

* :func:`capture` records the input, every chosen layer's output and the logits with forward hooks
  (works for any ``nn.Module``; sample dimensions are flattened).
* :func:`layer_betti` measures per-layer, per-class Betti numbers at one checkpoint, splitting
  points by the network's *predicted* label (the Naitzat-Zhitnikov-Lim convention).
* :class:`TraceRecorder` does that at chosen epochs during training (pass it as ``on_epoch_end``
  to :func:`bettiscope.training.train`); :func:`run_trace` is the whole job behind
  ``bettiscope trace`` (train, probe, checkpoint, resume, write ``trace.json``).

Small or collapsed classes
--------------------------
knn-hop needs more than ``k`` points. Two cases differ:

* the class has too few points (after stride subsampling) for ``k``: no Betti numbers; the entry
  is ``None`` with a reason (e.g. a class the network barely predicts);
* the class has enough points but the layer maps them onto at most ``k`` *distinct* points (ReLU
  layers do this): every point is then among the others' ``k - 1`` nearest, the kNN graph is
  complete and its clique complex is a simplex, so the Betti numbers are ``(1, 0, ..., 0)``. This
  extends the method's definition to ``n <= k``; such entries are flagged ``collapsed``.

Speed
-----
The cells (layer x class) of a checkpoint are independent: ``workers=N`` measures them in ``N``
processes. :class:`TraceRecorder` also remembers each cell's last point cloud (a hash of its bytes)
and reuses the Betti numbers when a cell's cloud did not change between checkpoints (e.g. the input
layer of a class while the predictions stay the same); the engine is deterministic, so the reused
numbers are exactly those a new computation would give.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from numbers import Number, Real
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from bettiscope._validation import (
    Interval,
    check_labels,
    check_param,
    check_params,
    input_mismatch,
)
from bettiscope.storage import (
    atomic_write_json,
    check_out_folder,
    environment_info,
    pyplot,
    read_json,
    save_figure,
    to_jsonable,
)
from bettiscope.topology import (
    PARAMETER_CONSTRAINTS,
    ComplexTooLargeError,
    betti_numbers,
    subsample,
)

__all__ = [
    "DEFAULT_MEASURE",
    "LayerBetti",
    "TraceRecorder",
    "capture",
    "layer_betti",
    "plot_trace_heatmap",
    "predict",
    "probe_cost_hint",
    "representation_layers",
    "run_trace",
]

Progress = Callable[[str, int, int], None]

#: The Naitzat study's D-II/D-III setting; data sets carry their own in ``dataset.measure``.
DEFAULT_MEASURE: dict[str, Any] = {
    "metric": "knn-hop",
    "k": 35,
    "scale": 2.5,
    "stride": 4,
    "max_dim": 1,
}

_MEASURE_KEYS = {"metric", "k", "scale", "stride", "max_dim", "dedupe", "origin_point", "method"}
_MEASURE_KEYS |= {"memory_limit"}

#: Module classes treated as activations when a model does not name its representation layers.
_ACTIVATION_TYPES: tuple[type, ...] = tuple(
    getattr(nn.modules.activation, name)
    for name in nn.modules.activation.__all__
    if name != "MultiheadAttention"
)

#: Samples per forward pass must be a positive whole number.
_BATCH_SIZE = Interval(int, 1, None)


def _activation_types() -> tuple[type, ...]:
    """Module classes that count as activations: ``torch.nn``'s, every module class that
    :mod:`bettiscope.activations` exports (:class:`~bettiscope.activations.Elementwise`
    included), and the classes registered in its :data:`~bettiscope.activations.ACTIVATIONS`
    (directly or as a ``functools.partial`` of a class)."""
    from bettiscope import activations

    candidates: list[Any] = [getattr(activations, name) for name in activations.__all__]
    for factory in activations.ACTIVATIONS.values():
        candidates.append(factory.func if isinstance(factory, functools.partial) else factory)
    own = {c for c in candidates if isinstance(c, type) and issubclass(c, nn.Module)}
    return _ACTIVATION_TYPES + tuple(own - set(_ACTIVATION_TYPES))


# --------------------------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------------------------


def representation_layers(model: nn.Module) -> list[str]:
    """Names of the modules whose outputs are the model's representations, in forward order.

    Uses ``model.representation_layers()`` when the model defines it (bettiscope's MLP and CNN
    builders do); otherwise every leaf module that is an activation (a ``torch.nn`` activation,
    a module class from :mod:`bettiscope.activations`, :class:`~bettiscope.activations.Elementwise`
    wrappers of plain functions included, or a class added with
    :func:`~bettiscope.activations.register_activation`), then the last leaf module (taken as
    the logits).
    """
    if hasattr(model, "representation_layers") and callable(model.representation_layers):
        return list(model.representation_layers())
    known = _activation_types()
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]
    if not leaves:
        raise ValueError(
            f"representation_layers: {type(model).__name__} has no submodules; pass layer names."
        )
    names = [name for name, module in leaves if isinstance(module, known)]
    last = leaves[-1][0]
    if last not in names:
        names.append(last)
    return names


def _layer_names(layers: str | Sequence[str] | None, caller: str) -> list[str] | None:
    """``layers`` as a list of module names (one name alone is a list of one), or None."""
    if layers is None:
        return None
    if isinstance(layers, str):
        return [layers]
    try:
        names = list(layers)
    except TypeError:
        raise TypeError(
            f"{caller}: layers must be a module name or a list of module names (as in "
            f"model.named_modules()); got {type(layers).__name__}."
        ) from None
    for name in names:
        if not isinstance(name, str):
            raise TypeError(
                f"{caller}: layers must hold module names (str, as in model.named_modules()); "
                f"got {type(name).__name__} {name!r}. Pass e.g. ['fc1', 'act1']."
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{caller}: layers lists {repeated[0]!r} more than once; list it once.")
    return names


def _version(tensor: Tensor) -> int | None:
    """The tensor's version counter (bumped by every in-place change), or None where it has
    none (tensors made under ``torch.inference_mode``)."""
    try:
        return int(tensor._version)
    except RuntimeError:
        return None


def _shares_memory(copy: Tensor, original: Tensor) -> bool:
    """Whether ``copy`` is a view of ``original``'s memory rather than a copy of it."""
    return (
        copy.device == original.device
        and copy.untyped_storage().data_ptr() == original.untyped_storage().data_ptr()
    )


def _run_with_hooks(
    model: nn.Module,
    inputs: Tensor,
    layers: Sequence[str],
    batch_size: int,
    device: torch.device,
    caller: str = "capture",
) -> tuple[dict[str, Tensor], Tensor]:
    """One pass in eval mode: flattened outputs of ``layers`` (on the CPU) and the model output.

    A captured output that is a view of the network's own tensor (float32 on the CPU) is kept as
    that view unless a later in-place operation (e.g. ``ReLU(inplace=True)`` after a linear
    layer) changes it during the pass: the tensors' version counters tell, and such a batch is
    run again keeping copies, as are the batches after it. Copying every output would add about
    a third to a capture's CPU time (measured: all 19 layers of a width-15, depth-10 MLP on
    45 000 points); the check costs nothing measurable.
    """
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules or name == ""]
    if unknown:
        available = [n for n in modules if n]
        shown = ", ".join(available[:40]) + (" ..." if len(available) > 40 else "")
        raise ValueError(
            f"{caller}: no module named {unknown[0]!r} in {type(model).__name__}. "
            f"Available: {shown}."
        )
    captured: dict[str, list[Tensor]] = {name: [] for name in layers}
    batch_parts: dict[str, Tensor] = {}
    # views of the network's tensors kept this batch, with their version when captured
    watched: list[tuple[Tensor, int | None]] = []
    state = {"copy": False, "batch": 0}

    def hook_for(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if isinstance(output, (tuple, list)) and output:
                output = output[0]
            if not isinstance(output, Tensor):
                raise ValueError(
                    f"{caller}: module {name!r} returned {type(output).__name__}, not a tensor, "
                    "so it has no representation to capture; choose another layer."
                )
            if name in batch_parts:
                raise ValueError(
                    f"{caller}: module {name!r} ran more than once in one forward pass (a module "
                    "reused in several places); give each place its own module to probe it."
                )
            if output.ndim == 0 or len(output) != state["batch"]:
                raise ValueError(
                    f"{caller}: module {name!r} returned shape {tuple(output.shape)} for a batch "
                    f"of {state['batch']} inputs; its first dimension must be the samples. "
                    "Choose a layer whose output has one row per input."
                )
            flat = output.detach().reshape(len(output), -1).float().cpu()
            if _shares_memory(flat, output):
                version = None if state["copy"] else _version(flat)
                if version is None:
                    flat = flat.clone()
                else:
                    watched.append((flat, version))
            batch_parts[name] = flat

        return hook

    def overwritten() -> bool:
        return any(_version(flat) != version for flat, version in watched)

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in layers]
    was_training = model.training
    model.eval()
    outputs: list[Tensor] = []
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), batch_size):
                batch = inputs[start : start + batch_size].to(device)
                state["batch"] = len(batch)
                for _ in range(2):  # a second time only to keep copies (see above)
                    batch_parts.clear()
                    watched.clear()
                    try:
                        out = model(batch)
                    except RuntimeError as error:
                        if start > 0 or "memory" in str(error).lower():  # not a shape mismatch
                            raise
                        raise input_mismatch(
                            caller, "these inputs", tuple(inputs.shape[1:]), error
                        ) from None
                    if not overwritten():
                        break
                    state["copy"] = True
                if isinstance(out, (tuple, list)) and out:
                    out = out[0]
                if not isinstance(out, Tensor):
                    raise ValueError(
                        f"{caller}: the model returned {type(out).__name__}; it must return a "
                        "tensor of logits (or a tuple or list whose first item is one)."
                    )
                outputs.append(out.detach().float().cpu())
                for name, part in batch_parts.items():
                    captured[name].append(part)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    reps = {name: torch.cat(parts) for name, parts in captured.items() if parts}
    missing = [name for name in layers if name not in reps]
    if missing:
        raise ValueError(
            f"{caller}: module {missing[0]!r} exists but never ran in the forward pass, so it has "
            "no output to capture."
        )
    return reps, torch.cat(outputs)


def _check_logits(logits: Tensor, n_samples: int, caller: str) -> Tensor:
    """``logits`` if it is (n_samples, n_classes) with n_classes >= 2, else a clear ValueError."""
    if logits.ndim != 2 or len(logits) != n_samples or logits.shape[1] < 2:
        raise ValueError(
            f"{caller}: the model's output has shape {tuple(logits.shape)} for {n_samples} "
            "inputs; a class per input needs one logit per class, shape (n_samples, n_classes) "
            "with n_classes >= 2. For a single-logit binary classifier, threshold its output "
            "(model(X) > 0) instead."
        )
    return logits


def _model_device(model: nn.Module) -> torch.device:
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _model_inputs(model: nn.Module, inputs: Any, caller: str) -> Tensor:
    """``inputs`` as a tensor the model can take: checked for shape and NaN/inf, and cast to
    the dtype of the model's floating-point weights (NumPy's float64 would not multiply with
    float32 weights)."""
    if _model_device(model).type == "meta":
        raise ValueError(
            f"{caller}: the model's weights are on the 'meta' device (shapes without values); "
            "materialise them first, e.g. model.to_empty(device='cpu') then load_state_dict()."
        )
    try:
        X = torch.as_tensor(inputs.detach() if isinstance(inputs, Tensor) else np.asarray(inputs))
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{caller}: inputs must be an array or tensor ({error}).") from None
    if X.device.type == "meta":
        raise ValueError(
            f"{caller}: inputs are on the 'meta' device (a shape without values); pass real "
            "data, e.g. a CPU tensor."
        )
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(
            f"{caller}: inputs must have shape (n_samples, ...) with n_samples >= 1; got "
            f"{tuple(X.shape)}."
        )
    if X.is_complex():
        raise ValueError(f"{caller}: inputs must be real-valued; got complex dtype {X.dtype}.")
    dtype = next((w.dtype for w in model.parameters() if w.dtype.is_floating_point), torch.float32)
    if X.dtype != dtype:
        X = X.to(dtype)
    if not bool(torch.isfinite(X).all()):
        raise ValueError(f"{caller}: inputs contain NaN or infinity.")
    return X


def capture(
    model: nn.Module,
    inputs: Any,
    layers: str | Sequence[str] | None = None,
    *,
    include_input: bool = True,
    batch_size: int = 8192,
) -> dict[str, Tensor]:
    """The representation of ``inputs`` after each chosen layer, via forward hooks.

    Parameters
    ----------
    model : nn.Module
        Any module; run in eval mode without gradients (its mode is restored afterwards).
    inputs : Tensor or array of shape (n_samples, ...)
        Moved to the model's device batch by batch; cast to the dtype of the model's weights.
    layers : str or sequence of str, optional
        Module names (as in ``model.named_modules()``); one name may be given alone. Default:
        :func:`representation_layers` (each hidden activation's output, then the logits).
    include_input : bool, default=True
        Put the (flattened) inputs first under the key ``"input"``.
    batch_size : int, default=8192
        Samples per forward pass, >= 1 (memory only).

    Returns
    -------
    dict of str to Tensor
        In forward order; each value is a CPU float tensor of shape (n_samples, features), with
        a sample's channels/pixels flattened into one vector. Values are what each layer
        output, even where a later in-place operation (``inplace=True`` activations) overwrote
        that output inside the network.

    Raises
    ------
    ValueError
        Unknown or repeated layer name, a layer that never runs, a module run twice in one
        pass, a layer output without one row per input, bad inputs (not (n_samples, ...),
        complex, NaN or infinity, on the 'meta' device) or ``batch_size`` < 1.
    TypeError
        ``layers`` is not a name or a sequence of names.
    """
    check_param("batch_size", batch_size, _BATCH_SIZE, caller="capture")
    names = _layer_names(layers, "capture")
    X = _model_inputs(model, inputs, "capture")
    if names is None:
        names = representation_layers(model)
    reps, _ = _run_with_hooks(model, X, names, batch_size, _model_device(model))
    result: dict[str, Tensor] = {}
    if include_input:
        result["input"] = X.detach().reshape(len(X), -1).float().cpu()
    result.update(reps)
    return result


def predict(model: nn.Module, inputs: Any, *, batch_size: int = 8192) -> np.ndarray:
    """Predicted class (argmax of the logits) for each input, as an int array.

    Parameters
    ----------
    model : nn.Module
        A classifier returning logits of shape (n_samples, n_classes), n_classes >= 2.
    inputs : Tensor or array of shape (n_samples, ...)
    batch_size : int, default=8192
        Samples per forward pass, >= 1 (memory only).

    Returns
    -------
    ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        Bad inputs or ``batch_size`` (see :func:`capture`), or an output that is not one logit
        per class (e.g. a single-logit binary classifier's (n_samples,) or (n_samples, 1)).
    """
    check_param("batch_size", batch_size, _BATCH_SIZE, caller="predict")
    X = _model_inputs(model, inputs, "predict")
    _, logits = _run_with_hooks(model, X, [], batch_size, _model_device(model), "predict")
    return _check_logits(logits, len(X), "predict").argmax(dim=1).numpy()


# --------------------------------------------------------------------------------------------
# Betti numbers per layer and class
# --------------------------------------------------------------------------------------------


@dataclass
class LayerBetti:
    """Per-layer, per-class Betti numbers of one network at one checkpoint.

    Attributes
    ----------
    layers : list of str
        ``"input"`` then the probed layers, in forward order.
    classes : list of int
    betti : dict of int to list
        ``betti[c][i]`` = Betti numbers ``[b0, .., b_max_dim]`` of class ``c`` at layer ``i``, or
        None where they could not be measured (see ``notes``).
    n_points : dict of int to list
        Points the complex was built on (after stride and duplicate removal); 0 when skipped.
    n_class : dict of int to int
        Inputs assigned to each class (by predicted label, unless ``labels`` said otherwise).
    notes : dict of int to dict of str to str
        Why an entry is None, or ``"collapsed: ..."`` for classes mapped onto <= k points.
    measure : dict
        Engine parameters used (metric, k, scale, stride, max_dim, ...).
    labels : str
        "predicted" or "true".
    accuracy : float or None
        Accuracy on the probe inputs when true labels were given.
    seconds : float
        Wall-clock time for capture + all Betti numbers.
    cells_reused : int
        Cells whose numbers came from the caller's cache (unchanged point cloud), default 0.
    """

    layers: list[str]
    classes: list[int]
    betti: dict[int, list[list[int] | None]]
    n_points: dict[int, list[int]]
    n_class: dict[int, int]
    notes: dict[int, dict[str, str]] = field(default_factory=dict)
    measure: dict[str, Any] = field(default_factory=dict)
    labels: str = "predicted"
    accuracy: float | None = None
    seconds: float = 0.0
    cells_reused: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (class keys become strings)."""
        return to_jsonable(asdict(self))

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> LayerBetti:
        """Inverse of :meth:`to_dict`."""
        data = dict(payload)
        for key in ("betti", "n_points", "n_class", "notes"):
            data[key] = {int(c): v for c, v in data.get(key, {}).items()}
        return cls(**data)

    def series(self, cls_label: int, dim: int) -> list[float]:
        """``beta_dim`` of one class across layers (NaN where not measured)."""
        return [math.nan if b is None else float(b[dim]) for b in self.betti[cls_label]]


def _check_measure(measure: Mapping[str, Any] | None, caller: str) -> dict[str, Any]:
    """The engine parameters of ``measure`` merged over :data:`DEFAULT_MEASURE`, checked.

    A partial dict changes only the keys it gives: ``{"k": 4}`` is knn-hop with k=4 at the
    default scale 2.5, stride 4 and b0..b1. A euclidean measure must give its own ``scale`` (a
    distance; the default counts hops) and drops ``k``. A full dict (every key of
    :data:`DEFAULT_MEASURE`) is used as given.
    """
    if measure is None:
        measure = DEFAULT_MEASURE
    if not isinstance(measure, Mapping):
        raise TypeError(
            f"{caller}: measure must be a dict of engine parameters, e.g. {{'metric': "
            f"'knn-hop', 'k': 35, 'scale': 2.5}}; got {type(measure).__name__}."
        )
    unknown = set(measure) - _MEASURE_KEYS
    if unknown:
        raise ValueError(
            f"{caller}: measure has unknown key(s) {sorted(map(str, unknown))}; allowed: "
            f"{sorted(_MEASURE_KEYS)}."
        )
    for key, value in measure.items():
        if value is None and key not in ("k", "memory_limit"):
            default = (
                f"the default {DEFAULT_MEASURE[key]!r}"
                if key in DEFAULT_MEASURE
                else "the engine's default"
            )
            raise ValueError(
                f"{caller}: measure[{key!r}] is None; give a value, or leave the key out for "
                f"{default}."
            )
    params = dict(measure)
    for key, value in DEFAULT_MEASURE.items():
        params.setdefault(key, value)
    if params["metric"] == "euclidean":
        if "scale" not in measure:
            raise ValueError(
                f"{caller}: measure with metric 'euclidean' needs its own 'scale' (a distance in "
                "the layers' units; the default 2.5 counts knn-hop hops)."
            )
        params.pop("k", None)
    check_params(params, PARAMETER_CONSTRAINTS, caller=caller)
    if params["metric"] == "knn-hop" and params.get("k") is None:
        raise ValueError(
            f"{caller}: measure with metric 'knn-hop' needs k (e.g. 35, counting the point)."
        )
    for key in ("dedupe", "origin_point"):
        if key in params and not isinstance(params[key], (bool, np.bool_)):
            raise ValueError(
                f"{caller}: measure[{key!r}] must be True or False; got {params[key]!r}."
            )
    return params


def _check_use_true_labels(value: Any, caller: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{caller}: use_true_labels must be True or False; got {value!r}.")
    return bool(value)


def _true_labels(labels: Any, n_samples: int, n_classes: int, caller: str) -> np.ndarray:
    """``labels`` as an int64 array of class indices in ``[0, n_classes)``, one per input."""
    try:
        array = np.asarray(labels.detach().cpu() if isinstance(labels, Tensor) else labels)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(
            f"{caller}: labels must be a 1-D array of class indices, one per input; could not "
            f"convert the {type(labels).__name__}: {' '.join(str(error).split())}"
        ) from None
    if array.ndim == 2 and 1 in array.shape:
        array = array.ravel()
    if array.ndim == 1 and len(array) != n_samples:
        raise ValueError(
            f"{caller}: {len(array)} labels for {n_samples} inputs; they must match one to one."
        )
    if array.dtype.kind not in "biuf":
        values = array.ravel().tolist()
        example = next(
            (v for v in values if not isinstance(v, Real)), values[0] if values else None
        )
        raise ValueError(
            f"{caller}: labels must be class indices, whole numbers in [0, {n_classes}) that "
            f"index the model's outputs; got dtype {array.dtype} (e.g. {example!r}). Map names "
            "to indices in the order of the model's outputs first."
        )
    array = check_labels(array, n_samples, caller=caller)  # 1-D, finite
    if array.dtype.kind == "f":
        fractional = np.flatnonzero(array != np.round(array))
        if len(fractional):
            raise ValueError(
                f"{caller}: labels must be whole class indices; labels[{fractional[0]}] is "
                f"{float(array[fractional[0]])!r}."
            )
    array = array.astype(np.int64)
    outside = np.flatnonzero((array < 0) | (array >= n_classes))
    if len(outside):
        hint = (
            " 1-based labels? Subtract 1." if array.min() >= 1 and array.max() == n_classes else ""
        )
        raise ValueError(
            f"{caller}: labels must be class indices in [0, {n_classes}) for this model's "
            f"{n_classes} outputs; got values from {array.min()} to {array.max()} ({len(outside)} "
            f"outside, first: labels[{outside[0]}] = {array[outside[0]]}).{hint}"
        )
    return array


def _class_list(classes: Any, n_classes: int, caller: str) -> list[int]:
    """``classes`` as distinct logit indices in ``[0, n_classes)`` (default: all of them)."""
    if classes is None:
        return list(range(n_classes))
    if isinstance(classes, (np.ndarray, Tensor)):
        classes = classes.tolist()  # Python numbers, or one number for a 0-d array
    if isinstance(classes, Number):
        classes = [classes]
    try:
        if isinstance(classes, (str, bytes, Mapping)):
            raise TypeError
        items = list(classes)
    except TypeError:
        raise TypeError(
            f"{caller}: classes must be a list of class indices, e.g. [0, 1]; got "
            f"{type(classes).__name__} {classes!r}."
        ) from None
    chosen: list[int] = []
    for value in items:
        whole = (
            not isinstance(value, (bool, np.bool_))
            and isinstance(value, Real)
            and math.isfinite(float(value))
            and float(value).is_integer()
        )
        if not whole or not 0 <= int(value) < n_classes:
            raise ValueError(
                f"{caller}: classes must be logit indices, whole numbers in [0, {n_classes}) for "
                f"this model's {n_classes} outputs; got {value!r}."
            )
        if int(value) in chosen:
            raise ValueError(f"{caller}: classes lists {int(value)} more than once; list it once.")
        chosen.append(int(value))
    return chosen


def _class_betti(points: np.ndarray, params: dict[str, Any]) -> tuple[list[int] | None, int, str]:
    """Betti numbers of one class at one layer, or None with a reason; never raises on data."""
    max_dim = int(params.get("max_dim", 1))
    stride = int(params.get("stride", 1))
    if len(points) == 0:
        return None, 0, "no input is assigned to this class"
    finite = np.isfinite(points).all(axis=1)
    if not finite.all():
        # e.g. an unbounded activation (parabolic cone) overflowing on inputs far from the data
        return (
            None,
            0,
            f"{int((~finite).sum())} of {len(points)} points are NaN or infinite at this layer "
            "(the network overflowed)",
        )
    k = params.get("k")
    if params.get("metric") == "knn-hop" and k is not None:
        strided = math.ceil(len(points) / stride)
        if strided <= k:
            return (
                None,
                0,
                (
                    f"too few points for k={k}: {len(points)} in the class, {strided} after stride "
                    f"{stride} (need more than k)"
                ),
            )
        kept = subsample(
            points,
            stride=stride,
            dedupe=params.get("dedupe", True),
            origin_point=params.get("origin_point", False),
        )
        if len(kept) <= k:
            # every point neighbours every other: complete graph, a simplex, one component
            return (
                [1] + [0] * max_dim,
                len(kept),
                (f"collapsed: {len(kept)} distinct points <= k={k}, complete kNN graph"),
            )
    try:
        result = betti_numbers(points, **params)
    except ComplexTooLargeError as error:
        return None, 0, f"complex too large: {error}"
    except ValueError as error:
        return None, 0, str(error)
    return list(result), result.n_points, ""


#: Process pools by worker count, started on first use and kept for the next checkpoints.
_POOLS: dict[int, ProcessPoolExecutor] = {}

#: A cell: (class, layer name).
Cell = tuple[int, str]

#: Per cell: (hash of its points and parameters, its result (betti, n_points, note) or, while a
#: background worker measures it, the Future of that result).
CellCache = dict[Cell, tuple[str, Any]]


def _pool(workers: int) -> Executor:
    pool = _POOLS.get(workers)
    if pool is None:
        import multiprocessing

        # forkserver: workers start from a clean process (no torch threads or locks inherited
        # from a training process) and stay up, so their start-up (~1 s) is paid once
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("forkserver")
        )
        _POOLS[workers] = pool
    return pool


def _check_count(value: Any, caller: str, name: str = "workers") -> int:
    """``value`` (a count called ``name``) as an int >= 1, else a clear ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{caller}: {name} must be an int >= 1; got {value!r}.")
    return int(value)


def _cell_digest(points: np.ndarray, params: dict[str, Any]) -> str:
    """Hash of a cell's exact input: parameters, shape, dtype and every byte of the points."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(json.dumps(params, sort_keys=True, default=str).encode())
    digest.update(f"{points.shape}{points.dtype}".encode())
    digest.update(np.ascontiguousarray(points).tobytes())
    return digest.hexdigest()


def _timed_class_betti(
    points: np.ndarray, params: dict[str, Any]
) -> tuple[tuple[list[int] | None, int, str], float, float]:
    """:func:`_class_betti` with its cost: (result, CPU seconds, wall seconds) of this process."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = _class_betti(points, params)
    return result, time.process_time() - cpu, time.perf_counter() - wall


def _submit(workers: int, points: np.ndarray, params: dict[str, Any]) -> Future:
    """Queue one cell on the shared pool, replacing the pool if an earlier failure broke it."""
    try:
        return _pool(workers).submit(_timed_class_betti, points, params)
    except BrokenProcessPool:
        _POOLS.pop(workers, None)
        return _pool(workers).submit(_timed_class_betti, points, params)


def _submit_cells(workers: int, clouds: list[np.ndarray], params: dict[str, Any]) -> list[Future]:
    """Queue every cloud on the shared pool; the futures come back in the clouds' order.

    Largest clouds are submitted first, so that no worker is left with a big cell at the end.
    """
    futures: dict[int, Future] = {}
    for i in sorted(range(len(clouds)), key=lambda i: -len(clouds[i])):
        futures[i] = _submit(workers, clouds[i], params)
    return [futures[i] for i in range(len(clouds))]


def _forget_broken_pool(workers: int, futures: Sequence[Future]) -> None:
    """Drop the shared pool when a cell failed in it: a broken pool cannot be reused."""
    if any(f.done() and not f.cancelled() and f.exception() for f in futures):
        _POOLS.pop(workers, None)


def _measure_cells(
    clouds: list[np.ndarray], params: dict[str, Any], workers: int, report: Progress
) -> list[tuple[tuple[list[int] | None, int, str], float, float]]:
    """:func:`_timed_class_betti` of every cloud, in order, in ``workers`` processes."""
    total = len(clouds)
    if workers <= 1 or total <= 1:
        results = []
        for done, cloud in enumerate(clouds):
            report("cell", done, total)
            results.append(_timed_class_betti(cloud, params))
        return results
    futures = _submit_cells(workers, clouds, params)
    results = []
    try:
        for done, future in enumerate(futures):
            report("cell", done, total)
            results.append(future.result())
    except BaseException:
        for future in futures:
            future.cancel()
        _forget_broken_pool(workers, futures)
        raise
    return results


@dataclass
class _Checkpoint:
    """One checkpoint between capture and assembly: what is known, and the cells to measure.

    ``outcome`` holds, per cell, the result ``(betti, n_points, note)`` or, for a cell measured in
    the background, the :class:`~concurrent.futures.Future` of ``_timed_class_betti``.
    """

    started: float
    params: dict[str, Any]
    layer_names: list[str]
    class_list: list[int]
    cells: list[Cell]
    n_class: dict[int, int]
    labels: str
    accuracy: float | None
    outcome: dict[Cell, Any]
    to_measure: list[Cell]
    clouds: list[np.ndarray]
    digests: dict[Cell, str]
    capture_seconds: float = 0.0
    capture_cpu_seconds: float = 0.0

    @property
    def n_reused(self) -> int:
        return len(self.cells) - len(self.to_measure)


def _prepare(
    model: nn.Module,
    inputs: Any,
    *,
    measure: Mapping[str, Any] | None = None,
    layers: str | Sequence[str] | None = None,
    labels: Any = None,
    use_true_labels: bool = False,
    classes: int | Sequence[int] | None = None,
    batch_size: int = 8192,
    cache: CellCache | None = None,
) -> _Checkpoint:
    """Capture the representations, split them into per-cell clouds, look cells up in ``cache``.

    Everything of :func:`layer_betti` that needs the model; what is left (the Betti numbers of
    ``to_measure``) only needs the clouds, so it can run elsewhere.
    """
    started, cpu = time.perf_counter(), time.process_time()
    caller = "layer_betti"
    params = _check_measure(measure, caller)
    check_param("batch_size", batch_size, _BATCH_SIZE, caller=caller)
    if _check_use_true_labels(use_true_labels, caller) and labels is None:
        raise ValueError("layer_betti: use_true_labels=True needs labels.")
    chosen_layers = _layer_names(layers, caller)
    X = _model_inputs(model, inputs, caller)
    names = chosen_layers if chosen_layers is not None else representation_layers(model)
    reps, logits = _run_with_hooks(model, X, names, batch_size, _model_device(model), caller)
    n_outputs = _check_logits(logits, len(X), caller).shape[1]
    predicted = logits.argmax(dim=1).numpy()
    true = None if labels is None else _true_labels(labels, len(X), n_outputs, caller)
    split = true if use_true_labels and true is not None else predicted
    class_list = _class_list(classes, n_outputs, caller)
    points = {
        "input": X.reshape(len(X), -1).float().numpy(),
        **{n: r.numpy() for n, r in reps.items()},
    }
    cells: list[Cell] = [(c, name) for c in class_list for name in points]
    outcome: dict[Cell, Any] = {}
    to_measure: list[Cell] = []
    clouds: list[np.ndarray] = []
    digests: dict[Cell, str] = {}
    masks = {c: split == c for c in class_list}
    for c, name in cells:
        cloud = points[name][masks[c]]  # boolean indexing copies: the cloud owns its memory
        if cache is not None:
            digests[(c, name)] = digest = _cell_digest(cloud, params)
            previous = cache.get((c, name))
            if previous is not None and previous[0] == digest:
                outcome[(c, name)] = previous[1]
                continue
        to_measure.append((c, name))
        clouds.append(cloud)
    return _Checkpoint(
        started=started,
        params=params,
        layer_names=list(points),
        class_list=class_list,
        cells=cells,
        n_class={c: int(np.count_nonzero(split == c)) for c in class_list},
        labels="true" if use_true_labels else "predicted",
        accuracy=None if true is None else float(np.mean(predicted == true)),
        outcome=outcome,
        to_measure=to_measure,
        clouds=clouds,
        digests=digests,
        capture_seconds=time.perf_counter() - started,
        capture_cpu_seconds=time.process_time() - cpu,
    )


def _resolved(value: Any) -> tuple[list[int] | None, int, str]:
    """A cell's result, waiting for it if it is still being measured in the background."""
    if isinstance(value, Future):
        return value.result()[0]
    return value


def _assemble(checkpoint: _Checkpoint, seconds: float) -> LayerBetti:
    """The :class:`LayerBetti` of a checkpoint whose cells all have (or will have) results."""
    betti: dict[int, list[list[int] | None]] = {c: [] for c in checkpoint.class_list}
    n_points: dict[int, list[int]] = {c: [] for c in checkpoint.class_list}
    notes: dict[int, dict[str, str]] = {}
    for c, name in checkpoint.cells:
        numbers, used, note = _resolved(checkpoint.outcome[(c, name)])
        betti[c].append(None if numbers is None else list(numbers))
        n_points[c].append(used)
        if note:
            notes.setdefault(c, {})[name] = note
    return LayerBetti(
        layers=checkpoint.layer_names,
        classes=checkpoint.class_list,
        betti=betti,
        n_points=n_points,
        n_class=checkpoint.n_class,
        notes=notes,
        measure=checkpoint.params,
        labels=checkpoint.labels,
        accuracy=checkpoint.accuracy,
        seconds=seconds,
        cells_reused=checkpoint.n_reused,
    )


def _layer_betti_timed(
    model: nn.Module,
    inputs: Any,
    *,
    progress: Progress | None = None,
    workers: int = 1,
    cache: CellCache | None = None,
    **capture: Any,
) -> tuple[LayerBetti, float]:
    """:func:`layer_betti` and its CPU seconds (this process's and the workers').

    ``capture`` holds :func:`layer_betti`'s other keywords (measure, layers, labels, ...), which
    go to :func:`_prepare`.
    """
    workers = _check_count(workers, "layer_betti")
    checkpoint = _prepare(model, inputs, cache=cache, **capture)
    cpu = time.process_time()
    report = progress or (lambda stage, done, total: None)
    total = len(checkpoint.cells)
    n_reused = checkpoint.n_reused

    def cell_progress(stage: str, done: int, _total: int) -> None:
        report("betti", n_reused + done, total)

    measured = _measure_cells(checkpoint.clouds, checkpoint.params, workers, cell_progress)
    worker_cpu = 0.0
    for cell, (result, cell_cpu, _) in zip(checkpoint.to_measure, measured, strict=True):
        checkpoint.outcome[cell] = result
        if workers > 1 and len(measured) > 1:
            worker_cpu += cell_cpu  # measured in another process
        if cache is not None:
            cache[cell] = (checkpoint.digests[cell], result)
    report("betti", total, total)
    cpu_seconds = checkpoint.capture_cpu_seconds + time.process_time() - cpu + worker_cpu
    return _assemble(checkpoint, time.perf_counter() - checkpoint.started), cpu_seconds


def layer_betti(
    model: nn.Module,
    inputs: Any,
    *,
    measure: Mapping[str, Any] | None = None,
    layers: str | Sequence[str] | None = None,
    labels: Any = None,
    use_true_labels: bool = False,
    classes: int | Sequence[int] | None = None,
    batch_size: int = 8192,
    progress: Progress | None = None,
    workers: int = 1,
    cache: CellCache | None = None,
) -> LayerBetti:
    """Per-layer, per-class Betti numbers of ``model``'s representations of ``inputs``.

    Parameters
    ----------
    model : nn.Module
        A classifier returning logits.
    inputs : Tensor or array of shape (n_samples, ...)
        The probe set, in a fixed order (the stride subsampling follows it).
    measure : dict, optional
        Engine parameters: metric, k, scale, stride, max_dim (and dedupe, origin_point, method,
        memory_limit). Default :data:`DEFAULT_MEASURE` (knn-hop, k=35, scale 2.5, stride 4,
        b0..b1); a partial dict replaces only the keys it gives (``{"k": 4}``: knn-hop with
        k=4, scale 2.5, stride 4, b0..b1), except that a euclidean measure must give its
        ``scale`` (a distance) and drops ``k``. Pass the data set's ``dataset.measure``.
    layers : str or sequence of str, optional
        Module names (one may be given alone); default :func:`representation_layers`. The
        input always comes first.
    labels : array of shape (n_samples,), optional
        True labels, class indices in ``[0, n_classes)`` (the logit index of each input's
        class): used for ``accuracy``, and to split classes when ``use_true_labels``.
    use_true_labels : bool, default=False
        Split by true instead of predicted labels (the study uses predicted).
    classes : int or sequence of int, optional
        Classes to measure, distinct logit indices in ``[0, n_classes)``; default every logit
        index.
    batch_size : int, default=8192
        Samples per forward pass, >= 1 (memory only).
    progress : callable, optional
        ``progress("betti", done, total)`` over layer x class cells.
    workers : int, default=1
        Processes measuring the cells in parallel (1 = in this process). Worth it only with
        idle cores: each worker runs one single-threaded cell at a time.
    cache : dict, optional
        Cell cache kept by the caller between checkpoints (:class:`TraceRecorder` does): a cell
        whose points and parameters hash as before reuses its previous numbers, and the cache is
        updated with the new ones. Default: no cache.

    Returns
    -------
    LayerBetti

    Raises
    ------
    ValueError
        Bad inputs, layers or ``batch_size`` (see :func:`capture`); a model output that is not
        one logit per class; labels that are not one class index in ``[0, n_classes)`` per
        input; classes that are not distinct logit indices; bad ``measure`` values.
    TypeError
        ``measure`` is not a dict, ``layers`` or ``classes`` not of the types above.
    """
    result, _ = _layer_betti_timed(
        model,
        inputs,
        measure=measure,
        layers=layers,
        labels=labels,
        use_true_labels=use_true_labels,
        classes=classes,
        batch_size=batch_size,
        progress=progress,
        workers=workers,
        cache=cache,
    )
    return result


# --------------------------------------------------------------------------------------------
# traces during training
# --------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    """A checkpoint handed to the workers, waiting for its cells."""

    epoch: int
    train: dict[str, Any] | None
    checkpoint: _Checkpoint
    futures: list[Future]

    def done(self) -> bool:
        return all(f.done() for f in self.futures)


class TraceRecorder:
    """Measure :func:`layer_betti` at chosen epochs; use as ``train(..., on_epoch_end=recorder)``.

    Parameters
    ----------
    inputs : Tensor or array
        The probe set (e.g. the training points, or D-I's evaluation grid).
    measure : dict, optional
        Engine parameters, a partial dict merged over :data:`DEFAULT_MEASURE` (see
        :func:`layer_betti`).
    every : int, default=10
        Record at epochs ``every, 2*every, ...``; also record epoch 0 with :meth:`record`
        and the last epoch with :meth:`finish`.
    epochs : sequence of int, optional
        Explicit epochs to record instead of ``every``.
    labels : array, optional
        True labels of ``inputs`` (for accuracy; see :func:`layer_betti`).
    layers : str or sequence of str, optional
        Module names (see :func:`layer_betti`).
    on_record : callable, optional
        ``on_record(recorder)`` after each new entry (e.g. write ``trace.json``); always called
        in the calling (training) thread, once per entry, in the order the entries were recorded.
    progress : callable, optional
        Passed to :func:`layer_betti` (synchronous mode only).
    workers : int, default=1
        Processes measuring the cells of a checkpoint in parallel (see :func:`layer_betti`); in
        background mode, the processes of the background pool.
    cache : bool, default=True
        Reuse a cell's Betti numbers when its point cloud did not change since the previous
        checkpoint (exact: the cloud's bytes are hashed).
    background : bool, default=False
        Measure in the background. At a checkpoint the recorder only runs the forward pass
        (capture and split by predicted label, in this process; cheap) and hands the per-cell
        point clouds to a pool of ``workers`` processes, then returns, so training goes on while
        the Betti numbers are computed. Finished entries are collected at every later epoch end
        (``__call__``, even off-schedule), and :meth:`finish` / :meth:`wait` wait for all; entries
        and ``on_record`` calls come in recording (epoch) order, and hold exactly the numbers the
        synchronous recorder gives. Only worth it with spare cores: the workers compete with
        training for CPU otherwise.
    max_pending : int, default=2
        Background mode: at most this many checkpoints in flight. Each holds its captured point
        clouds in memory until measured (about ``n_probe x sum(layer widths) x 4`` bytes: ~25 MB
        for D-II's 45 000 points through a 15 x 9 MLP); recording one more first blocks training
        until the oldest is done, so memory stays bounded when the probe is slower than training.
    max_overhead : float, optional
        Probe budget as a multiple of the training time. A scheduled epoch is skipped (and
        listed in :attr:`skipped`) when measuring it would take the probe's CPU seconds over
        ``max_overhead`` times the training's seconds so far (:attr:`train_seconds`), counting
        the checkpoint at the larger of the mean cost so far and the latest checkpoint's
        (:meth:`over_budget`); an estimate, so the budget can still be overrun a little. Epoch 0
        and the last epoch are always measured, so a whole trace costs about ``max_overhead``
        times the training plus those two (in background mode the checkpoints in flight count
        once they arrive).
        None (default) measures every scheduled epoch.

    Attributes
    ----------
    entries : dict of int to dict
        Epoch -> ``{"epoch", "train": {loss, train_acc, val_acc} or None, **LayerBetti.to_dict()}``.
        In background mode an entry's ``seconds`` is its work time (capture plus each cell's
        time in a worker), not the time it took to arrive.
    seconds : float
        Wall-clock the caller (the training loop) spent in the recorder: all the measuring when
        synchronous; capture, hand-off and waits (full queue, :meth:`finish`) in background mode.
    wait_seconds : float
        Of ``seconds``, the time spent waiting for background results (0 when synchronous).
    cpu_seconds : float
        CPU time of the probe: this process's capture and measuring plus the worker processes'
        cells (also counted when synchronous with ``workers > 1``).
    cells, cells_reused : int
        Cells measured in all (in collected entries), and how many were reused from the cache.
    train_seconds : float
        Training seconds seen so far: the ``seconds`` of every epoch record passed to
        ``__call__`` (training and evaluation, probe excluded); a resumed run adds the earlier
        training to it.
    skipped : list of int
        Scheduled epochs not measured because of ``max_overhead``.

    Notes
    -----
    An interrupted background run loses the entries still in flight (their point clouds exist
    only in memory); :meth:`cancel_pending` drops them and says which. :func:`run_trace`
    re-measures the epoch of the model checkpoint it resumes from when that entry was lost;
    earlier lost epochs stay missing from the trace (their weights are gone).
    """

    def __init__(
        self,
        inputs: Any,
        *,
        measure: Mapping[str, Any] | None = None,
        every: int | None = 10,
        epochs: Sequence[int] | None = None,
        labels: Any = None,
        layers: str | Sequence[str] | None = None,
        on_record: Callable[[TraceRecorder], Any] | None = None,
        progress: Progress | None = None,
        workers: int = 1,
        cache: bool = True,
        background: bool = False,
        max_pending: int = 2,
        max_overhead: float | None = None,
    ) -> None:
        if epochs is None and (every is None or int(every) < 1):
            raise ValueError(f"TraceRecorder: every must be an int >= 1; got {every!r}.")
        if not isinstance(background, bool):
            raise ValueError(
                f"TraceRecorder: background must be True or False; got {background!r}."
            )
        self.workers = _check_count(workers, "TraceRecorder")
        self.background = background
        self.max_pending = _check_count(max_pending, "TraceRecorder", "max_pending")
        if max_overhead is not None:
            check_param(
                "max_overhead",
                max_overhead,
                Interval(float, 0.0, None, closed="neither"),
                caller="TraceRecorder",
            )
        self.max_overhead = max_overhead
        self.train_seconds = 0.0
        self.skipped: list[int] = []
        self._cache: CellCache | None = {} if cache else None
        self._pending: list[_Pending] = []
        self.cells = 0
        self.cells_reused = 0
        self.inputs = inputs
        self.measure = _check_measure(measure, "TraceRecorder")
        # the schedule: the given epochs, else every ``every``-th (one of them, checked above)
        self.epochs = None if epochs is None else sorted({int(e) for e in epochs})
        self.every = int(every) if epochs is None and every is not None else None
        self.labels = labels
        self.layers = _layer_names(layers, "TraceRecorder")
        self.on_record = on_record
        self.progress = progress
        self.entries: dict[int, dict[str, Any]] = {}
        self.seconds = 0.0
        self.wait_seconds = 0.0
        self.cpu_seconds = 0.0

    @property
    def pending_epochs(self) -> list[int]:
        """Epochs handed to the background workers and not yet collected."""
        return [p.epoch for p in self._pending]

    def wants(self, epoch: int) -> bool:
        """Whether ``epoch`` is on the schedule."""
        if self.epochs is not None:
            return epoch in self.epochs
        return self.every is not None and epoch % self.every == 0

    def over_budget(self) -> bool:
        """Whether one more checkpoint would take the probe over ``max_overhead`` times the
        training so far. The next checkpoint is counted at the mean cost of the earlier ones or
        the latest one's measuring time, whichever is larger: checkpoints grow dearer as a
        network trains (its representations get harder to reduce)."""
        if self.max_overhead is None:
            return False
        next_checkpoint = 0.0
        if self.entries:
            latest = self.entries[max(self.entries)]
            mean = self.cpu_seconds / len(self.entries)
            next_checkpoint = max(mean, float(latest.get("seconds", 0.0)))
        return self.cpu_seconds + next_checkpoint > self.max_overhead * self.train_seconds

    def __call__(self, epoch: int, model: nn.Module, record: Any = None) -> None:
        if record is not None:
            self.train_seconds += float(getattr(record, "seconds", 0.0))
        if self._pending:
            self.collect()
        if not self.wants(epoch):
            return
        if self.over_budget():
            if int(epoch) not in self.skipped:  # a resumed run may pass an epoch again
                self.skipped.append(int(epoch))
        else:
            self.record(epoch, model, record)

    @staticmethod
    def _train_info(record: Any) -> dict[str, Any] | None:
        if record is None:
            return None
        return {"loss": record.loss, "train_acc": record.train_acc, "val_acc": record.val_acc}

    def _store(self, epoch: int, train_info: dict[str, Any] | None, result: LayerBetti) -> dict:
        self.cells += len(result.layers) * len(result.classes)
        self.cells_reused += result.cells_reused
        entry = {"epoch": int(epoch), "train": train_info, **result.to_dict()}
        self.entries[int(epoch)] = entry
        if self.on_record is not None:
            self.on_record(self)
        return entry

    def record(self, epoch: int, model: nn.Module, record: Any = None) -> dict[str, Any] | None:
        """Measure ``epoch`` and store its entry (replacing an earlier one).

        Returns the entry; in background mode None (the entry arrives later, see ``background``).
        """
        if int(epoch) in self.skipped:  # e.g. the last epoch, which finish() always measures
            self.skipped.remove(int(epoch))
        started = time.perf_counter()
        if not self.background:
            result, cpu = _layer_betti_timed(
                model,
                self.inputs,
                measure=self.measure,
                layers=self.layers,
                labels=self.labels,
                progress=self.progress,
                workers=self.workers,
                cache=self._cache,
            )
            self.seconds += time.perf_counter() - started
            self.cpu_seconds += cpu
            return self._store(epoch, self._train_info(record), result)
        # bounded queue: block on the oldest checkpoints before capturing one more
        while len(self._pending) >= self.max_pending:
            self._collect_one()  # adds its wait to self.seconds itself
        started = time.perf_counter()
        checkpoint = _prepare(
            model,
            self.inputs,
            measure=self.measure,
            layers=self.layers,
            labels=self.labels,
            cache=self._cache,
        )
        futures = _submit_cells(self.workers, checkpoint.clouds, checkpoint.params)
        for cell, future in zip(checkpoint.to_measure, futures, strict=True):
            checkpoint.outcome[cell] = future
            if self._cache is not None:
                # later checkpoints reuse this cell's future while it is still running
                self._cache[cell] = (checkpoint.digests[cell], future)
        checkpoint.clouds = []  # the pool holds them until sent; nothing else needs them
        self._pending.append(_Pending(int(epoch), self._train_info(record), checkpoint, futures))
        self.cpu_seconds += checkpoint.capture_cpu_seconds
        self.seconds += time.perf_counter() - started
        return None

    def _collect_one(self) -> None:
        """Wait for the oldest pending checkpoint and store its entry."""
        pending = self._pending[0]
        started = time.perf_counter()
        try:
            costs = [future.result()[1:] for future in pending.futures]  # (CPU s, wall s)
        except BaseException:
            _forget_broken_pool(self.workers, pending.futures)
            raise
        waited = time.perf_counter() - started
        self.wait_seconds += waited
        self.seconds += waited
        self._pending.pop(0)
        checkpoint = pending.checkpoint
        self.cpu_seconds += sum(cpu for cpu, _ in costs)
        cell_wall = sum(wall for _, wall in costs)
        result = _assemble(checkpoint, checkpoint.capture_seconds + cell_wall)
        self._store(pending.epoch, pending.train, result)

    def collect(self) -> list[int]:
        """Store the entries whose cells are all done, oldest first, without waiting.

        Stops at the first checkpoint still running, so entries arrive in recording order.
        Returns the epochs stored.
        """
        stored = []
        while self._pending and self._pending[0].done():
            stored.append(self._pending[0].epoch)
            self._collect_one()
        return stored

    def wait(self) -> None:
        """Wait for every pending checkpoint and store its entry (no-op when synchronous)."""
        while self._pending:
            self._collect_one()

    def cancel_pending(self) -> list[int]:
        """Drop the checkpoints still in flight (e.g. on an interruption); returns their epochs.

        Cells not yet started are cancelled; cells already running finish in the workers and are
        thrown away. The cell cache forgets them, so no later checkpoint reuses a lost result.
        """
        lost = [p.epoch for p in self._pending]
        dropped = {id(f) for p in self._pending for f in p.futures}
        for pending in self._pending:
            for future in pending.futures:
                future.cancel()
        self._pending = []
        if self._cache is not None:
            for key in [k for k, v in self._cache.items() if id(v[1]) in dropped]:
                del self._cache[key]
        return lost

    def finish(self, epoch: int, model: nn.Module, record: Any = None) -> None:
        """Record the final epoch unless it is already recorded, then wait for all entries."""
        if int(epoch) not in self.entries and int(epoch) not in self.pending_epochs:
            self.record(epoch, model, record)
        self.wait()

    def load(
        self,
        entries: Sequence[dict[str, Any]],
        *,
        seconds: float | None = None,
        cpu_seconds: float = 0.0,
        skipped: Sequence[int] = (),
    ) -> None:
        """Restore entries from an earlier (interrupted) run's ``trace.json``.

        ``seconds`` and ``cpu_seconds`` are the probe time already spent on them, added to
        :attr:`seconds` and :attr:`cpu_seconds` so that a resumed run reports the whole trace's
        cost. ``seconds`` defaults to the entries' own measuring time (wall-clock seconds).
        ``skipped`` restores the epochs a ``max_overhead`` budget left out (add the training
        already done to :attr:`train_seconds`, as :func:`run_trace` does, so the budget goes on
        from where the earlier run stopped).
        """
        for entry in entries:
            self.entries[int(entry["epoch"])] = dict(entry)
        if seconds is None:
            seconds = sum(float(entry.get("seconds", 0.0)) for entry in entries)
        self.seconds += seconds
        self.cpu_seconds += cpu_seconds
        self.skipped = sorted(set(self.skipped) | {int(e) for e in skipped})

    def to_list(self) -> list[dict[str, Any]]:
        """Entries in epoch order (collected ones only)."""
        return [self.entries[e] for e in sorted(self.entries)]


def trace_matrix(entries: Sequence[dict[str, Any]], cls_label: int, dim: int) -> np.ndarray:
    """``beta_dim`` of one class as an array (layers x recorded epochs), NaN where missing."""
    if not entries:
        return np.zeros((0, 0))
    n_layers = len(entries[0]["layers"])
    matrix = np.full((n_layers, len(entries)), np.nan)
    for j, entry in enumerate(entries):
        column = entry["betti"].get(str(cls_label), entry["betti"].get(cls_label))
        if column is None:
            continue
        for i, numbers in enumerate(column):
            if numbers is not None and dim < len(numbers):
                matrix[i, j] = numbers[dim]
    return matrix


def plot_trace_heatmap(
    entries: Sequence[dict[str, Any]], path: str | Path, *, title: str = ""
) -> Path:
    """Heat maps of Betti numbers, layer (rows) x epoch (columns), one panel per class and beta.

    Grey cells were not measured (see the trace's notes). Written atomically to ``path`` (PNG).
    """
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()

    if not entries:
        raise ValueError("plot_trace_heatmap: the trace has no entries yet.")
    layers = entries[0]["layers"]
    classes = [int(c) for c in entries[0]["classes"]]
    dims = int(entries[0]["measure"].get("max_dim", 1)) + 1
    epochs = [e["epoch"] for e in entries]
    fig, axes = plt.subplots(
        len(classes),
        dims,
        figsize=(
            2.0 + 0.35 * len(epochs) * dims + 1.5 * dims,
            1.0 + 0.32 * len(layers) * len(classes),
        ),
        squeeze=False,
    )
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgrey")
    unmeasured = False
    for row, c in enumerate(classes):
        for dim in range(dims):
            ax = axes[row][dim]
            matrix = trace_matrix(entries, c, dim)
            measured = matrix[np.isfinite(matrix)]
            unmeasured = unmeasured or measured.size < matrix.size
            # Betti numbers count from 0: a fixed lower end keeps panels comparable, and a
            # constant panel gets a unit range instead of matplotlib's +-0.1 around its value
            top = max(1.0, float(measured.max())) if measured.size else 1.0
            image = ax.imshow(
                np.ma.masked_invalid(matrix),
                aspect="auto",
                cmap=cmap,
                origin="upper",
                vmin=0.0,
                vmax=top,
            )
            if matrix.size <= 400:
                for (i, j), value in np.ndenumerate(matrix):
                    if np.isfinite(value):
                        # dark text on the bright end of viridis, light text elsewhere
                        bright = value > 0.6 * top
                        ax.text(
                            j,
                            i,
                            f"{value:.0f}",
                            ha="center",
                            va="center",
                            fontsize=6,
                            color="k" if bright else "w",
                        )
            ax.set_xticks(range(len(epochs)), [str(e) for e in epochs], fontsize=6, rotation=90)
            ax.set_yticks(range(len(layers)), layers, fontsize=6)
            ax.set_title(f"class {c}: beta_{dim}", fontsize=8)
            ax.set_xlabel("epoch", fontsize=7)
            bar = fig.colorbar(image, ax=ax, fraction=0.05)
            bar.locator = MaxNLocator(integer=True)  # Betti numbers are whole
            bar.update_ticks()
            bar.ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    if unmeasured:
        fig.text(
            0.5,
            0.005,
            "grey: not measured (e.g. the network predicted no point of that class then; "
            "the reasons are in trace.json)",
            ha="center",
            va="bottom",
            fontsize=6,
            color="0.35",
        )
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    else:
        fig.tight_layout()
    return save_figure(fig, path)


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A trace config without the settings a resumed run may change (budget, device, paths)."""
    config = dict(config)
    config["train"] = {
        k: v
        for k, v in dict(config.get("train", {})).items()
        if k not in ("epochs", "device", "checkpoint_path", "eval_batch_size")
    }
    config.pop("epochs", None)
    config.pop("device", None)
    return config


def _resumed_checkpoint(path: Path) -> tuple[int, dict[str, Any], Any, float] | None:
    """(epoch, model weights, last epoch's record, training seconds so far) of a training
    checkpoint, or None if unreadable.

    Reads the file :func:`bettiscope.training.train` writes; any problem is left to ``train``,
    which reports it clearly when it loads the same file.
    """
    from bettiscope.training import TrainHistory

    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        history = TrainHistory.from_dict(state["history"])
        last = history.records[-1] if history.records else None
        seconds = float(sum(history.column("seconds")))
        return int(state["epoch"]), state["model"], last, seconds
    except Exception:  # torch raises many types for a damaged file
        return None


def run_trace(
    model: nn.Module,
    train_data: tuple[Tensor, Tensor],
    cfg: Any,
    out_dir: str | Path,
    *,
    probe_inputs: Any = None,
    probe_labels: Any = None,
    measure: dict[str, Any] | None = None,
    every: int = 10,
    val: tuple[Tensor, Tensor] | None = None,
    config: dict[str, Any] | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    background: bool = False,
    at: Sequence[int] | None = None,
    max_overhead: float | None = None,
) -> dict[str, Any]:
    """Train ``model`` while tracing per-layer Betti numbers; write ``out_dir/trace.json``.

    Records epoch 0 (before training), every ``every``-th epoch (or the epochs listed in
    ``at``), and the last epoch. The model
    checkpoint (``out_dir/checkpoint.pt``) is written every ``every`` epochs and ``trace.json``
    after every entry, so re-running on the same folder resumes: training continues from the
    checkpoint and the entries already measured are kept.

    Parameters
    ----------
    model : nn.Module
    train_data : (X, y) tensors
    cfg : bettiscope.training.TrainConfig
        Its ``checkpoint_path`` and ``checkpoint_every`` are set here.
    out_dir : path
    probe_inputs, probe_labels : optional
        Points to probe (default the training set) and their true labels.
    measure : dict, optional
        Engine parameters (default :data:`DEFAULT_MEASURE`; a partial dict is merged over it,
        see :func:`layer_betti`).
    every : int, default=10
    val : (X, y), optional
    config : dict, optional
        Extra provenance (data set, activation, widths) stored in ``trace.json``.
    progress : callable, optional
        ``progress(stage, done, total)``: "train" per epoch and "betti" per cell (synchronous).
    workers : int, default=1
        Probe processes (see :class:`TraceRecorder`); 1 with ``background=False`` measures in
        this process, as before.
    background : bool, default=False
        Measure in ``workers`` background processes while training goes on (see
        :class:`TraceRecorder`); the entries are the same. An interruption loses the entries
        still in flight: the finished ones are saved, and on resume the epoch of the model
        checkpoint is measured again if its entry was lost; earlier lost epochs stay missing.
        Neither setting is part of the run's identity: a run may resume with other values.
    at : sequence of int, optional
        Explicit epochs to measure instead of every ``every``-th (epoch 0 and the last epoch are
        always measured); ``every`` then only sets the checkpoint spacing.
    max_overhead : float, optional
        Probe budget as a multiple of the training time: scheduled epochs are skipped when
        measuring them would take the probe over it (see :class:`TraceRecorder`); the skipped
        epochs are listed in ``probe.skipped_epochs``. Not part of the run's identity either.
        None measures all.

    Returns
    -------
    dict
        The content of ``trace.json``: ``config``, ``environment``, ``history``, ``trace``
        (entries in epoch order), ``probe_seconds`` (time the training loop spent in the probe),
        ``probe_cpu_seconds``, ``probe`` (workers, background, max_overhead, skipped_epochs),
        ``train_seconds``, ``status``.
    """
    from dataclasses import replace

    from bettiscope.training import train

    out = check_out_folder(
        out_dir, "trace", {"runs": "a comparison (bettiscope compare)", "results.json": "results"}
    )
    trace_path = out / "trace.json"
    cfg = replace(cfg, checkpoint_path=str(out / "checkpoint.pt"), checkpoint_every=int(every))
    cfg.validate()
    checkpoint = Path(cfg.checkpoint_path)
    resumed = _resumed_checkpoint(checkpoint) if checkpoint.exists() else None
    if resumed is not None and resumed[0] > cfg.epochs:
        raise ValueError(
            f"{out}: this folder's network has trained {resumed[0]} epochs already, more than "
            f"the {cfg.epochs} asked for; give --epochs {resumed[0]} or more to continue it, "
            "or use another folder."
        )
    out.mkdir(parents=True, exist_ok=True)
    chosen = None
    if at is not None:
        chosen = sorted({int(epoch) for epoch in at})
        if not chosen or chosen[0] < 0:
            raise ValueError(f"run_trace: `at` needs epochs >= 0; got {list(at)}.")
        if chosen[-1] > cfg.epochs:
            raise ValueError(
                f"run_trace: `at` asks for epoch {chosen[-1]}, beyond the {cfg.epochs} epochs "
                "of training; drop it or train longer."
            )
    inputs = train_data[0] if probe_inputs is None else probe_inputs
    labels = train_data[1] if probe_inputs is None else probe_labels
    full_config = {
        **(config or {}),
        "train": asdict(cfg),
        "measure": dict(DEFAULT_MEASURE if measure is None else measure),
        "every": int(every),
        **({"at": chosen} if chosen is not None else {}),
    }
    report = progress or (lambda stage, done, total: None)
    payload_base = {
        "config": full_config,
        "environment": environment_info(),
        "probe": {
            "workers": int(workers),
            "background": bool(background),
            "max_overhead": max_overhead,
        },
    }

    def write(recorder: TraceRecorder, status: str, history: Any = None) -> dict[str, Any]:
        payload = {
            **payload_base,
            "status": status,
            "probe": {**payload_base["probe"], "skipped_epochs": list(recorder.skipped)},
            "trace": recorder.to_list(),
            "probe_seconds": recorder.seconds,
            "probe_cpu_seconds": recorder.cpu_seconds,
            "history": None if history is None else history.to_dict(),
        }
        atomic_write_json(trace_path, payload)
        return payload

    recorder = TraceRecorder(
        inputs,
        measure=measure,
        every=every,
        epochs=chosen,
        labels=labels,
        progress=lambda stage, done, total: report(stage, done, total),
        workers=workers,
        background=background,
        max_overhead=max_overhead,
    )
    recorder.on_record = lambda rec: write(rec, "running")
    if trace_path.exists():
        old = read_json(trace_path)
        if _comparable(old.get("config", {})) != _comparable(to_jsonable(full_config)):
            raise ValueError(
                f"{trace_path}: this folder holds a trace of a different run (data set, "
                "activation, training or measurement settings differ); use another --out "
                "folder or delete it."
            )
        recorder.load(
            old.get("trace", []),
            seconds=float(old.get("probe_seconds", 0.0)),
            cpu_seconds=float(old.get("probe_cpu_seconds", 0.0)),
            skipped=(old.get("probe") or {}).get("skipped_epochs", []),
        )
    try:
        if 0 not in recorder.entries:
            recorder.record(0, model)
        if resumed is not None:
            recorder.train_seconds += resumed[3]  # the budget counts the earlier training too
        if resumed is not None and resumed[0] > 0 and resumed[0] not in recorder.entries:
            # a background entry lost to an interruption: the checkpoint has its weights
            epoch, weights, last, _ = resumed
            if recorder.wants(epoch):  # a lost final entry is re-measured by finish()
                model.load_state_dict(weights)  # train() loads the same weights again
                recorder.record(epoch, model, last)
        history = train(
            model,
            train_data,
            cfg,
            val=val,
            on_epoch_end=recorder,
            progress=lambda stage, done, total: report("train", done, total),
        )
        if history.epochs > 0:
            recorder.finish(history.epochs, model, history.records[-1])
        recorder.wait()
    except BaseException:
        # keep what is finished (on_record writes it), drop what is still in flight
        if recorder.pending_epochs:
            with contextlib.suppress(Exception):  # the original error matters more
                recorder.collect()
            recorder.cancel_pending()
        raise
    payload = write(recorder, "done", history)
    payload["train_seconds"] = float(sum(history.column("seconds")))
    atomic_write_json(trace_path, payload)
    return payload


def probe_cost_hint(result: dict[str, Any]) -> str | None:
    """Advice when a finished trace spent more on probing than on training, else None.

    Parameters
    ----------
    result : dict
        What :func:`run_trace` returns (or ``trace.json``): the probe's CPU seconds, the number
        of traced epochs, the training's seconds per epoch and the configuration.

    Returns
    -------
    str or None
        How much more the probe cost (ratio of CPU seconds), what one checkpoint costs in epochs
        of training, the spacing at which tracing would cost less than training, and the cheaper
        settings. None when probing cost at most the training, or the numbers are missing.
    """
    entries = len(result.get("trace") or [])
    history = result.get("history") or {}
    per_epoch = history.get("seconds_per_epoch")
    epochs = history.get("epochs")
    probe = result.get("probe_cpu_seconds", result.get("probe_seconds"))
    if not entries or not per_epoch or not epochs or probe is None:
        return None
    # the training time the summary line shows; the median epoch only where it is missing
    training = result.get("train_seconds") or per_epoch * epochs
    ratio = probe / training
    if ratio <= 1.0:
        return None
    config = result.get("config") or {}
    per_checkpoint = probe / entries
    epochs_per_checkpoint = math.ceil(per_checkpoint / per_epoch)
    spacing = (
        "fewer epochs in --at"
        if "at" in config
        else f"--every {epochs_per_checkpoint} or more (now {config.get('every')})"
    )
    cheaper = [spacing]
    if (config.get("measure") or {}).get("max_dim", 1) > 0:
        cheaper.append("--max-dim 0 (beta_0 only, several times cheaper)")
    if not (result.get("probe") or {}).get("background"):
        cheaper.append("--background when cores are idle (it moves the work, not reduces it)")
    if (result.get("probe") or {}).get("max_overhead") is None:
        cheaper.append("--max-overhead 1 (skips checkpoints while probing is over budget)")
    return (
        f"Probing cost {ratio:.1f}x the training ({probe:.1f} CPU s against "
        f"{training:.1f} s): one checkpoint costs {per_checkpoint:.2f} s, as much as "
        f"{epochs_per_checkpoint} epochs of training. To trace for less than the training: "
        + "; ".join(cheaper)
        + "."
    )

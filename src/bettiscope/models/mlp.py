"""Multi-layer perceptrons for the synthetic topology study (Naitzat, Zhitnikov & Lim 2020).

An MLP "of L layers" has ``L - 1`` hidden blocks (dense layer, then activation) and a final dense
layer to the class logits. The study's main setting is width 15 and L = 10: input, 9 hidden
representations and the logits, i.e. 11 point clouds per class. Modules are named so the probe
can find every representation::

    fc1, act1, fc2, act2, ..., fc9, act9, logits

Initialisation follows the study by default: Glorot (Xavier) uniform weights and zero biases.
``bias_init="uniform"`` draws biases as PyTorch's ``nn.Linear`` does instead. With zero biases an
even activation (``|x|``) maps ``x`` and ``-x`` to the same point in the first hidden layer, so on
data symmetric about the origin it merges mirror-image components before any training;
non-zero biases break that symmetry (docs/study.md, "first-layer fold").
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from bettiscope._validation import check_memory
from bettiscope.activations import activation_spec, get_activation

__all__ = [
    "BIAS_INITS",
    "INITS",
    "MLP",
    "MLPConfig",
    "build_mlp",
    "check_bias_init",
    "mlp_config_dict",
    "mlp_memory_bytes",
]

#: Weight initialisations.
INITS = ("glorot_uniform", "glorot_normal", "kaiming_uniform", "kaiming_normal")
#: Bias initialisations: zero (the study) or PyTorch's nn.Linear default, U(+-1/sqrt(fan_in)).
BIAS_INITS = ("zeros", "uniform")


@dataclass
class MLPConfig:
    """Shape and recipe of an MLP (what a checkpoint or result file records).

    Attributes
    ----------
    in_features : int, default=2
        Input dimension (2 for D-I, 3 for D-II/D-III).
    num_classes : int, default=2
        Number of logits.
    width : int, default=15
        Units per hidden layer (the Naitzat main setting), unless ``widths`` is given.
    depth : int, default=10
        Dense layers counting the output layer (Naitzat's L): ``depth - 1`` hidden layers.
    widths : list of int, optional
        Explicit hidden widths; overrides ``width`` and ``depth``.
    activation : str, default="relu"
        What ``get_activation(activation, **activation_kwargs)`` rebuilds the activation from
        (see :func:`bettiscope.activations.activation_spec`): a registry name, possibly with
        arguments (``"fold(slope=0.25)"``), or an import path. A module instance that cannot be
        rebuilt from a name (a class that is not registered, a lambda, trained weights) is
        recorded as ``"custom:<name>"``, which ``get_activation`` refuses.
    activation_kwargs : dict
        Constructor arguments for the activation (a module instance's arguments that differ
        from the defaults, e.g. ``{"slope": 0.25}`` for ``Fold(slope=0.25)``).
    init : {"glorot_uniform", "glorot_normal", "kaiming_uniform", "kaiming_normal"}
        Weight initialisation.
    bias_init : {"zeros", "uniform"}, default="zeros"
        Bias initialisation (see :func:`build_mlp`).
    """

    in_features: int = 2
    num_classes: int = 2
    width: int = 15
    depth: int = 10
    widths: list[int] | None = None
    activation: str = "relu"
    activation_kwargs: dict[str, Any] = field(default_factory=dict)
    init: str = "glorot_uniform"
    bias_init: str = "zeros"

    def hidden_widths(self) -> list[int]:
        """Widths of the hidden layers, in order."""
        if self.widths is not None:
            return [int(w) for w in self.widths]
        return [int(self.width)] * (int(self.depth) - 1)


def check_bias_init(bias_init: str, caller: str) -> None:
    """Raise ValueError, naming ``caller``, unless ``bias_init`` is one of :data:`BIAS_INITS`."""
    if bias_init not in BIAS_INITS:
        raise ValueError(
            f"{caller}: bias_init must be one of {', '.join(BIAS_INITS)}; got {bias_init!r}."
        )


class MLP(nn.Sequential):
    """Dense layers with an activation after each hidden one; the last layer gives logits.

    Build with :func:`build_mlp`. Children are named ``fc1, act1, ..., fcN, actN, logits``.
    ``config`` holds the :class:`MLPConfig` it was built from (None if the model was built
    directly from layers).
    """

    def __init__(self, layers: OrderedDict[str, nn.Module], config: MLPConfig | None = None):
        super().__init__(layers)
        self.config = config

    def representation_layers(self) -> list[str]:
        """Names of the modules whose outputs are the network's representations, in order.

        Every hidden activation, then ``logits``; the probe adds the input in front.
        """
        return [name for name, _ in self.named_children() if name.startswith("act")] + ["logits"]


def _init_linear(layer: nn.Linear, init: str, bias_init: str) -> None:
    if init == "glorot_uniform":
        nn.init.xavier_uniform_(layer.weight)
    elif init == "glorot_normal":
        nn.init.xavier_normal_(layer.weight)
    elif init == "kaiming_uniform":
        nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
    else:
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    if bias_init == "zeros":
        nn.init.zeros_(layer.bias)
    else:  # what nn.Linear.reset_parameters does: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        bound = 1.0 / math.sqrt(layer.in_features)
        nn.init.uniform_(layer.bias, -bound, bound)


def _build_layers(
    in_features: int,
    num_classes: int,
    hidden: list[int],
    activation: str | nn.Module | Callable[..., nn.Module],
    kwargs: dict[str, Any],
    init: str,
    bias_init: str,
) -> OrderedDict[str, nn.Module]:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    fan_in = in_features
    for index, units in enumerate(hidden, start=1):
        layers[f"fc{index}"] = nn.Linear(fan_in, units)
        layers[f"act{index}"] = get_activation(activation, **kwargs)
        fan_in = units
    layers["logits"] = nn.Linear(fan_in, num_classes)
    for module in layers.values():
        if isinstance(module, nn.Linear):
            _init_linear(module, init, bias_init)
    return layers


def mlp_memory_bytes(
    in_features: int, num_classes: int, hidden: Sequence[int], batch: int = 0
) -> dict[str, int]:
    """Estimated memory of an MLP (float32, bytes): its weights, and training it with Adam.

    ``weights`` counts every weight and bias once; ``training`` adds their gradients and Adam's
    two moment estimates (4 copies in all) and, for a batch of ``batch`` points, each layer's
    output before and after the activation kept for the backward pass plus as much again for
    their gradients. An estimate for refusing impossible runs early, not a measurement:
    PyTorch's allocator adds its own overhead.
    """
    sizes = [in_features, *hidden, num_classes]
    weights = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))
    kept = batch * (2 * sum(hidden) + num_classes)
    return {"weights": 4 * weights, "training": 4 * (4 * weights + 2 * kept)}


def build_mlp(
    in_features: int = 2,
    num_classes: int = 2,
    *,
    width: int = 15,
    depth: int = 10,
    widths: Sequence[int] | None = None,
    activation: str | nn.Module | Callable[..., nn.Module] = "relu",
    activation_kwargs: dict[str, Any] | None = None,
    init: str = "glorot_uniform",
    bias_init: str = "zeros",
    seed: int | None = None,
) -> MLP:
    """Build an MLP: ``depth - 1`` hidden (dense + activation) blocks and a dense logit layer.

    Parameters
    ----------
    in_features : int, default=2
        Input dimension.
    num_classes : int, default=2
        Output logits.
    width : int, default=15
        Hidden units per layer (the Naitzat study's main setting).
    depth : int, default=10
        Dense layers counting the output layer (Naitzat's L). The default gives 9 hidden layers
        of 15 units and 2 logits: 11 representations with the input.
    widths : sequence of int, optional
        Explicit hidden widths (overrides ``width`` and ``depth``); may be empty (a linear model).
    activation : str, nn.Module, class or factory, default="relu"
        Anything :func:`bettiscope.activations.get_activation` accepts; each hidden layer gets
        its own fresh copy.
    activation_kwargs : dict, optional
        Arguments for the activation's constructor.
    init : {"glorot_uniform", "glorot_normal", "kaiming_uniform", "kaiming_normal"}
        Weight initialisation (default Glorot uniform, as in the study).
    bias_init : {"zeros", "uniform"}, default="zeros"
        ``"zeros"`` as in the study; ``"uniform"`` draws each bias from
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's ``nn.Linear`` default. Zero biases let an
        even activation fold data that is symmetric about the origin at initialisation.
    seed : int, optional
        Seed for the weights, drawn from a private RNG stream (the global torch RNG is left as
        it was). None draws from the global torch RNG.

    Returns
    -------
    MLP
        With ``.config`` recording the recipe: an activation module instance by its registry
        name and constructor arguments, or as ``"custom:<name>"`` when it cannot be rebuilt
        from them (see :class:`MLPConfig`).

    Raises
    ------
    ValueError
        Sizes or a seed that are not ints (NumPy integers are ints; floats are never
        truncated), non-positive sizes, widths that are not a list, activation_kwargs that is
        not a dict, unknown init, bias_init or activation; weights that would not fit in the
        memory available now.

    Examples
    --------
    >>> model = build_mlp(3, 2)
    >>> [name for name, _ in model.named_children()][:4], model.representation_layers()[-1]
    (['fc1', 'act1', 'fc2', 'act2'], 'logits')
    """
    caller = "build_mlp"
    for name, value in (("in_features", in_features), ("num_classes", num_classes)):
        if not _is_int(value) or value < 1:
            raise ValueError(f"{caller}: {name} must be a positive int; got {value!r}.")
    in_features, num_classes = int(in_features), int(num_classes)
    if widths is None:
        if not _is_int(width) or width < 1:
            raise ValueError(f"{caller}: width must be a positive int; got {width!r}.")
        if not _is_int(depth) or depth < 1:
            raise ValueError(
                f"{caller}: depth must be an int >= 1 (dense layers counting the output layer); "
                f"got {depth!r}."
            )
        width, depth = int(width), int(depth)
        hidden = [width] * (depth - 1)
    else:
        if isinstance(widths, (str, bytes, Mapping)) or not isinstance(widths, Iterable):
            raise ValueError(
                f"{caller}: widths must be a list of hidden-layer widths, e.g. [15, 15] "
                f"(or None to use width and depth); got {widths!r}."
            )
        given = list(widths)
        if not all(_is_int(w) for w in given):
            raise ValueError(
                f"{caller}: every hidden width must be an int; got {given!r}. Round them "
                "yourself: widths are never truncated."
            )
        hidden = [int(w) for w in given]
        if any(w < 1 for w in hidden):
            raise ValueError(f"{caller}: every hidden width must be >= 1; got {hidden}.")
    if init not in INITS:
        raise ValueError(f"{caller}: init must be one of {', '.join(INITS)}; got {init!r}.")
    check_bias_init(bias_init, caller)
    if seed is not None and (not _is_int(seed) or not -(2**63) <= seed < 2**64):
        raise ValueError(f"{caller}: seed must be None or an int in [-2**63, 2**64); got {seed!r}.")
    if activation_kwargs is not None and not (
        isinstance(activation_kwargs, Mapping)
        and all(isinstance(k, str) for k in activation_kwargs)
    ):
        raise ValueError(
            f"{caller}: activation_kwargs must be a dict of constructor arguments by name, "
            f"e.g. {{'slope': 0.1}}; got {activation_kwargs!r}."
        )
    kwargs = dict(activation_kwargs or {})
    get_activation(activation, **kwargs)  # fail early, with the registry's message
    check_memory(
        f"{caller}: the weights of {len(hidden)} hidden layers of widths up to "
        f"{max(hidden, default=0):,}",
        mlp_memory_bytes(in_features, num_classes, hidden)["weights"],
        "Use a smaller width or depth.",
    )
    if seed is None:
        layers = _build_layers(
            in_features, num_classes, hidden, activation, kwargs, init, bias_init
        )
    else:
        # a private RNG stream: the same seed gives the same weights, the caller's RNG is untouched
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            layers = _build_layers(
                in_features, num_classes, hidden, activation, kwargs, init, bias_init
            )
    recorded_activation, recorded_kwargs = activation_spec(activation, kwargs)
    config = MLPConfig(
        in_features=in_features,
        num_classes=num_classes,
        width=width if widths is None else (max(hidden) if hidden else 0),
        depth=len(hidden) + 1,
        widths=None if widths is None else hidden,
        activation=recorded_activation,
        activation_kwargs=recorded_kwargs,
        init=init,
        bias_init=bias_init,
    )
    return MLP(layers, config)


def _is_int(value: Any) -> bool:
    """An int or NumPy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def mlp_config_dict(model: MLP) -> dict[str, Any] | None:
    """The model's :class:`MLPConfig` as a dict (for result files), or None."""
    return None if model.config is None else asdict(model.config)

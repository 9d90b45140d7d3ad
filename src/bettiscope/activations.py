"""Activation functions for the topology study, each an ``nn.Module``, in a registry by name.

The registry :data:`ACTIVATIONS` maps a name to a factory (usually the module's class) and
:func:`get_activation` returns a *fresh* module each call, so every layer of a network gets its own
copy (and its own parameters, for learnable activations such as PReLU or ParametricSplit).

Families
--------
* Standard: ``relu``, ``leaky_relu`` (negative slope 0.2 by default, as in the Naitzat study),
  ``tanh``, ``sigmoid``, ``gelu``, ``silu``, ``prelu``.
* Topology-motivated competitors (formulas from the convergence protocol):
  ``smooth_split`` x + c tanh(alpha x) (Snopov & Musin 2025), ``parametric_split`` (learnable
  a, b; Snopov & Musin 2025), ``cone`` 1 - |z - 1| and ``parabolic_cone`` z (2 - z)
  (Noel & Oswal 2024). Default constants of the split family are bettiscope's choices (see the
  class docstrings); the cited papers' own defaults were not available.
* Candidates for bettiscope's own topology-simplifying activation (``fold``, ``tent``,
  ``dead_zone``) and ``proposed`` = ``fold`` with slope 1, i.e. ``|x|``, the candidate chosen
  (and frozen) by the screening experiment in ``docs/activation.md``. The paper's own activation
  (Kochar et al. 2021) is not public; the proposed activation is bettiscope's choice and must
  never be reported as the paper's formula.

Users may pass their own module, a module class, or a factory (e.g. ``functools.partial``) to
:func:`get_activation`, add a name with :func:`register_activation`, or name a class by its
import path (``"my_package.my_module.Snake(alpha=2)"``), which also works on the command line
and in worker processes. :class:`Elementwise` turns a plain tensor function into a module.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import re
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 (the PyTorch convention)

__all__ = [
    "ACTIVATIONS",
    "Cone",
    "DeadZone",
    "Elementwise",
    "Fold",
    "LeakyReLU",
    "ParabolicCone",
    "ParametricSplit",
    "Proposed",
    "SmoothSplit",
    "Tent",
    "activation_name",
    "get_activation",
    "parse_activation",
    "register_activation",
    "split_activation_list",
]


class LeakyReLU(nn.LeakyReLU):
    """Leaky ReLU with the Naitzat study's negative slope 0.2 as the default.

    ``f(x) = x`` for ``x >= 0`` and ``slope * x`` below. ``slope`` : float, default=0.2.
    """

    def __init__(self, slope: float = 0.2) -> None:
        super().__init__(negative_slope=float(slope))


class SmoothSplit(nn.Module):
    """SmoothSplit (Snopov & Musin 2025): ``f(x) = x + c * tanh(alpha * x)``.

    A smooth version of the discontinuous Split activation, which tears the line at 0 (pulls
    points on either side apart). With ``c > 0`` it is injective and increasing, slope
    ``1 + c * alpha`` at 0.

    Parameters
    ----------
    c : float, default=0.5
        Size of the split (output gap between the two sides far from 0). bettiscope's default.
    alpha : float, default=5.0
        Sharpness of the split (1 / width of the transition). bettiscope's default.
    """

    def __init__(self, c: float = 0.5, alpha: float = 5.0) -> None:
        super().__init__()
        self.c = float(c)
        self.alpha = float(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c * torch.tanh(self.alpha * x)

    def extra_repr(self) -> str:
        return f"c={self.c}, alpha={self.alpha}"


class ParametricSplit(nn.Module):
    """ParametricSplit (Snopov & Musin 2025), learnable scalars ``a`` and ``b``.

    ::

        f(x) = b * x + b * cos(a) - sin(a)    for x <= -cos(a)
               x * tan(a)                      for |x| < cos(a)
               x + sin(a) - cos(a)             for x >= cos(a)

    Continuous for every ``a`` and ``b`` (both pieces meet at ``+-sin(a)``). ``a`` sets the
    width ``2 cos(a)`` and slope ``tan(a)`` of the middle piece, ``b`` the slope on the left.

    Parameters
    ----------
    a : float, default=0.5
        Initial angle in radians (``tan(0.5) = 0.55``). bettiscope's default.
    b : float, default=0.2
        Initial left slope, as leaky ReLU's 0.2. bettiscope's default.
    learnable : bool, default=True
        Register ``a`` and ``b`` as parameters (trained with the network).
    """

    def __init__(self, a: float = 0.5, b: float = 0.2, *, learnable: bool = True) -> None:
        super().__init__()
        a_t = torch.tensor(float(a))
        b_t = torch.tensor(float(b))
        if learnable:
            self.a = nn.Parameter(a_t)
            self.b = nn.Parameter(b_t)
        else:
            self.register_buffer("a", a_t)
            self.register_buffer("b", b_t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cos_a, sin_a = torch.cos(self.a), torch.sin(self.a)
        left = self.b * x + self.b * cos_a - sin_a
        middle = x * torch.tan(self.a)
        right = x + sin_a - cos_a
        return torch.where(x <= -cos_a, left, torch.where(x >= cos_a, right, middle))

    def extra_repr(self) -> str:
        return f"a={float(self.a.detach()):.4g}, b={float(self.b.detach()):.4g}"


class Cone(nn.Module):
    """Cone (Noel & Oswal 2024): ``f(z) = 1 - |z - 1|``; folds the line at ``z = 1``."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return 1.0 - torch.abs(z - 1.0)


class ParabolicCone(nn.Module):
    """Parabolic-Cone (Noel & Oswal 2024): ``f(z) = z * (2 - z)``; folds the line at ``z = 1``."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * (2.0 - z)


class Fold(nn.Module):
    """Folded ReLU (bettiscope candidate): ``f(x) = max(x, -slope * x)``.

    Folds the negative half-line onto the positive one, shrunk by ``slope``: every output
    value ``y > 0`` has two preimages (``y`` and ``-y / slope``), so the map glues regions
    together as ReLU does, but unlike ReLU no input has zero gradient (``|f'| >= slope``).
    ``slope=1`` gives ``|x|``; ``slope=0`` gives ReLU.

    Parameters
    ----------
    slope : float, default=0.5
        Slope of the folded (negative) side, in [0, 1].
    """

    def __init__(self, slope: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= float(slope) <= 1.0:
            raise ValueError(f"Fold: slope must be in [0, 1]; got {slope!r}.")
        self.slope = float(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # leaky ReLU with a negative slope is exactly max(x, -slope * x), as one fused kernel
        # (~25x faster forward + backward on CPU than torch.maximum of two tensors)
        return F.leaky_relu(x, negative_slope=-self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"


class Proposed(Fold):
    """bettiscope's proposed topology-simplifying activation: ``f(x) = max(x, -x) = |x|``.

    The :class:`Fold` family at ``slope=1``, chosen by the screening experiment documented in
    ``docs/activation.md`` (tuning seeds only; frozen before any evaluation run). It is
    bettiscope's own choice, NOT the formula of Kochar et al. (2021), which is not public.

    Why: every output value has two preimages (the map is non-injective everywhere but at 0), so
    each layer glues pairs of regions together, which can merge components and close loops as
    ReLU's collapse does, while the gradient is +-1 everywhere: no unit can die, unlike ReLU.
    The absolute value is a known activation; the contribution here is the measured rationale,
    not the formula.

    Parameters
    ----------
    slope : float, default=1.0
        Frozen default; other values give the rest of the Fold family.
    """

    def __init__(self, slope: float = 1.0) -> None:
        super().__init__(slope=slope)


class Tent(nn.Module):
    """Tent ReLU (bettiscope candidate): ``f(x) = relu(x) - 2 * relu(x - peak)``.

    ReLU's collapse of the negative half-line plus a fold at ``x = peak``: values above the
    peak come back down (a tent, like Cone but with ReLU's flat left side). Gradient +-1 except
    on ``x < 0``.

    Parameters
    ----------
    peak : float, default=1.0
        Where the line folds.
    """

    def __init__(self, peak: float = 1.0) -> None:
        super().__init__()
        if not float(peak) > 0.0:
            raise ValueError(f"Tent: peak must be > 0; got {peak!r}.")
        self.peak = float(peak)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) - 2.0 * torch.relu(x - self.peak)

    def extra_repr(self) -> str:
        return f"peak={self.peak}"


class DeadZone(nn.Module):
    """Leaky dead-zone (bettiscope candidate): collapse the band ``|x| <= width`` to 0.

    ``f(x) = x - width`` above the band, ``slope * (x + width)`` below it, 0 inside. The band is
    squashed to one point on both sides of 0 (ReLU squashes only one side) while the leak keeps a
    gradient outside the band.

    Parameters
    ----------
    width : float, default=0.5
        Half-width of the collapsed band.
    slope : float, default=0.2
        Slope below the band.
    """

    def __init__(self, width: float = 0.5, slope: float = 0.2) -> None:
        super().__init__()
        if not float(width) >= 0.0:
            raise ValueError(f"DeadZone: width must be >= 0; got {width!r}.")
        self.width = float(width)
        self.slope = float(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x - self.width) - self.slope * torch.relu(-x - self.width)

    def extra_repr(self) -> str:
        return f"width={self.width}, slope={self.slope}"


class Elementwise(nn.Module):
    """Wrap a plain tensor function (e.g. ``torch.sin``) as a module.

    Parameters
    ----------
    fn : callable
        ``fn(x) -> Tensor`` of the same shape. Must be picklable (a named function, not a
        lambda) if the model is saved.
    name : str, optional
        Shown in ``repr``; default ``fn.__name__``.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], name: str | None = None):
        super().__init__()
        if not callable(fn):
            raise TypeError(f"Elementwise: fn must be callable; got {type(fn).__name__}.")
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", type(fn).__name__))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.name


#: Name -> factory returning a new module. ``proposed`` is the screened choice (docs/activation.md).
ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "prelu": nn.PReLU,
    "smooth_split": SmoothSplit,
    "parametric_split": ParametricSplit,
    "cone": Cone,
    "parabolic_cone": ParabolicCone,
    "fold": Fold,
    "tent": Tent,
    "dead_zone": DeadZone,
    # frozen after the screening on tuning seeds (docs/activation.md): Fold with slope 1, |x|
    "proposed": Proposed,
}


def register_activation(
    name: str, factory: Callable[..., nn.Module], *, overwrite: bool = False
) -> None:
    """Add an activation to :data:`ACTIVATIONS` under ``name``.

    Parameters
    ----------
    name : str
        Registry key (used on the command line).
    factory : callable
        Called with keyword arguments, returns a new ``nn.Module``; usually the class.
    overwrite : bool, default=False
        Replace an existing entry instead of raising.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_activation: name must be a non-empty string; got {name!r}.")
    if not callable(factory):
        raise TypeError(f"register_activation: factory must be callable; got {factory!r}.")
    if name in ACTIVATIONS and not overwrite:
        raise ValueError(
            f"register_activation: {name!r} is already registered; pass overwrite=True to replace."
        )
    ACTIVATIONS[name] = factory


_SPEC = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*(?:\((.*)\))?\s*$", re.DOTALL)


def parse_activation(text: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name"`` or ``"name(key=value, ...)"`` into a registry key and keyword arguments.

    Values are Python literals (numbers, booleans, strings). Registry names are
    case-insensitive and ``-`` equals ``_``; a name with a dot is an import path
    (``"mypackage.activations.Snake"``, see :func:`get_activation`) and is kept as written.

    Examples
    --------
    >>> parse_activation("Fold(slope=0.25)")
    ('fold', {'slope': 0.25})
    >>> parse_activation("my_acts.Snake(alpha=2)")
    ('my_acts.Snake', {'alpha': 2})
    """
    match = _SPEC.match(text)
    if match is None or match.group(1).endswith(".") or ".." in match.group(1):
        raise ValueError(
            f"Cannot read activation {text!r}; write a name such as 'relu', a name with "
            "arguments such as 'fold(slope=0.25)', or an import path such as "
            "'my_package.my_module.MyActivation'."
        )
    name = match.group(1)
    if "." not in name:
        name = name.lower().replace("-", "_")
    kwargs: dict[str, Any] = {}
    if match.group(2) and match.group(2).strip():
        try:
            call = ast.parse(f"f({match.group(2)})", mode="eval").body
            if not isinstance(call, ast.Call) or call.args:
                raise ValueError
            for keyword in call.keywords:
                if keyword.arg is None:
                    raise ValueError
                kwargs[keyword.arg] = ast.literal_eval(keyword.value)
        except (SyntaxError, ValueError):
            raise ValueError(
                f"Cannot read the arguments of activation {text!r}; use key=value pairs with "
                "literal values, e.g. 'fold(slope=0.25)'."
            ) from None
    return name, kwargs


def split_activation_list(text: str) -> list[str]:
    """Split a comma-separated list of activation specs, keeping commas inside parentheses."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    items.append(current.strip())
    return [item for item in items if item]


def get_activation(
    name_or_module: str | nn.Module | Callable[..., nn.Module], **kwargs: Any
) -> nn.Module:
    """A new activation module from a registry name, a module, a module class or a factory.

    Parameters
    ----------
    name_or_module : str, nn.Module, nn.Module subclass or callable
        * a name in :data:`ACTIVATIONS` (case-insensitive, ``-`` and ``_`` equivalent),
          optionally with arguments: ``"fold(slope=0.25)"``;
        * an import path to a module class or factory, also with arguments:
          ``"my_package.my_module.Snake(alpha=2)"`` (the way to bring your own activation to
          the command line and to worker processes, which import it themselves);
        * a module instance: a deep copy is returned (each layer gets its own parameters);
        * a module class or factory (e.g. ``functools.partial(Fold, slope=0.3)``): called with
          ``kwargs``.
    **kwargs
        Constructor arguments, e.g. ``get_activation("leaky_relu", slope=0.1)``.

    Returns
    -------
    nn.Module
        A fresh module (never shared with an earlier call).

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones), an import path that does not import,
        keyword arguments the constructor does not take, or kwargs given with a module instance.
    TypeError
        The factory did not return an ``nn.Module``.

    Examples
    --------
    >>> get_activation("leaky_relu")
    LeakyReLU(negative_slope=0.2)
    >>> get_activation("fold", slope=0.25)
    Fold(slope=0.25)
    """
    if isinstance(name_or_module, str):
        key, given = parse_activation(name_or_module)
        kwargs = {**given, **kwargs}
        if "." in key:
            factory = _import_factory(key)
        elif key not in ACTIVATIONS:
            known = ", ".join(sorted(ACTIVATIONS))
            raise ValueError(
                f"Unknown activation {name_or_module!r}. Known activations: {known}. "
                "Pass an nn.Module instead, add one with register_activation(), or give "
                "an import path such as 'my_package.my_module.MyActivation'."
            )
        else:
            factory = ACTIVATIONS[key]
    elif isinstance(name_or_module, nn.Module):
        if kwargs:
            raise ValueError(
                "get_activation: keyword arguments apply to a name or class, not to a module "
                f"instance ({type(name_or_module).__name__}); configure the instance instead."
            )
        return copy.deepcopy(name_or_module)
    elif callable(name_or_module):
        factory = name_or_module
    else:
        raise TypeError(
            "get_activation: expected an activation name, an nn.Module, or a callable returning "
            f"one; got {type(name_or_module).__name__}."
        )
    try:
        module = factory(**kwargs)
    except TypeError as error:
        raise ValueError(
            f"get_activation({name_or_module!r}): bad arguments {kwargs}: {error}"
        ) from None
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"get_activation: {name_or_module!r} returned {type(module).__name__}, not an "
            "nn.Module. Wrap plain tensor functions with bettiscope.activations.Elementwise."
        )
    return module


def _import_factory(path: str) -> Callable[..., Any]:
    """The class or factory named by ``"package.module.Name"``, with the fix in every error."""
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(
            f"Activation {path!r}: cannot import module {module_name!r} ({error}). It must be "
            "importable wherever the model is built, worker processes included: install it, "
            "or put its folder on PYTHONPATH (e.g. PYTHONPATH=. for a file in this folder)."
        ) from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ValueError(
            f"Activation {path!r}: module {module_name!r} has no class or function named "
            f"{attribute!r}."
        )
    return factory


def activation_name(activation: str | nn.Module | Callable[..., nn.Module]) -> str:
    """A short name for records: the registry key, else the class or function name."""
    if isinstance(activation, str):
        name, kwargs = parse_activation(activation)
        if not kwargs:
            return name
        return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
    if isinstance(activation, Elementwise):
        return activation.name
    target = activation if isinstance(activation, type) else type(activation)
    if isinstance(activation, (nn.Module, type)):
        for name, factory in ACTIVATIONS.items():
            if factory is target and name != "proposed":
                return name
        return target.__name__
    if isinstance(activation, functools.partial):
        return activation_name(activation.func)
    return getattr(activation, "__name__", type(activation).__name__)

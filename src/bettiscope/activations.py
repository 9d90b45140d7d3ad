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
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 (the PyTorch convention)

from bettiscope._validation import Interval, check_param

__all__ = [
    "ACTIVATIONS",
    "CUSTOM_PREFIX",
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
    "activation_spec",
    "get_activation",
    "parse_activation",
    "register_activation",
    "split_activation_list",
]


def _real(caller: str, name: str, value: Any, interval: Interval) -> float:
    """``value`` as a float after checking it against ``interval`` (a one-element floating
    tensor counts as its number); the error names the class and the parameter."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        value = float(value.detach())
    check_param(name, value, interval, caller=caller)
    return float(value)


def _floating(x: torch.Tensor, caller: str) -> torch.Tensor:
    """``x`` itself if it is a floating-point tensor, else ``x`` cast to the default float
    dtype (integer and boolean inputs); complex input is refused."""
    if x.is_floating_point():
        return x
    if x.is_complex():
        raise TypeError(f"{caller}: expects a real-valued tensor; got dtype {x.dtype}.")
    return x.to(torch.get_default_dtype())


#: Any finite real number.
_FINITE = Interval(float)


class LeakyReLU(nn.LeakyReLU):
    """Leaky ReLU with the Naitzat study's negative slope 0.2 as the default.

    ``f(x) = x`` for ``x >= 0`` and ``slope * x`` below. ``slope`` : float, default=0.2 (also
    readable and settable as ``slope``; PyTorch's own name is ``negative_slope``). Integer or
    boolean input is cast to the default float dtype.
    """

    def __init__(self, slope: float = 0.2) -> None:
        super().__init__(negative_slope=_real("LeakyReLU", "slope", slope, _FINITE))

    @property
    def slope(self) -> float:
        """The negative slope (PyTorch's ``negative_slope``)."""
        return float(self.negative_slope)

    @slope.setter
    def slope(self, value: float) -> None:
        self.negative_slope = _real("LeakyReLU", "slope", value, _FINITE)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return super().forward(_floating(input, "LeakyReLU"))


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
        self.c = _real("SmoothSplit", "c", c, _FINITE)
        self.alpha = _real("SmoothSplit", "alpha", alpha, _FINITE)

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
        Register ``a`` and ``b`` as parameters (trained with the network); else buffers.
    """

    def __init__(self, a: float = 0.5, b: float = 0.2, *, learnable: bool = True) -> None:
        super().__init__()
        a_t = torch.tensor(_real("ParametricSplit", "a", a, _FINITE))
        b_t = torch.tensor(_real("ParametricSplit", "b", b, _FINITE))
        if not isinstance(learnable, bool):
            raise TypeError(f"ParametricSplit: learnable must be True or False; got {learnable!r}.")
        self.learnable = learnable
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

    Integer or boolean input is cast to the default float dtype (the fused kernel below has
    no integer version).

    Parameters
    ----------
    slope : float, default=0.5
        Slope of the folded (negative) side, in [0, 1].
    """

    def __init__(self, slope: float = 0.5) -> None:
        super().__init__()
        self.slope = _real(type(self).__name__, "slope", slope, Interval(float, 0.0, 1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # leaky ReLU with a negative slope is exactly max(x, -slope * x), as one fused kernel
        # (~25x faster forward + backward on CPU than torch.maximum of two tensors)
        return F.leaky_relu(_floating(x, type(self).__name__), negative_slope=-self.slope)

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
        self.peak = _real("Tent", "peak", peak, Interval(float, 0.0, None, closed="neither"))

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
        self.width = _real("DeadZone", "width", width, Interval(float, 0.0, None, closed="left"))
        self.slope = _real("DeadZone", "slope", slope, _FINITE)

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
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Elementwise: name must be a string or None; got {name!r}.")
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


#: Prefix of the name a config records for an activation that cannot be rebuilt from a name
#: (a user's module instance, a lambda, ...): ``"custom:Snake"``. :func:`get_activation` refuses
#: it with a message saying what to pass instead.
CUSTOM_PREFIX = "custom:"

_NAME = re.compile(r"^[A-Za-z_][\w-]*$")


def _normalise(name: str) -> str:
    """The registry form of a name: lower case, ``-`` as ``_`` (what lookups compare)."""
    return name.lower().replace("-", "_")


def _registered(name: str) -> str | None:
    """The key of :data:`ACTIVATIONS` that ``name`` means (case-insensitive, ``-`` = ``_``)."""
    if name in ACTIVATIONS:
        return name
    wanted = _normalise(name)
    return next((key for key in ACTIVATIONS if _normalise(key) == wanted), None)


def register_activation(
    name: str, factory: Callable[..., nn.Module], *, overwrite: bool = False
) -> None:
    """Add an activation to :data:`ACTIVATIONS` under ``name``.

    Names are case-insensitive and ``-`` equals ``_``, as in every lookup: the entry is stored
    under the normalised name (``"My-Act"`` as ``"my_act"``), and a name that matches an
    existing one that way (``"Relu"`` and ``"relu"``) is the same name.

    Parameters
    ----------
    name : str
        Registry key (used on the command line): letters, digits, ``_`` and ``-``, not
        starting with a digit or ``-``.
    factory : callable
        Called with keyword arguments, returns a new ``nn.Module``; usually the class.
    overwrite : bool, default=False
        Replace an existing entry of the same name instead of raising. Registering the same
        factory again under the same name is always allowed (it changes nothing).

    Raises
    ------
    ValueError
        ``name`` is not a valid name, or is already registered (case-insensitively) for
        another factory and ``overwrite`` is False.
    TypeError
        ``factory`` is not callable, or ``overwrite`` is not a bool.

    Examples
    --------
    >>> register_activation("My-Tanh", nn.Tanh)
    >>> get_activation("my_tanh")
    Tanh()
    >>> del ACTIVATIONS["my_tanh"]
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"register_activation: name must be a non-empty string of letters, digits, '_' and "
            f"'-' (no dots, spaces or parentheses), e.g. 'snake'; got {name!r}."
        )
    if not callable(factory):
        raise TypeError(f"register_activation: factory must be callable; got {factory!r}.")
    if not isinstance(overwrite, bool):
        raise TypeError(f"register_activation: overwrite must be True or False; got {overwrite!r}.")
    key = _normalise(name)
    clashes = [existing for existing in ACTIVATIONS if _normalise(existing) == key]
    if clashes and not overwrite:
        if all(ACTIVATIONS[existing] is factory for existing in clashes):
            return  # the same entry again (e.g. a script run twice): nothing to change
        raise ValueError(
            f"register_activation: {name!r} is already registered (as {clashes[0]!r}; names "
            "are case-insensitive and '-' equals '_'); pass overwrite=True to replace it, or "
            "choose another name."
        )
    for existing in clashes:
        if existing != key:
            del ACTIVATIONS[existing]
    ACTIVATIONS[key] = factory  # an existing key keeps its place


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
          ``kwargs`` (keyword arguments only). A plain tensor function such as ``torch.relu``
          is not a factory: wrap it as ``Elementwise(torch.relu)``.
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
        keyword arguments the constructor does not take (the message lists those it takes),
        a factory that cannot be called with keyword arguments (e.g. a plain tensor function),
        argument values the constructor refuses, kwargs given with a module instance, or a
        ``"custom:<name>"`` record (see :func:`activation_spec`).
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
        if name_or_module.startswith(CUSTOM_PREFIX):
            what = name_or_module[len(CUSTOM_PREFIX) :]
            raise ValueError(
                f"get_activation: {name_or_module!r} records a user's activation ({what}) that "
                "cannot be rebuilt from its name; pass the module, its class or an import path "
                f"such as 'my_package.my_module.{what}', or add it with register_activation()."
            )
        key, given = parse_activation(name_or_module)
        kwargs = {**given, **kwargs}
        registered = _registered(key)
        if "." in key:
            factory = _import_factory(key)
        elif registered is None:
            known = ", ".join(sorted(ACTIVATIONS))
            raise ValueError(
                f"Unknown activation {name_or_module!r}. Known activations: {known}. "
                "Pass an nn.Module instead, add one with register_activation(), or give "
                "an import path such as 'my_package.my_module.MyActivation'."
            )
        else:
            factory = ACTIVATIONS[registered]
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
        takes = _parameter_names(factory)
        hint = f" It takes: {', '.join(takes)}." if takes else ""
        shown = repr(name_or_module)
        if not isinstance(name_or_module, (str, type, functools.partial)):
            shown = activation_name(name_or_module)
            hint += (
                " A factory is called with keyword arguments only and returns a new nn.Module; "
                f"if {shown} is a plain tensor function (it takes the tensor), wrap it: "
                f"bettiscope.activations.Elementwise({shown})."
            )
        raise ValueError(
            f"get_activation({shown}): bad arguments {kwargs}: {str(error).rstrip('.')}.{hint}"
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


def _parameter_names(factory: Callable[..., Any]) -> list[str]:
    """The keyword parameters ``factory`` takes, for messages (empty if not inspectable)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in parameters if p.kind in kinds]


def activation_name(activation: str | nn.Module | Callable[..., nn.Module]) -> str:
    """A short name for labels: the registry key, else the class or function name.

    For a string the arguments it spells are kept (``"fold(slope=0.25)"``); for a module,
    class or factory only the family is named (``Fold(slope=0.25)`` gives ``"fold"``): use
    :func:`activation_spec` for a record that rebuilds the module.
    """
    if isinstance(activation, str):
        name, kwargs = parse_activation(activation)
        if "." not in name:
            name = _registered(name) or name
        if not kwargs:
            return name
        return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
    if isinstance(activation, Elementwise):
        return activation.name
    target = activation if isinstance(activation, type) else type(activation)
    if isinstance(activation, (nn.Module, type)):
        for name, factory in ACTIVATIONS.items():
            if factory is target:
                return name
        return target.__name__
    if isinstance(activation, functools.partial):
        return activation_name(activation.func)
    return getattr(activation, "__name__", type(activation).__name__)


def activation_spec(
    activation: str | nn.Module | Callable[..., nn.Module],
    kwargs: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The ``(activation, activation_kwargs)`` a config records for what was passed.

    ``get_activation(name, **kwargs)`` on the result rebuilds the activation (a fresh copy for
    a module instance), or refuses clearly when it cannot be rebuilt from a name.

    Parameters
    ----------
    activation : str, nn.Module, class or factory
        What :func:`get_activation` was given.
    kwargs : mapping, optional
        The keyword arguments it was given.

    Returns
    -------
    name : str
        * a string: as :func:`activation_name` spells it (``"fold(slope=0.25)"``);
        * a module instance of a registered class: the registry name, with its constructor
          arguments that differ from the defaults read back from the instance
          (``Fold(slope=0.25)`` gives ``("fold", {"slope": 0.25})``), checked by rebuilding
          it (parameters, buffers and settings must match);
        * a registered class or factory, or a ``functools.partial`` of one: the registry name,
          with the partial's keywords;
        * another class or factory that imports back under its own name: its import path;
        * anything else (a module whose state cannot be rebuilt, e.g. trained PReLU weights,
          a class that is not registered, an :class:`Elementwise`, a lambda):
          ``"custom:<name>"`` (:data:`CUSTOM_PREFIX`), which :func:`get_activation` refuses.
    kwargs : dict
        Constructor arguments to record (empty for a custom activation).

    Examples
    --------
    >>> activation_spec(Fold(slope=0.25))
    ('fold', {'slope': 0.25})
    >>> activation_spec(Proposed())
    ('proposed', {})
    >>> activation_spec(Elementwise(torch.sin))
    ('custom:sin', {})
    """
    given = dict(kwargs or {})
    if isinstance(activation, str):
        return activation_name(activation), given
    if isinstance(activation, nn.Module):
        for name, factory in ACTIVATIONS.items():
            if factory is type(activation):
                recorded = _rebuild_kwargs(activation, factory)
                if recorded is not None:
                    return name, recorded
        return _custom(activation), {}
    if isinstance(activation, functools.partial):
        if activation.args:
            return _custom(activation), {}
        return activation_spec(activation.func, {**activation.keywords, **given})
    for name, factory in ACTIVATIONS.items():
        if factory is activation:
            return name, given
    path = _import_path(activation)
    if path is not None:
        return path, given
    return _custom(activation), {}


def _custom(activation: Any) -> str:
    """``"custom:<name>"``: the class or function name (an Elementwise's own name)."""
    if isinstance(activation, Elementwise):
        return CUSTOM_PREFIX + activation.name
    if isinstance(activation, functools.partial):
        return _custom(activation.func)
    if isinstance(activation, nn.Module):
        activation = type(activation)
    return CUSTOM_PREFIX + str(getattr(activation, "__name__", type(activation).__name__))


def _import_path(factory: Any) -> str | None:
    """``"package.module.Name"`` if importing it gives ``factory`` back, else None."""
    module_name = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", None)
    if not module_name or not qualname or "<" in qualname or module_name == "__main__":
        return None
    target: Any = sys.modules.get(module_name)  # where it was defined: imported already
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return f"{module_name}.{qualname}" if target is factory else None


def _rebuild_kwargs(module: nn.Module, factory: Callable[..., nn.Module]) -> dict[str, Any] | None:
    """Constructor arguments that rebuild ``module`` with ``factory``, or None if there are
    none that do (a value that is not read back, or state the constructor does not set)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    recorded: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            return None
        value = getattr(module, parameter.name, inspect.Parameter.empty)
        if value is inspect.Parameter.empty:
            if parameter.default is inspect.Parameter.empty:
                return None
            continue  # the default; the comparison below catches a difference
        default = parameter.default
        if isinstance(value, torch.Tensor):  # a scalar kept as a parameter or buffer
            if value.numel() != 1 or not value.is_floating_point():
                return None
            tensor, value = value.detach(), float(value.detach())
            if isinstance(default, float) and bool(tensor == torch.tensor(default).to(tensor)):
                continue  # the default (as stored: float32 0.2 is not the float 0.2)
        if not isinstance(value, (bool, int, float, str, type(None))):
            return None
        if type(value) is type(default) and value == default:
            continue  # a default stays implicit, as when the name alone was given
        recorded[parameter.name] = value
    # the global RNG stays as it was, whatever the constructor draws
    with torch.random.fork_rng(devices=[]):
        try:
            rebuilt = factory(**recorded)
        except Exception:  # any failure means "cannot rebuild", not an error of the caller
            return None
    return recorded if _same_module(module, rebuilt) else None


def _same_module(first: nn.Module, second: nn.Module) -> bool:
    """Same class, repr, settings, parameter and buffer names, and tensor values."""
    if type(first) is not type(second) or repr(first) != repr(second):
        return False
    if [n for n, _ in first.named_parameters()] != [n for n, _ in second.named_parameters()]:
        return False
    if [n for n, _ in first.named_buffers()] != [n for n, _ in second.named_buffers()]:
        return False
    plain = (bool, int, float, str, type(None))

    def settings(module: nn.Module) -> dict[str, Any]:
        return {
            k: v
            for k, v in vars(module).items()
            if not k.startswith("_") and k != "training" and isinstance(v, plain)
        }

    if settings(first) != settings(second):
        return False
    state, other = first.state_dict(), second.state_dict()
    return state.keys() == other.keys() and all(
        state[k].dtype == other[k].dtype
        and state[k].shape == other[k].shape
        and state[k].device == other[k].device
        and bool(torch.equal(state[k], other[k]))
        for k in state
    )

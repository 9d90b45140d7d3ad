"""Activations: registry, formulas at known points, shapes, gradients, user-supplied modules."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from torch import nn

from bettiscope.activations import (
    ACTIVATIONS,
    Elementwise,
    Fold,
    ParametricSplit,
    activation_name,
    get_activation,
    register_activation,
)

REQUIRED = (
    "relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "gelu",
    "silu",
    "prelu",
    "smooth_split",
    "parametric_split",
    "cone",
    "parabolic_cone",
    "proposed",
)


def test_registry_has_every_required_name() -> None:
    assert set(REQUIRED) <= set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_shape_and_finite_gradients(name: str) -> None:
    module = get_activation(name)
    assert isinstance(module, nn.Module)
    x = torch.randn(7, 5, 3, requires_grad=True)
    y = module(x)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    for parameter in module.parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all()


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_call_gives_a_fresh_module(name: str) -> None:
    first, second = get_activation(name), get_activation(name)
    assert first is not second
    for p, q in zip(first.parameters(), second.parameters(), strict=True):
        assert p is not q


X = torch.tensor([-2.0, -0.5, 0.0, 0.5, 1.0, 3.0])


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("relu", {}, [0, 0, 0, 0.5, 1, 3]),
        ("leaky_relu", {}, [-0.4, -0.1, 0, 0.5, 1, 3]),
        ("leaky_relu", {"slope": 0.1}, [-0.2, -0.05, 0, 0.5, 1, 3]),
        ("cone", {}, [-2, -0.5, 0, 0.5, 1, -1]),
        ("parabolic_cone", {}, [-8, -1.25, 0, 0.75, 1, -3]),
        ("fold", {"slope": 0.5}, [1, 0.25, 0, 0.5, 1, 3]),
        ("fold", {"slope": 1.0}, [2, 0.5, 0, 0.5, 1, 3]),
        ("tent", {}, [0, 0, 0, 0.5, 1, -1]),
        ("dead_zone", {"width": 0.5, "slope": 0.2}, [-0.3, 0, 0, 0, 0.5, 2.5]),
        ("sigmoid", {}, [1 / (1 + math.exp(v)) for v in (2, 0.5, 0, -0.5, -1, -3)]),
    ],
)
def test_formula_at_known_points(name: str, kwargs: dict, expected: list[float]) -> None:
    y = get_activation(name, **kwargs)(X)
    assert torch.allclose(y, torch.tensor(expected, dtype=torch.float32), atol=1e-6)


def test_smooth_split_formula() -> None:
    module = get_activation("smooth_split", c=0.7, alpha=3.0)
    assert torch.allclose(module(X), X + 0.7 * torch.tanh(3.0 * X))


@pytest.mark.parametrize(("a", "b"), [(0.5, 0.2), (1.0, 0.7), (0.2, 1.5)])
def test_parametric_split_pieces_and_continuity(a: float, b: float) -> None:
    module = ParametricSplit(a=a, b=b)
    c, s = math.cos(a), math.sin(a)
    points = torch.tensor([-c - 1.0, -c / 2, 0.0, c / 2, c + 1.0])
    expected = torch.tensor(
        [b * (-c - 1) + b * c - s, -c / 2 * math.tan(a), 0.0, c / 2 * math.tan(a), c + 1 + s - c]
    )
    assert torch.allclose(module(points).detach(), expected, atol=1e-5)
    for edge in (-c, c):  # the pieces meet: no jump at +-cos(a)
        eps = 1e-4
        around = module(torch.tensor([edge - eps, edge + eps])).detach()
        assert abs(float(around[1] - around[0])) < 1e-3


def test_parametric_split_learns_a_and_b() -> None:
    module = get_activation("parametric_split")
    names = {name for name, _ in module.named_parameters()}
    assert names == {"a", "b"}
    frozen = ParametricSplit(learnable=False)
    assert list(frozen.parameters()) == []


def test_fold_is_non_injective_without_dead_gradient() -> None:
    module = Fold(slope=0.5)
    assert float(module(torch.tensor(-2.0))) == float(module(torch.tensor(1.0)))
    x = torch.linspace(-3, 3, 61, requires_grad=True)
    module(x).sum().backward()
    assert (x.grad.abs() >= 0.5).all()


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"Unknown activation 'swishy'.*relu"):
        get_activation("swishy")


def test_names_are_forgiving_about_case_and_dashes() -> None:
    assert isinstance(get_activation("Leaky-ReLU"), nn.LeakyReLU)


def test_bad_keyword_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="bad arguments"):
        get_activation("relu", slope=3)


def test_bad_constructor_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="slope must be in"):
        get_activation("fold", slope=2.0)


def test_user_module_instance_is_copied() -> None:
    mine = nn.PReLU(init=0.3)
    got = get_activation(mine)
    assert got is not mine and float(got.weight.detach()) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="module instance"):
        get_activation(mine, init=0.1)


def test_user_class_and_partial_family() -> None:
    assert isinstance(get_activation(nn.Hardtanh, min_val=-0.5), nn.Hardtanh)
    family = functools.partial(Fold, slope=0.25)
    assert get_activation(family).slope == 0.25
    assert activation_name(family) == "fold"


def test_factory_must_return_a_module() -> None:
    with pytest.raises(TypeError, match=r"not an nn\.Module"):
        get_activation(lambda: torch.sin)
    with pytest.raises(TypeError, match="expected an activation name"):
        get_activation(3)


def test_elementwise_wraps_a_function() -> None:
    module = get_activation(Elementwise(torch.sin))
    assert torch.allclose(module(X), torch.sin(X))
    assert activation_name(module) == "sin"


def test_register_activation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ACTIVATIONS, "placeholder", nn.ReLU)
    with pytest.raises(ValueError, match="already registered"):
        register_activation("placeholder", nn.Tanh)
    register_activation("placeholder", nn.Tanh, overwrite=True)
    assert isinstance(get_activation("placeholder"), nn.Tanh)


def test_activation_name() -> None:
    assert activation_name(nn.ReLU()) == "relu"
    assert activation_name("Leaky-ReLU") == "leaky_relu"
    assert activation_name(nn.Hardtanh()) == "Hardtanh"


def test_parametrised_names() -> None:
    from bettiscope.activations import parse_activation, split_activation_list

    assert parse_activation("Fold(slope=0.25)") == ("fold", {"slope": 0.25})
    assert parse_activation("relu") == ("relu", {})
    assert get_activation("fold(slope=0.25)").slope == 0.25
    assert get_activation("dead_zone(width=0.1, slope=0.3)").width == 0.1
    assert activation_name("Fold( slope = 0.25 )") == "fold(slope=0.25)"
    assert split_activation_list("relu, dead_zone(width=0.1, slope=0.3),tanh") == [
        "relu",
        "dead_zone(width=0.1, slope=0.3)",
        "tanh",
    ]
    with pytest.raises(ValueError, match="Cannot read the arguments"):
        get_activation("fold(0.25)")
    with pytest.raises(ValueError, match="Cannot read activation"):
        get_activation("fold slope")


MY_ACTIVATIONS = """
import torch
from torch import nn


class Snake(nn.Module):
    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return x + torch.sin(self.alpha * x) ** 2 / self.alpha


not_a_factory = 3
"""


def test_an_import_path_names_a_user_class(tmp_path, monkeypatch) -> None:
    from bettiscope.activations import parse_activation

    (tmp_path / "my_acts.py").write_text(MY_ACTIVATIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert parse_activation("my_acts.Snake(alpha=2)") == ("my_acts.Snake", {"alpha": 2})
    snake = get_activation("my_acts.Snake(alpha=2)")
    assert type(snake).__name__ == "Snake" and snake.alpha == 2
    x = torch.tensor([0.0, 1.0])
    assert torch.allclose(snake(x), x + torch.sin(2 * x) ** 2 / 2)
    assert get_activation("my_acts.Snake") is not get_activation("my_acts.Snake")
    assert activation_name("my_acts.Snake") == "my_acts.Snake"  # case kept: it is a path
    with pytest.raises(ValueError, match=r"cannot import module 'no_such_acts'.*PYTHONPATH"):
        get_activation("no_such_acts.Snake")
    with pytest.raises(ValueError, match="has no class or function named 'Snek'"):
        get_activation("my_acts.Snek")
    with pytest.raises(ValueError, match="has no class or function named 'not_a_factory'"):
        get_activation("my_acts.not_a_factory")
    with pytest.raises(ValueError, match="bad arguments"):
        get_activation("my_acts.Snake(beta=1)")
    for bad in ("my_acts.", "my_acts..Snake"):
        with pytest.raises(ValueError, match="Cannot read activation"):
            get_activation(bad)


def test_proposed_is_the_frozen_fold() -> None:
    module = get_activation("proposed")
    x = torch.linspace(-3, 3, 13)
    assert torch.equal(module(x), x.abs())  # max(x, -x) = |x|
    assert get_activation("proposed", slope=0.5).slope == 0.5  # the rest of the family


def test_fold_matches_its_formula_and_gradient() -> None:
    x = torch.randn(200, requires_grad=True)
    for slope in (0.0, 0.3, 1.0):
        y = Fold(slope=slope)(x)
        assert torch.allclose(y, torch.maximum(x, -slope * x))
        (grad,) = torch.autograd.grad(y.sum(), x)
        assert torch.allclose(grad, torch.where(x > 0, 1.0, -slope))

"""Activations: registry, formulas at known points, shapes, gradients, user-supplied modules."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from torch import nn

from bettiscope.activations import (
    ACTIVATIONS,
    DeadZone,
    Elementwise,
    Fold,
    LeakyReLU,
    ParametricSplit,
    Proposed,
    SmoothSplit,
    Tent,
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
    with pytest.raises(
        ValueError, match=r"'slope' parameter of Fold must be a float in .*\[0, 1\]"
    ):
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


@pytest.fixture
def registry():
    """The registry, restored after the test (it is module state)."""
    saved = dict(ACTIVATIONS)
    yield ACTIVATIONS
    ACTIVATIONS.clear()
    ACTIVATIONS.update(saved)


def test_registered_names_are_case_insensitive_like_lookups(registry) -> None:
    register_activation("MyAct", nn.Tanh)
    assert "myact" in registry and "MyAct" not in registry  # stored normalised
    assert isinstance(get_activation("MyAct"), nn.Tanh)
    assert isinstance(get_activation("my-act".replace("-", "")), nn.Tanh)
    register_activation("Dash-Act", nn.Sigmoid)
    assert isinstance(get_activation("dash_act"), nn.Sigmoid)
    assert activation_name("Dash-Act") == "dash_act"
    # a name that clashes with a registered one only by case is the same name: refused
    with pytest.raises(ValueError, match=r"'Relu' is already registered \(as 'relu'.*overwrite"):
        register_activation("Relu", nn.Tanh)
    assert isinstance(get_activation("Relu"), nn.ReLU)
    register_activation("myact", nn.Tanh)  # the same factory again changes nothing
    register_activation("Relu", nn.Tanh, overwrite=True)
    assert isinstance(get_activation("relu"), nn.Tanh) and "Relu" not in registry


def test_an_entry_added_to_the_dict_directly_is_found(registry) -> None:
    registry["CamelAct"] = nn.Tanh  # not normalised: lookups still match it
    assert isinstance(get_activation("CamelAct"), nn.Tanh)
    assert isinstance(get_activation("camelact"), nn.Tanh)
    with pytest.raises(ValueError, match=r"already registered \(as 'CamelAct'"):
        register_activation("camelact", nn.ReLU)
    register_activation("camelact", nn.ReLU, overwrite=True)
    assert "CamelAct" not in registry and isinstance(get_activation("CamelAct"), nn.ReLU)


@pytest.mark.parametrize("name", ["", "my act", "pkg.Act", "act(x=1)", "1act", 3])
def test_register_refuses_names_that_cannot_be_looked_up(registry, name) -> None:
    with pytest.raises(ValueError, match="register_activation: name must be"):
        register_activation(name, nn.Tanh)


def test_register_overwrite_must_be_a_bool(registry) -> None:
    with pytest.raises(TypeError, match="overwrite must be True or False; got 'no'"):
        register_activation("relu", nn.Tanh, overwrite="no")
    assert registry["relu"] is nn.ReLU


def _rebuilt(name: str, kwargs: dict) -> nn.Module:
    return get_activation(name, **kwargs)


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (Fold(slope=0.25), ("fold", {"slope": 0.25})),
        (Fold(), ("fold", {})),
        (Proposed(), ("proposed", {})),
        (Proposed(slope=0.5), ("proposed", {"slope": 0.5})),
        (LeakyReLU(0.05), ("leaky_relu", {"slope": 0.05})),
        (DeadZone(width=0.1, slope=0.3), ("dead_zone", {"width": 0.1, "slope": 0.3})),
        (nn.GELU(approximate="tanh"), ("gelu", {"approximate": "tanh"})),
        (nn.PReLU(init=0.5), ("prelu", {"init": 0.5})),
        (nn.ReLU(), ("relu", {})),
    ],
)
def test_activation_spec_records_a_module_instance_faithfully(module, expected) -> None:
    from bettiscope.activations import activation_spec

    assert activation_spec(module) == expected
    rebuilt = _rebuilt(*expected)
    assert repr(rebuilt) == repr(module)
    x = torch.linspace(-2, 2, 9)
    assert torch.equal(rebuilt(x), module(x))


def test_activation_spec_keeps_frozen_parametric_split() -> None:
    from bettiscope.activations import activation_spec

    module = ParametricSplit(a=0.7, learnable=False)
    name, kwargs = activation_spec(module)
    rebuilt = _rebuilt(name, kwargs)
    assert name == "parametric_split" and kwargs["learnable"] is False
    assert list(rebuilt.parameters()) == [] and torch.equal(rebuilt.a, module.a)
    assert activation_spec(ParametricSplit()) == ("parametric_split", {})


def test_activation_spec_marks_what_cannot_be_rebuilt_from_a_name() -> None:
    from bettiscope.activations import CUSTOM_PREFIX, activation_spec

    trained = nn.PReLU()
    with torch.no_grad():
        trained.weight.fill_(0.7)  # learned weights: no constructor argument gives them
    cases = [
        (trained, "custom:PReLU"),
        (Elementwise(torch.sin), "custom:sin"),
        (nn.Hardtanh(), "custom:Hardtanh"),  # not a registered class
        (lambda: nn.ReLU(), "custom:<lambda>"),
    ]
    for activation, expected in cases:
        assert activation_spec(activation) == (expected, {})
        with pytest.raises(ValueError, match=r"records a user's activation .* cannot be rebuilt"):
            get_activation(expected)
    assert CUSTOM_PREFIX == "custom:"


def test_activation_spec_of_classes_and_partials() -> None:
    from bettiscope.activations import activation_spec

    assert activation_spec(functools.partial(Fold, slope=0.2)) == ("fold", {"slope": 0.2})
    assert activation_spec(Fold, {"slope": 0.3}) == ("fold", {"slope": 0.3})
    name, kwargs = activation_spec(nn.Hardtanh, {"min_val": -0.5})
    assert name == "torch.nn.modules.activation.Hardtanh"  # an import path rebuilds it
    assert get_activation(name, **kwargs).min_val == -0.5
    assert activation_spec("Fold(slope=0.25)") == ("fold(slope=0.25)", {})


def test_activation_spec_leaves_the_global_rng_alone(registry) -> None:
    from bettiscope.activations import activation_spec

    class Noisy(nn.Module):
        def __init__(self, scale: float = 1.0) -> None:
            super().__init__()
            self.scale = scale
            self.weight = nn.Parameter(torch.randn(1))  # draws at construction

    register_activation("noisy", Noisy)
    instance = Noisy()
    before = torch.get_rng_state()
    assert activation_spec(instance)[0] == "custom:Noisy"  # its draw cannot be rebuilt
    assert torch.equal(torch.get_rng_state(), before)


def test_activation_name_of_the_proposed_module() -> None:
    assert activation_name(Proposed()) == "proposed"
    assert activation_name(Proposed) == "proposed"
    assert activation_name(Fold(slope=0.25)) == "fold"


@pytest.mark.parametrize("function", [torch.relu, torch.sin, lambda x: x * 2])
def test_a_plain_tensor_function_is_told_to_use_elementwise(function) -> None:
    with pytest.raises(ValueError, match=r"wrap it: bettiscope\.activations\.Elementwise\("):
        get_activation(function)


def test_a_wrong_keyword_lists_the_ones_taken() -> None:
    with pytest.raises(ValueError, match=r"'negative_slope'.*It takes: slope\.$"):
        get_activation("leaky_relu", negative_slope=0.2)


@pytest.mark.parametrize("module", [Fold(), Proposed(), LeakyReLU()])
def test_integer_input_is_cast_to_float(module) -> None:
    y = module(torch.tensor([-2, 2]))
    assert y.dtype == torch.get_default_dtype()
    assert torch.equal(y, module(torch.tensor([-2.0, 2.0])))
    assert torch.equal(module(torch.tensor([True, False])), module(torch.tensor([1.0, 0.0])))
    with pytest.raises(TypeError, match="expects a real-valued tensor; got dtype torch.complex64"):
        module(torch.tensor([1j]))


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Fold(slope="abc"), ValueError, r"'slope' parameter of Fold .* Got 'abc'"),
        (lambda: Proposed(slope=2), ValueError, r"'slope' parameter of Proposed"),
        (lambda: Fold(slope=True), ValueError, r"'slope' parameter of Fold"),
        (lambda: LeakyReLU(slope=None), ValueError, r"'slope' parameter of LeakyReLU"),
        (lambda: SmoothSplit(c=math.nan), ValueError, r"'c' parameter of SmoothSplit"),
        (lambda: SmoothSplit(alpha="5"), ValueError, r"'alpha' parameter of SmoothSplit"),
        (lambda: ParametricSplit(a="x"), ValueError, r"'a' parameter of ParametricSplit"),
        (lambda: ParametricSplit(learnable="no"), TypeError, "learnable must be True or False"),
        (lambda: Tent(peak=0), ValueError, r"'peak' parameter of Tent .*\(0, inf\)"),
        (lambda: DeadZone(width=-1), ValueError, r"'width' parameter of DeadZone"),
        (lambda: DeadZone(slope="x"), ValueError, r"'slope' parameter of DeadZone"),
        (lambda: Elementwise(torch.sin, name=3), TypeError, "name must be a string or None"),
    ],
)
def test_constructor_arguments_are_checked_by_name(build, error, message) -> None:
    with pytest.raises(error, match=message):
        build()


def test_numpy_and_tensor_numbers_are_accepted() -> None:
    import numpy as np

    fold = Fold(slope=np.float64(0.25))
    assert fold.slope == 0.25 and type(fold.slope) is float
    assert Tent(peak=np.int64(2)).peak == 2.0
    assert Fold(slope=torch.tensor(0.5)).slope == 0.5
    leaky = LeakyReLU(0.1)
    leaky.slope = 0.3
    assert leaky.negative_slope == 0.3 and leaky.slope == 0.3

"""MLP builder: the Naitzat default shape, names, Glorot init, zero or uniform biases, seeds."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

from bettiscope.activations import Elementwise, Fold, LeakyReLU, Proposed
from bettiscope.models import MLP, build_mlp


def test_naitzat_default_shape_and_names() -> None:
    model = build_mlp(3, 2)
    assert isinstance(model, MLP)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(3, 15)] + [(15, 15)] * 8 + [
        (15, 2)
    ]
    names = [name for name, _ in model.named_children()]
    assert names[:2] == ["fc1", "act1"] and names[-3:] == ["fc9", "act9", "logits"]
    assert model.representation_layers() == [f"act{i}" for i in range(1, 10)] + ["logits"]
    assert model(torch.zeros(4, 3)).shape == (4, 2)
    assert model.config.depth == 10 and model.config.width == 15


def test_glorot_uniform_bounds_and_zero_biases() -> None:
    model = build_mlp(3, 2, width=40, depth=3, seed=0)
    for layer in (m for m in model.modules() if isinstance(m, nn.Linear)):
        bound = math.sqrt(6.0 / (layer.in_features + layer.out_features))
        assert layer.weight.abs().max() <= bound
        assert layer.weight.abs().max() > 0.8 * bound  # uniform fills the range
        assert torch.count_nonzero(layer.bias) == 0


def test_seed_makes_weights_reproducible_without_touching_global_rng() -> None:
    before = torch.get_rng_state()
    a, b = build_mlp(2, 2, seed=7), build_mlp(2, 2, seed=7)
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    c = build_mlp(2, 2, seed=8)
    assert not torch.equal(a.fc1.weight, c.fc1.weight)


def test_explicit_widths_and_linear_model() -> None:
    model = build_mlp(2, 3, widths=[4, 6])
    assert [m.out_features for m in model.modules() if isinstance(m, nn.Linear)] == [4, 6, 3]
    linear = build_mlp(2, 2, widths=[])
    assert linear.representation_layers() == ["logits"]


def test_each_layer_gets_its_own_activation_parameters() -> None:
    model = build_mlp(2, 2, depth=4, activation="prelu")
    weights = [m.weight for m in model.modules() if isinstance(m, nn.PReLU)]
    assert len(weights) == 3 and len({id(w) for w in weights}) == 3


def test_custom_activation_module_and_kwargs() -> None:
    model = build_mlp(2, 2, depth=3, activation=Fold(slope=0.3))
    assert model.act1.slope == 0.3 and model.act1 is not model.act2
    model = build_mlp(2, 2, depth=3, activation="leaky_relu", activation_kwargs={"slope": 0.1})
    assert model.act2.negative_slope == 0.1
    assert model.config.activation == "leaky_relu"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0}, "width must be a positive int"),
        ({"depth": 0}, "depth must be an int >= 1"),
        ({"widths": [3, 0]}, "every hidden width must be >= 1"),
        ({"init": "orthogonal"}, "init must be one of"),
        ({"bias_init": "ones"}, "bias_init must be one of zeros, uniform"),
        ({"activation": "nope"}, "Unknown activation 'nope'"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_mlp(2, 2, **kwargs)


def test_bad_in_features() -> None:
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        build_mlp(0, 2)


def test_uniform_biases_follow_pytorch_default_bounds_and_seed() -> None:
    model = build_mlp(3, 2, width=40, depth=3, bias_init="uniform", seed=0)
    for layer in (model.fc1, model.fc2, model.logits):
        bound = 1.0 / math.sqrt(layer.in_features)
        assert 0 < layer.bias.abs().max() <= bound
    assert model.fc2.bias.abs().max() > 0.8 / math.sqrt(40)  # 40 draws fill the range
    again = build_mlp(3, 2, width=40, depth=3, bias_init="uniform", seed=0)
    assert all(
        torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters(), strict=True)
    )
    assert model.config.bias_init == "uniform" and build_mlp(2, 2).config.bias_init == "zeros"
    # the first layer's weights are drawn before any bias: the same as with zero biases
    zeros = build_mlp(3, 2, width=40, depth=3, seed=0)
    assert torch.equal(zeros.fc1.weight, model.fc1.weight)


def test_zero_biases_let_an_even_activation_glue_mirror_points_and_uniform_ones_do_not() -> None:
    points = torch.randn(50, 3)
    folded = build_mlp(3, 2, depth=3, activation="proposed", seed=1)
    assert torch.allclose(folded[:2](points), folded[:2](-points))  # |W x| = |W (-x)|
    unfolded = build_mlp(3, 2, depth=3, activation="proposed", bias_init="uniform", seed=1)
    assert not torch.allclose(unfolded[:2](points), unfolded[:2](-points))
    relu = build_mlp(3, 2, depth=3, activation="relu", seed=1)
    assert not torch.allclose(relu[:2](points), relu[:2](-points))


def test_memory_estimate_counts_weights_adam_state_and_kept_activations() -> None:
    from bettiscope.models.mlp import mlp_memory_bytes

    model = build_mlp(3, 2, width=50, depth=10)
    weights = sum(p.numel() for p in model.parameters())
    estimate = mlp_memory_bytes(3, 2, [50] * 9, batch=100)
    assert estimate["weights"] == 4 * weights
    # weights, gradients, two Adam moments; per point 2 x (9 x 50) + 2 kept values, twice
    assert estimate["training"] == 4 * (4 * weights + 2 * 100 * (2 * 450 + 2))


def test_weights_that_cannot_fit_are_refused_before_allocation() -> None:
    with pytest.raises(ValueError, match=r"would need about 10\.9 TiB.*smaller width or depth"):
        build_mlp(2, 2, width=10**6, depth=5)


def _state_equal(a: nn.Module, b: nn.Module) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize(
    ("activation", "name", "kwargs"),
    [
        (Fold(slope=0.25), "fold", {"slope": 0.25}),
        (LeakyReLU(0.05), "leaky_relu", {"slope": 0.05}),
        (Proposed(), "proposed", {}),
        (functools.partial(Fold, slope=0.2), "fold", {"slope": 0.2}),
        (nn.PReLU(init=0.4), "prelu", {"init": 0.4}),
    ],
)
def test_an_activation_instance_is_recorded_so_the_config_rebuilds_it(
    activation, name, kwargs
) -> None:
    model = build_mlp(2, 2, depth=3, activation=activation, seed=0)
    cfg = model.config
    assert (cfg.activation, cfg.activation_kwargs) == (name, kwargs)
    again = build_mlp(
        cfg.in_features,
        cfg.num_classes,
        width=cfg.width,
        depth=cfg.depth,
        activation=cfg.activation,
        activation_kwargs=cfg.activation_kwargs,
        seed=0,
    )
    assert repr(again) == repr(model) and _state_equal(again, model)


def test_a_custom_activation_is_marked_and_refused_when_rebuilt() -> None:
    model = build_mlp(2, 2, depth=3, activation=Elementwise(torch.sin))
    assert (model.config.activation, model.config.activation_kwargs) == ("custom:sin", {})
    with pytest.raises(ValueError, match="cannot be rebuilt from its name"):
        build_mlp(2, 2, activation=model.config.activation)
    hard = build_mlp(2, 2, depth=3, activation=nn.Hardtanh, activation_kwargs={"min_val": -0.5})
    assert hard.config.activation == "torch.nn.modules.activation.Hardtanh"  # an import path
    cfg = hard.config
    again = build_mlp(
        2, 2, depth=3, activation=cfg.activation, activation_kwargs=cfg.activation_kwargs
    )
    assert again.act1.min_val == -0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"widths": [2.7, 3.9]}, r"every hidden width must be an int; got \[2\.7, 3\.9\]"),
        ({"widths": [4.0]}, r"every hidden width must be an int"),
        ({"widths": [3, True]}, r"every hidden width must be an int"),
        ({"widths": 5}, r"widths must be a list of hidden-layer widths.*got 5"),
        ({"widths": "15"}, r"widths must be a list"),
        ({"width": 4.0}, r"width must be a positive int"),
        ({"depth": np.float64(3)}, r"depth must be an int >= 1"),
        ({"activation_kwargs": [1]}, r"activation_kwargs must be a dict .* got \[1\]"),
        ({"activation_kwargs": {1: 2}}, r"activation_kwargs must be a dict"),
        ({"seed": 2.7}, r"seed must be None or an int"),
        ({"seed": True}, r"seed must be None or an int"),
        ({"seed": 2**64}, r"seed must be None or an int in \[-2\*\*63, 2\*\*64\)"),
    ],
)
def test_sizes_and_seed_are_never_truncated(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^build_mlp: {message}"):
        build_mlp(2, 2, **kwargs)


def test_numpy_integers_are_ints() -> None:
    model = build_mlp(
        np.int64(3), np.int32(2), width=np.int64(5), depth=np.int64(3), seed=np.int64(4)
    )
    assert _state_equal(model, build_mlp(3, 2, width=5, depth=3, seed=4))
    cfg = model.config
    assert all(type(v) is int for v in (cfg.in_features, cfg.num_classes, cfg.width, cfg.depth))
    explicit = build_mlp(2, 2, widths=np.array([4, 6]))
    assert explicit.config.widths == [4, 6] and all(type(w) is int for w in explicit.config.widths)

"""Physical removal: Torch-Pruning with explicit indices against a hand-sliced oracle."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from bettiscope.models.cnn import build_cnn, load_model, save_model
from bettiscope.pruning import (
    count_macs,
    count_params,
    describe_plan,
    prune_filters,
    pruned_copy,
)


class PlainCNN(nn.Module):
    """conv-bn-relu x3 (max-pool after the second), global average pool, linear head."""

    def __init__(self, widths=(6, 8, 10), bias=False, batch_norm=True) -> None:
        super().__init__()
        self.widths = widths
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        previous = 3
        for width in widths:
            self.convs.append(nn.Conv2d(previous, width, 3, padding=1, bias=bias))
            self.norms.append(nn.BatchNorm2d(width) if batch_norm else nn.Identity())
            previous = width
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(widths[-1], 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            x = self.act(norm(conv(x)))
            if i == 1:
                x = self.pool(x)
        return self.head(x.mean(dim=(2, 3)))


def randomise_norms(model: nn.Module) -> None:
    """Non-trivial batch-norm statistics, so a wrongly sliced norm changes the output."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator))
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            module.bias.data.copy_(torch.randn(n, generator=generator))


def hand_slice(model: PlainCNN, plan: dict[str, list[int]]) -> PlainCNN:
    """The oracle: cut the filters by indexing the tensors directly, layer by layer."""
    sliced = copy.deepcopy(model)
    for i, conv in enumerate(sliced.convs):
        drop = set(plan.get(f"convs.{i}", []))
        keep = [c for c in range(conv.out_channels) if c not in drop]
        conv.weight = nn.Parameter(conv.weight.data[keep].clone())
        if conv.bias is not None:
            conv.bias = nn.Parameter(conv.bias.data[keep].clone())
        conv.out_channels = len(keep)
        norm = sliced.norms[i]
        if isinstance(norm, nn.BatchNorm2d):
            norm.weight = nn.Parameter(norm.weight.data[keep].clone())
            norm.bias = nn.Parameter(norm.bias.data[keep].clone())
            norm.running_mean = norm.running_mean[keep].clone()
            norm.running_var = norm.running_var[keep].clone()
            norm.num_features = len(keep)
        if i + 1 < len(sliced.convs):
            following = sliced.convs[i + 1]
            following.weight = nn.Parameter(following.weight.data[:, keep].clone())
            following.in_channels = len(keep)
        else:
            sliced.head.weight = nn.Parameter(sliced.head.weight.data[:, keep].clone())
            sliced.head.in_features = len(keep)
    return sliced


@pytest.fixture
def images() -> torch.Tensor:
    return torch.randn(5, 3, 8, 8)


class TestAgainstHandSlicing:
    @pytest.mark.parametrize(("bias", "batch_norm"), [(False, True), (True, False), (True, True)])
    def test_same_indices_same_outputs(self, images, bias, batch_norm):
        model = PlainCNN(bias=bias, batch_norm=batch_norm).eval()
        randomise_norms(model)
        plan = {"convs.0": [0, 3], "convs.1": [1, 2, 7], "convs.2": [9, 0, 4]}
        pruned, history = pruned_copy(model, plan, images[:2])
        oracle = hand_slice(model, plan).eval()
        pruned.eval()
        with torch.no_grad():
            assert torch.allclose(pruned(images), oracle(images), atol=1e-6, rtol=0)
            assert not torch.allclose(pruned(images), model(images), atol=1e-3)
        assert [conv.out_channels for conv in pruned.convs] == [4, 5, 7]
        assert [step.layer for step in history] == ["convs.0", "convs.1", "convs.2"]
        assert history[2].removed == [0, 4, 9] and (history[2].before, history[2].after) == (10, 7)
        for name, tensor in oracle.state_dict().items():
            assert pruned.state_dict()[name].shape == tensor.shape, name
        # the original is untouched
        assert [conv.out_channels for conv in model.convs] == [6, 8, 10]

    def test_every_single_filter_of_a_layer(self, images):
        model = PlainCNN().eval()
        randomise_norms(model)
        for index in range(8):
            plan = {"convs.1": [index]}
            pruned, _ = pruned_copy(model, plan, images[:2])
            with torch.no_grad():
                assert torch.allclose(
                    pruned.eval()(images), hand_slice(model, plan).eval()(images), atol=1e-6
                )

    def test_empty_plan_changes_nothing(self, images):
        model = PlainCNN().eval()
        pruned, history = pruned_copy(model, {"convs.0": []}, images[:2])
        assert history == []
        with torch.no_grad():
            assert torch.equal(pruned(images), model(images))


class TestGuards:
    @pytest.mark.parametrize(
        ("plan", "message"),
        [
            ({"convs.0": list(range(6))}, "cannot remove all 6 filters"),
            ({"convs.0": [6]}, "out of range"),
            ({"convs.0": [1, 1]}, "duplicate"),
            ({"head": [0]}, "only conv layers"),
            ({"nope": [0]}, "no module named 'nope'"),
        ],
    )
    def test_bad_plans(self, images, plan, message):
        model = PlainCNN()
        with pytest.raises(ValueError, match=message):
            prune_filters(model, plan, images[:2])
        assert [conv.out_channels for conv in model.convs] == [6, 8, 10]

    def test_resnet_shortcut_is_not_a_layer_of_its_own(self):
        model = build_cnn(kind="resnet", input_size=8)
        with pytest.raises(ValueError, match="coupled to another layer"):
            prune_filters(model, {"blocks.0.shortcut": [0]}, torch.randn(2, 1, 8, 8))

    def test_classifier_outputs_stay(self, images):
        model = PlainCNN().eval()
        pruned, _ = pruned_copy(model, {"convs.2": [0, 1, 2, 3, 4, 5, 6, 7, 8]}, images[:2])
        assert pruned.head.out_features == 4 and pruned.head.in_features == 1

    def test_describe_plan_is_a_dry_run(self, images):
        model = PlainCNN()
        lines = describe_plan(model, {"convs.1": [0, 1]}, images[:2])
        assert len(lines) == 1 and "convs.1" in lines[0] and "convs.2" in lines[0]
        assert model.convs[1].out_channels == 8


class TestBettiscopeCNNs:
    @pytest.mark.parametrize("kind", ["vgg", "resnet"])
    def test_prune_save_reload_identical(self, tmp_path, kind):
        model = build_cnn(kind=kind, input_size=8).eval()
        randomise_norms(model)
        x = torch.randn(6, 1, 8, 8)
        layers = [name for name, _ in model.conv_layers()]
        plan = {name: [0, 2] for name in layers}
        pruned, _ = pruned_copy(model, plan, x[:2])
        expected_widths = [w - 2 for w in model.config.channels]
        assert pruned.config.channels == expected_widths
        assert model.config.channels != expected_widths
        path = save_model(pruned, None, tmp_path / "pruned.pt")
        reloaded, cfg = load_model(path)
        assert cfg.channels == expected_widths
        with torch.no_grad():
            assert torch.equal(reloaded(x), pruned.eval()(x))
        assert count_params(reloaded) < count_params(model)

    def test_resnet_second_conv_cuts_the_shortcut_too(self):
        model = build_cnn(kind="resnet", input_size=8).eval()
        x = torch.randn(3, 1, 8, 8)
        pruned, history = pruned_copy(model, {"blocks.0.conv2": [1, 3, 5]}, x[:2])
        block = pruned.blocks[0]
        assert block.conv2.out_channels == block.shortcut.out_channels == 13
        assert block.shortcut_bn.num_features == 13
        assert pruned.blocks[1].conv1.in_channels == pruned.blocks[1].shortcut.in_channels == 13
        assert "shortcut" in history[0].group


class TestCounters:
    def test_macs_known_answer(self):
        model = PlainCNN(widths=(2, 3, 4))
        x = torch.zeros(2, 3, 8, 8)
        # conv0: 8x8x2 outputs x 3*9; conv1: 8x8x3 x 2*9; conv2 (after pool): 4x4x4 x 3*9; head 4x4
        expected = 64 * 2 * 27 + 64 * 3 * 18 + 16 * 4 * 27 + 4 * 4
        assert count_macs(model, x) == expected

    def test_params_known_answer(self):
        model = PlainCNN(widths=(2, 3, 4))
        convs = 3 * 2 * 9 + 2 * 3 * 9 + 3 * 4 * 9
        norms = 2 * (2 + 3 + 4)
        head = 4 * 4 + 4
        assert count_params(model) == convs + norms + head

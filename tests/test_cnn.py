"""CNN models: shapes, configs, portable save/load with identical outputs, clear load errors,
prunability (Torch-Pruning traces the residual coupling), and a tiny CNN trained on digits."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from bettiscope.datasets.images import load_image_dataset
from bettiscope.models import CNNConfig, build_cnn, load_model, save_model
from bettiscope.models.cnn import DEFAULT_CHANNELS, ResidualBlock
from bettiscope.storage import DataFileError
from bettiscope.training import TrainConfig, evaluate, train


def _trained_like(model: nn.Module, shape: tuple[int, ...]) -> nn.Module:
    """Move batch-norm running statistics off their defaults, then switch to eval mode."""
    model.train()
    with torch.no_grad():
        model(torch.randn(32, *shape))
    return model.eval()


class TestBuild:
    @pytest.mark.parametrize("kind", ["vgg", "resnet"])
    @pytest.mark.parametrize(("size", "channels"), [(8, 1), (28, 1), (32, 3)])
    def test_forward_shape(self, kind, size, channels):
        model = build_cnn(kind=kind, in_channels=channels, num_classes=7, input_size=size)
        assert model(torch.randn(5, channels, size, size)).shape == (5, 7)
        assert model.config.channels == list(DEFAULT_CHANNELS[kind])

    def test_default_downsampling_stops_at_two_pixels(self):
        assert CNNConfig(kind="vgg", input_size=28).downsample == [1, 3]  # 28 -> 14 -> 7
        assert CNNConfig(kind="vgg", input_size=4).downsample == [1]  # 4 -> 2, not 1
        assert CNNConfig(kind="resnet", input_size=8).downsample == [3, 5]  # block 0 full size

    def test_conv_layers_follow_channels(self):
        for kind in ("vgg", "resnet"):
            model = build_cnn(kind=kind)
            layers = model.conv_layers()
            assert [conv.out_channels for _, conv in layers] == model.config.channels
            named = dict(model.named_modules())
            assert all(named[name] is conv for name, conv in layers)
        resnet = build_cnn(kind="resnet")
        with_shortcuts = [name for name, _ in resnet.conv_layers(include_shortcuts=True)]
        assert len(with_shortcuts) == 7 + 3 and "blocks.0.shortcut" in with_shortcuts

    def test_pruned_widths_are_just_a_config(self):
        cfg = CNNConfig(kind="resnet", channels=[5, 3, 6, 2, 4, 7, 1], input_size=8)
        model = build_cnn(cfg)
        for block in model.blocks:
            assert isinstance(block, ResidualBlock)
            # residual-coupled widths agree by construction
            assert block.conv2.out_channels == block.shortcut.out_channels
            assert block.shortcut.in_channels == block.conv1.in_channels
        assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
        assert model.head.in_features == 1

    def test_fresh_activation_per_layer(self):
        model = build_cnn(activation="prelu", input_size=8)
        prelus = [m for m in model.modules() if isinstance(m, nn.PReLU)]
        assert len(prelus) == 4 and len({id(p.weight) for p in prelus}) == 4

    def test_picklable(self):
        for kind in ("vgg", "resnet"):
            clone = pickle.loads(pickle.dumps(build_cnn(kind=kind, input_size=8)))
            assert isinstance(clone, nn.Module)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"kind": "alexnet"}, r"'kind' parameter of CNNConfig must be one of 'vgg', 'resnet'"),
            ({"kind": "resnet", "channels": [8, 8]}, r"odd number of widths"),
            ({"channels": [8, 0]}, r"every conv width must be >= 1"),
            ({"channels": []}, r"at least one conv width"),
            ({"channels": [8, 2.5]}, r"channels must be a list of ints"),
            ({"downsample": [9]}, r"downsample index 9 is not a conv layer"),
            ({"kind": "resnet", "downsample": [2]}, r"only the first conv of a block"),
            ({"activation": nn.ReLU}, r"activation must be a registered activation name"),
            ({"in_channels": 0}, r"'in_channels' parameter"),
        ],
    )
    def test_bad_config(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            CNNConfig(**kwargs)

    def test_unknown_activation(self):
        with pytest.raises(ValueError, match="not_an_activation"):
            build_cnn(activation="not_an_activation")


class TestSaveLoad:
    @pytest.mark.parametrize("kind", ["vgg", "resnet"])
    def test_round_trip_identical_outputs(self, tmp_path, kind):
        cfg = CNNConfig(
            kind=kind,
            input_size=8,
            activation="leaky_relu",
            activation_kwargs={"slope": 0.1},
            num_classes=3,
        )
        model = _trained_like(build_cnn(cfg), (1, 8, 8))
        x = torch.randn(6, 1, 8, 8)
        path = save_model(model, cfg, tmp_path / "sub" / "model.pt", extra={"acc": 0.5})
        loaded, loaded_cfg = load_model(path)
        assert loaded_cfg == cfg and not loaded.training
        assert loaded.extra == {"acc": 0.5}
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
        # weights_only: the file holds no pickled classes
        payload = torch.load(path, weights_only=True)
        assert payload["config"]["kind"] == kind

    def test_pruned_model_round_trip(self, tmp_path):
        cfg = CNNConfig(kind="resnet", channels=[4, 3, 5, 2, 6, 3, 2], input_size=8)
        model = _trained_like(build_cnn(cfg), (1, 8, 8))
        loaded, _ = load_model(save_model(model, None, tmp_path / "p.pt"))
        x = torch.randn(3, 1, 8, 8)
        assert torch.equal(loaded(x), model(x))

    def test_missing_file(self, tmp_path):
        with pytest.raises(DataFileError, match=r"nope\.pt: no such model file"):
            load_model(tmp_path / "nope.pt")

    def test_directory(self, tmp_path):
        with pytest.raises(DataFileError, match="is a directory"):
            load_model(tmp_path)

    def test_truncated_file(self, tmp_path):
        path = save_model(build_cnn(input_size=8), None, tmp_path / "m.pt")
        path.write_bytes(path.read_bytes()[:300])
        with pytest.raises(DataFileError, match=r"m\.pt: not a readable model file"):
            load_model(path)

    def test_foreign_torch_file(self, tmp_path):
        torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
        with pytest.raises(DataFileError, match="not a bettiscope CNN file"):
            load_model(tmp_path / "other.pt")

    def test_weights_do_not_match_config(self, tmp_path):
        path = save_model(build_cnn(input_size=8), None, tmp_path / "m.pt")
        payload = torch.load(path, weights_only=True)
        payload["config"]["channels"] = [16, 32, 32, 48]  # a "pruned" config, unpruned weights
        torch.save(payload, path)
        with pytest.raises(
            DataFileError,
            match=r"weights do not match .*wrong shape.*head\.weight \(10, 64\) vs \(10, 48\)",
        ):
            load_model(path)

    def test_incompatible_config(self, tmp_path):
        path = save_model(build_cnn(input_size=8), None, tmp_path / "m.pt")
        payload = torch.load(path, weights_only=True)
        payload["config"]["width_multiplier"] = 2
        torch.save(payload, path)
        with pytest.raises(DataFileError, match=r"unknown field\(s\) \['width_multiplier'\]"):
            load_model(path)

    def test_future_format_version(self, tmp_path):
        path = save_model(build_cnn(input_size=8), None, tmp_path / "m.pt")
        payload = torch.load(path, weights_only=True)
        payload["format_version"] = 99
        torch.save(payload, path)
        with pytest.raises(DataFileError, match="format version 99 is not supported"):
            load_model(path)


def test_torch_pruning_keeps_residual_widths_consistent():
    """Pruning a block's second conv through Torch-Pruning also prunes its shortcut."""
    tp = pytest.importorskip("torch_pruning")
    model = build_cnn(kind="resnet", input_size=8).eval()
    graph = tp.DependencyGraph().build_dependency(model, example_inputs=model.example_input(2))
    conv2 = model.blocks[1].conv2
    group = graph.get_pruning_group(conv2, tp.prune_conv_out_channels, idxs=[0, 3, 5])
    assert graph.check_pruning_group(group)
    group.prune()
    block = model.blocks[1]
    assert block.conv2.out_channels == block.shortcut.out_channels == 29
    assert model.blocks[2].conv1.in_channels == 29
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_tiny_cnn_trains_one_epoch_on_digits():
    data = load_image_dataset("digits", seed=0)
    model = build_cnn(kind="vgg", input_size=8, num_classes=10)  # the default widths
    cfg = TrainConfig(epochs=1, lr=0.01, batch_size=32, target_train_acc=None, seed=0)
    _, before = evaluate(model, data.val)
    history = train(model, data.train, cfg, val=data.val)
    assert history.epochs == 1 and history.records[0].steps == -(-len(data.train[1]) // 32)
    _, after = evaluate(model, data.test)
    # Chance is 0.1; one epoch of the default CNN on digits gets far beyond it (measured 0.96).
    assert before < 0.3 and history.records[0].val_acc > 0.85 and after > 0.85


@pytest.mark.parametrize("kind", ["vgg", "resnet"])
def test_memory_estimate_from_meta_shapes_allocates_nothing(kind: str) -> None:
    from bettiscope.models.cnn import cnn_memory_bytes

    cfg = CNNConfig(kind=kind)
    real = build_cnn(cfg)
    estimate = cnn_memory_bytes(cfg, batch=8)
    assert estimate["weights"] == 4 * sum(p.numel() for p in real.parameters())
    # every layer's output for 8 images, kept and with its gradient: a few MB, not nothing
    kept = (estimate["training"] - 16 * sum(p.numel() for p in real.parameters())) / 8
    assert kept > 2 * 8 * 16 * 28 * 28  # at least the first conv's maps
    huge = CNNConfig(kind=kind, channels=[200_000] * (3 if kind == "resnet" else 2))
    assert cnn_memory_bytes(huge, batch=8)["weights"] > 10**12  # counted, never allocated

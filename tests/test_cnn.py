"""CNN models: shapes, configs, portable save/load with identical outputs, clear load errors,
prunability (Torch-Pruning traces the residual coupling), and a tiny CNN trained on digits."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from bettiscope.activations import Fold
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


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"batch_norm": "no"}, r"batch_norm must be True or False; got 'no'"),
            ({"batch_norm": 0}, r"batch_norm must be True or False"),
            ({"channels": 16}, r"channels must be a list of ints; got 16"),
            ({"channels": "16"}, r"channels must be a list of ints"),
            ({"channels": [8.0]}, r"channels must be a list of ints.*not truncated"),
            ({"input_size": 28.0}, r"'input_size' parameter of CNNConfig must be an int"),
            ({"activation_kwargs": [1]}, r"activation_kwargs must be a dict .* got \[1\]"),
            (
                {"activation": Fold(slope=0.25)},
                r"Here: activation='fold', activation_kwargs=\{'slope': 0\.25\}",
            ),
        ],
    )
    def test_bad_field(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            CNNConfig(**kwargs)

    def test_batch_norm_false_means_off(self):
        model = build_cnn(batch_norm=np.bool_(False), input_size=8)
        assert model.config.batch_norm is False
        assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())

    def test_numpy_integers_are_stored_as_ints(self, tmp_path):
        cfg = CNNConfig(
            in_channels=np.int64(1),
            num_classes=np.int32(3),
            channels=np.array([4, 8]),
            input_size=np.int64(8),
            downsample=[np.int64(1)],
        )
        fields = [cfg.in_channels, cfg.num_classes, cfg.input_size, *cfg.widths, *cfg.downsample]
        assert all(type(v) is int for v in fields)
        model = build_cnn(cfg).eval()
        loaded, loaded_cfg = load_model(save_model(model, None, tmp_path / "m.pt"))
        assert loaded_cfg == cfg
        x = torch.randn(2, 1, 8, 8)
        assert torch.equal(loaded(x), model(x))

    def test_docstring_activation_kwargs_example_builds(self):
        import re

        example = re.search(r'e\.g\. ``(\{"\w+": [\d.]+\})`` for ``"(\w+)"``', CNNConfig.__doc__)
        assert example is not None
        kwargs = json.loads(example.group(1))
        model = build_cnn(activation=example.group(2), activation_kwargs=kwargs, input_size=8)
        assert model.blocks[0].act.negative_slope == kwargs["slope"]

    def test_build_cnn_refuses_a_dict_and_unknown_overrides(self):
        with pytest.raises(
            ValueError, match=r"cfg must be a CNNConfig or None; got dict.*from_dict"
        ):
            build_cnn({"kind": "vgg"}, channels=[4])
        with pytest.raises(ValueError, match=r"unknown CNNConfig field\(s\) \['widths'\]"):
            build_cnn(widths=[4])
        with pytest.raises(ValueError, match=r"unknown CNNConfig field\(s\) \['width'\]"):
            build_cnn(CNNConfig(input_size=8), width=4)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                (-1,),
                r"'batch' parameter of cnn_memory_bytes must be an int in the range \[0, inf\)",
            ),
            ((2.5,), r"'batch' parameter of cnn_memory_bytes"),
            ((8, 0), r"'image_size' parameter of cnn_memory_bytes"),
        ],
    )
    def test_memory_estimate_arguments(self, args, message):
        from bettiscope.models.cnn import cnn_memory_bytes

        with pytest.raises(ValueError, match=message):
            cnn_memory_bytes(CNNConfig(input_size=8), *args)

    def test_memory_estimate_needs_a_config(self):
        from bettiscope.models.cnn import check_cnn_memory, cnn_memory_bytes

        with pytest.raises(ValueError, match="cfg must be a CNNConfig; got dict"):
            cnn_memory_bytes({"kind": "vgg"}, 8)
        with pytest.raises(ValueError, match=r"'batch' parameter of train must be an int"):
            check_cnn_memory(CNNConfig(input_size=8), -1, "train")
        assert cnn_memory_bytes(CNNConfig(input_size=8), 0)["weights"] > 0  # weights only

    @pytest.mark.parametrize(
        ("device", "message"),
        [
            ("gpu", r"^load_model: device must be 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'; "),
            (3, r"^load_model: device must be .*; got 3"),
        ],
    )
    def test_load_model_bad_device(self, tmp_path, device, message):
        path = save_model(build_cnn(input_size=8), None, tmp_path / "m.pt")
        with pytest.raises(ValueError, match=message):
            load_model(path, device=device)

    def test_load_model_cuda_without_cuda(self, tmp_path, monkeypatch):
        path = save_model(build_cnn(input_size=8), None, tmp_path / "m.pt")
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        with pytest.raises(ValueError, match=r"device 'cuda' requested but CUDA is not available"):
            load_model(path, device="cuda")
        model, _ = load_model(path, device=torch.device("cpu"))
        assert next(model.parameters()).device.type == "cpu"

    def test_numpy_values_in_extra_and_kwargs_are_saved_as_python(self, tmp_path):
        cfg = CNNConfig(
            input_size=8, activation="leaky_relu", activation_kwargs={"slope": np.float64(0.1)}
        )
        extra = {
            "acc": np.float64(0.9),
            "n": np.int64(3),
            "ok": np.bool_(True),
            "mean": np.array([0.5, 0.25]),
            "nested": {"k": [np.float32(1.5), (np.int8(2), "x")]},
        }
        loaded, loaded_cfg = load_model(save_model(build_cnn(cfg), cfg, tmp_path / "m.pt", extra))
        assert loaded.extra == {
            "acc": 0.9,
            "n": 3,
            "ok": True,
            "mean": [0.5, 0.25],
            "nested": {"k": [1.5, (2, "x")]},
        }
        assert type(loaded.extra["acc"]) is float and type(loaded.extra["n"]) is int
        assert type(loaded_cfg.activation_kwargs["slope"]) is float

    def test_extra_that_would_not_load_is_refused_before_writing(self, tmp_path):
        with pytest.raises(ValueError, match=r"save_model: extra\['folder'\] is a \w*Path"):
            save_model(build_cnn(input_size=8), None, tmp_path / "m.pt", {"folder": tmp_path})
        with pytest.raises(ValueError, match="extra must be a dict"):
            save_model(build_cnn(input_size=8), None, tmp_path / "m.pt", [("acc", 0.5)])
        assert list(tmp_path.iterdir()) == []

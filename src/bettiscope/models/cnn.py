"""Small image classifiers: a VGG-style CNN and a ResNet with 1x1-conv shortcuts.

Both are described completely by a :class:`CNNConfig` (architecture kind, widths, activation,
where the resolution halves), so a pruned network is just a config with smaller widths, and a
saved model is that config plus a state dict (:func:`save_model` / :func:`load_model`).

VGG-style (``kind="vgg"``)::

    input -> [conv 3x3 -> batch norm -> activation (-> max-pool 2x2)] x len(channels)
          -> global average pool -> linear -> logits

ResNet (``kind="resnet"``), ``channels = [stem, b0_mid, b0_out, b1_mid, b1_out, ...]``::

    input -> stem conv 3x3 -> bn -> act
          -> residual block x n: act(bn(conv3x3(act(bn(conv3x3(x))))) + bn(conv1x1(x)))
          -> global average pool -> linear -> logits

Every block has a 1x1-conv shortcut, even where the widths already match. That costs a few
per cent more multiply-adds but decouples the blocks: with identity shortcuts, a block's output
channels would be tied to every earlier block's through the chain of additions, and a pruned
block could not simply get a smaller width in the config. The only coupling left is inside a
block (the second conv and the shortcut conv share the output width ``channels[2j + 2]``),
which the config enforces by construction: the shortcut has no width of its own.

All modules are named attributes (no lambdas), so models pickle, Torch-Pruning can trace them,
and a hand slicer can walk ``blocks[i].conv -> blocks[i].bn -> blocks[i + 1].conv``.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bettiscope._validation import Interval, Options, check_param
from bettiscope.storage import DataFileError, atomic_path

__all__ = [
    "CNN",
    "DEFAULT_CHANNELS",
    "VGGCNN",
    "CNNConfig",
    "ConvBlock",
    "ResNetCNN",
    "ResidualBlock",
    "build_cnn",
    "check_cnn_memory",
    "cnn_memory_bytes",
    "load_model",
    "save_model",
]

KINDS = ("vgg", "resnet")

#: Marks a file written by :func:`save_model`; bumped when the layout changes incompatibly.
FORMAT_NAME = "bettiscope-cnn"
FORMAT_VERSION = 1


#: Default widths, sized for 2 CPU cores: about 9 M multiply-adds per 28x28 image for either
#: kind, so one epoch of Fashion-MNIST (60,000 images) takes minutes (measured: docs/images.md).
DEFAULT_CHANNELS = {"vgg": (16, 32, 32, 64), "resnet": (16, 16, 16, 32, 32, 64, 64)}


@dataclass
class CNNConfig:
    """Everything needed to rebuild a CNN: architecture kind, widths, activation, resolution.

    Parameters
    ----------
    kind : {"vgg", "resnet"}, default="vgg"
        VGG-style plain CNN or small ResNet.
    in_channels : int, default=1
        Image channels (1 for grey, 3 for RGB).
    num_classes : int, default=10
        Outputs of the linear head (logits).
    channels : list of int or None, default=None
        Output width of each 3x3 conv layer, in forward order. For ``"resnet"``: the stem,
        then two entries (inner width, output width) per residual block, so the length is
        odd. ``None`` means :data:`DEFAULT_CHANNELS` for the kind: ``[16, 32, 32, 64]`` (VGG),
        ``[16, 16, 16, 32, 32, 64, 64]`` (ResNet). A pruned model is the same config with
        smaller entries.
    activation : str, default="relu"
        Name in :data:`bettiscope.activations.ACTIVATIONS` (or an import path, see
        :func:`bettiscope.activations.get_activation`); a fresh module after every conv.
    activation_kwargs : dict, default={}
        Keyword arguments for the activation, e.g. ``{"slope": 0.1}`` for ``"leaky_relu"``
        (bettiscope's LeakyReLU names its negative slope ``slope``).
    input_size : int, default=28
        Side of the (square) input images in pixels. Only used to choose where to halve the
        resolution by default and to make example inputs; the global pooling accepts any size.
    downsample : list of int or None, default=None
        Indices into ``channels`` of the conv layers whose output is at half the resolution of
        their input. VGG: a 2x2 max-pool follows that conv. ResNet: must be the first conv of a
        block (odd index); that conv and the block's shortcut use stride 2. ``None`` picks a
        default from ``input_size`` (VGG: after every second conv; ResNet: at every block after
        the first), stopping before the maps shrink below 2x2; the resolved list is stored.
    batch_norm : bool, default=True
        Batch normalisation after every conv.

    Integer fields take ints or NumPy integers (stored as ints); floats are never truncated.

    Raises
    ------
    ValueError
        If a field has the wrong type or is out of range, or the widths do not fit the kind.
    """

    kind: str = "vgg"
    in_channels: int = 1
    num_classes: int = 10
    channels: list[int] | None = None
    activation: str = "relu"
    activation_kwargs: dict[str, Any] = field(default_factory=dict)
    input_size: int = 28
    downsample: list[int] | None = None
    batch_norm: bool = True

    def __post_init__(self) -> None:
        caller = "CNNConfig"
        self.kind = str(check_param("kind", self.kind, Options(KINDS), caller=caller))
        positive = Interval(int, 1, None)
        self.in_channels = int(
            check_param("in_channels", self.in_channels, positive, caller=caller)
        )
        self.num_classes = int(
            check_param("num_classes", self.num_classes, positive, caller=caller)
        )
        self.input_size = int(check_param("input_size", self.input_size, positive, caller=caller))
        if not isinstance(self.activation, str) or not self.activation:
            from bettiscope.activations import CUSTOM_PREFIX, activation_spec

            example = ""
            if callable(self.activation):  # a module, class or factory: say what to write
                name, kwargs = activation_spec(self.activation)
                if not name.startswith(CUSTOM_PREFIX):
                    example = f" Here: activation={name!r}, activation_kwargs={kwargs!r}."
            raise ValueError(
                f"CNNConfig: activation must be a registered activation name (a string, so "
                f"the config can be saved), with its arguments in activation_kwargs; got "
                f"{self.activation!r}.{example}"
            )
        self.activation = str(self.activation)
        if not isinstance(self.activation_kwargs, Mapping) or not all(
            isinstance(key, str) for key in self.activation_kwargs
        ):
            raise ValueError(
                f"CNNConfig: activation_kwargs must be a dict of the activation's constructor "
                f"arguments by name, e.g. {{'slope': 0.1}}; got {self.activation_kwargs!r}."
            )
        self.activation_kwargs = dict(self.activation_kwargs)
        if not isinstance(self.batch_norm, (bool, np.bool_)):
            raise ValueError(
                f"CNNConfig: batch_norm must be True or False; got {self.batch_norm!r}."
            )
        self.batch_norm = bool(self.batch_norm)
        if self.channels is None:
            self.channels = list(DEFAULT_CHANNELS[self.kind])
        self.channels = _int_list(self.channels, "channels")
        if not self.channels:
            raise ValueError("CNNConfig: channels must list at least one conv width.")
        if any(width < 1 for width in self.channels):
            raise ValueError(
                f"CNNConfig: every conv width must be >= 1 (a pruned layer keeps at least one "
                f"filter); got channels={self.channels}."
            )
        if self.kind == "resnet" and len(self.channels) % 2 == 0:
            raise ValueError(
                f"CNNConfig: a resnet needs an odd number of widths (stem, then inner and output "
                f"width per block); got {len(self.channels)}: {self.channels}."
            )
        if self.downsample is None:
            self.downsample = _default_downsample(self.kind, len(self.channels), self.input_size)
        self.downsample = sorted(set(_int_list(self.downsample, "downsample")))
        for index in self.downsample:
            if not 0 <= index < len(self.channels):
                raise ValueError(
                    f"CNNConfig: downsample index {index} is not a conv layer "
                    f"(0..{len(self.channels) - 1})."
                )
            if self.kind == "resnet" and index % 2 == 0:
                raise ValueError(
                    f"CNNConfig: in a resnet only the first conv of a block (an odd index) can "
                    f"downsample; got {index} in downsample={self.downsample}."
                )

    @property
    def widths(self) -> list[int]:
        """The conv widths in forward order: ``channels`` with the kind's default filled in."""
        assert self.channels is not None  # filled in by __post_init__
        return self.channels

    @property
    def n_blocks(self) -> int:
        """Residual blocks (ResNet) or conv blocks (VGG)."""
        return (len(self.widths) - 1) // 2 if self.kind == "resnet" else len(self.widths)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (what :func:`save_model` stores)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CNNConfig:
        """Rebuild from :meth:`to_dict`; unknown keys are an error (a newer or foreign file)."""
        if not isinstance(values, dict):
            raise ValueError(f"CNNConfig.from_dict: expected a dict; got {type(values).__name__}.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"CNNConfig.from_dict: unknown field(s) {unknown}; known: {sorted(known)}."
            )
        return cls(**values)


def _int_list(values: Any, name: str) -> list[int]:
    """``values`` as a list of Python ints (NumPy integers accepted, floats refused)."""
    if isinstance(values, (str, bytes, Mapping)):
        raise ValueError(f"CNNConfig: {name} must be a list of ints; got {values!r}.")
    try:
        items = list(values)
    except TypeError:
        raise ValueError(f"CNNConfig: {name} must be a list of ints; got {values!r}.") from None
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items):
        raise ValueError(
            f"CNNConfig: {name} must be a list of ints; got {values!r} (floats are not "
            "truncated: round them yourself)."
        )
    return [int(v) for v in items]


def _default_downsample(kind: str, n_convs: int, input_size: int) -> list[int]:
    """Where the resolution halves by default, never below 2x2 pixels."""
    size = input_size
    chosen = []
    candidates = range(1, n_convs, 2)  # VGG: after every 2nd conv; ResNet: first conv of a block
    for position, index in enumerate(candidates):
        if kind == "resnet" and position == 0:
            continue  # the first residual block works at full resolution, as in ResNet
        if size // 2 < 2:
            break
        chosen.append(index)
        size //= 2
    return chosen


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------


def _activation(cfg: CNNConfig) -> nn.Module:
    """A fresh activation module (learnable activations must not share parameters)."""
    from bettiscope.activations import get_activation

    return get_activation(cfg.activation, **cfg.activation_kwargs)


def _norm(width: int, enabled: bool) -> nn.Module:
    return nn.BatchNorm2d(width) if enabled else nn.Identity()


class ConvBlock(nn.Module):
    """conv 3x3 (padding 1) -> batch norm -> activation -> optional 2x2 max-pool."""

    def __init__(
        self, in_width: int, out_width: int, cfg: CNNConfig, *, pool: bool = False
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_width, out_width, 3, padding=1, bias=not cfg.batch_norm)
        self.bn = _norm(out_width, cfg.batch_norm)
        self.act = _activation(cfg)
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.act(self.bn(self.conv(x))))


class ResidualBlock(nn.Module):
    """Two 3x3 convs plus a 1x1-conv shortcut; the sum passes one more activation."""

    def __init__(
        self, in_width: int, mid_width: int, out_width: int, cfg: CNNConfig, *, stride: int = 1
    ) -> None:
        super().__init__()
        bias = not cfg.batch_norm
        self.conv1 = nn.Conv2d(in_width, mid_width, 3, stride=stride, padding=1, bias=bias)
        self.bn1 = _norm(mid_width, cfg.batch_norm)
        self.act1 = _activation(cfg)
        self.conv2 = nn.Conv2d(mid_width, out_width, 3, padding=1, bias=bias)
        self.bn2 = _norm(out_width, cfg.batch_norm)
        # Always a conv (never identity or zero padding): pruning conv2's filters must be able to
        # prune the matching shortcut filters too, or the addition breaks silently.
        self.shortcut = nn.Conv2d(in_width, out_width, 1, stride=stride, bias=bias)
        self.shortcut_bn = _norm(out_width, cfg.batch_norm)
        self.act2 = _activation(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        return self.act2(main + self.shortcut_bn(self.shortcut(x)))


class CNN(nn.Module):
    """Base class: ``config``, ``conv_layers()``, ``representation_layers()``, a body per kind."""

    config: CNNConfig
    extra: dict[str, Any]  # set by load_model: the file's extra record

    def __init__(self, cfg: CNNConfig) -> None:
        super().__init__()
        self.config = cfg
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(cfg.widths[-1], cfg.num_classes)

    def body(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(self.pool(self.body(x))))  # (B, num_classes)

    def conv_layers(self, *, include_shortcuts: bool = False) -> list[tuple[str, nn.Conv2d]]:
        """The 3x3 conv layers in forward order, one per entry of ``config.channels``.

        Parameters
        ----------
        include_shortcuts : bool, default=False
            Also list ResNet 1x1 shortcut convs (after their block's second conv). Their
            filters are coupled to that conv's: prune both or neither.

        Returns
        -------
        list of (str, nn.Conv2d)
            Qualified module names (as in ``named_modules()``) and the modules.
        """
        layers = []
        for name, module in self.named_modules():
            if isinstance(module, nn.Conv2d):
                if name.endswith("shortcut") and not include_shortcuts:
                    continue
                layers.append((name, module))
        return layers

    def feature_layers(self) -> list[tuple[str, nn.Module]]:
        """Modules whose outputs are the network's successive representations.

        The output of each block (after activation and pooling) and the logits: the layers at
        which per-layer Betti numbers of feature maps are measured.
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def representation_layers(self) -> list[str]:
        """Names of :meth:`feature_layers` (what :func:`bettiscope.probe.capture` records).

        The output of every block, then ``head`` (the logits); the probe adds the input.
        """
        return [name for name, _ in self.feature_layers()]

    def example_input(self, batch: int = 1) -> torch.Tensor:
        """A zero batch of the configured input shape, on the model's device (for tracing)."""
        device = next(self.parameters()).device
        size = self.config.input_size
        return torch.zeros(batch, self.config.in_channels, size, size, device=device)


class VGGCNN(CNN):
    """VGG-style CNN: conv blocks, global average pooling, linear head."""

    def __init__(self, cfg: CNNConfig) -> None:
        super().__init__(cfg)
        widths = [cfg.in_channels, *cfg.widths]
        downsample = set(cfg.downsample or [])
        self.blocks = nn.ModuleList(
            ConvBlock(widths[i], widths[i + 1], cfg, pool=i in downsample)
            for i in range(len(cfg.widths))
        )

    def body(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x

    def feature_layers(self) -> list[tuple[str, nn.Module]]:
        return [(f"blocks.{i}", block) for i, block in enumerate(self.blocks)] + [
            ("head", self.head)
        ]


class ResNetCNN(CNN):
    """Small ResNet: a stem conv block, then residual blocks with 1x1-conv shortcuts."""

    def __init__(self, cfg: CNNConfig) -> None:
        super().__init__(cfg)
        downsample = set(cfg.downsample or [])
        self.stem = ConvBlock(cfg.in_channels, cfg.widths[0], cfg)
        blocks = []
        in_width = cfg.widths[0]
        for j in range(cfg.n_blocks):
            mid, out = cfg.widths[2 * j + 1], cfg.widths[2 * j + 2]
            stride = 2 if 2 * j + 1 in downsample else 1
            blocks.append(ResidualBlock(in_width, mid, out, cfg, stride=stride))
            in_width = out
        self.blocks = nn.ModuleList(blocks)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return x

    def feature_layers(self) -> list[tuple[str, nn.Module]]:
        return (
            [("stem", self.stem)]
            + [(f"blocks.{j}", block) for j, block in enumerate(self.blocks)]
            + [("head", self.head)]
        )


def build_cnn(cfg: CNNConfig | None = None, **overrides: Any) -> CNN:
    """Build a freshly initialised CNN from a config.

    Parameters
    ----------
    cfg : CNNConfig or None, default=None
        The architecture; ``None`` means ``CNNConfig()`` (the default VGG for 28x28 grey images).
    **overrides
        Fields to replace, e.g. ``build_cnn(kind="resnet", channels=[16, 16, 16])``.

    Returns
    -------
    CNN
        A :class:`VGGCNN` or :class:`ResNetCNN` with ``.config`` set, in training mode.

    Raises
    ------
    ValueError
        ``cfg`` is not a CNNConfig, an override is not a field, an invalid config, or an
        activation name that is not registered.
    """
    if cfg is not None and not isinstance(cfg, CNNConfig):
        hint = " Build one with CNNConfig.from_dict(...)." if isinstance(cfg, Mapping) else ""
        raise ValueError(
            f"build_cnn: cfg must be a CNNConfig or None; got {type(cfg).__name__}.{hint}"
        )
    known = [f.name for f in dataclasses.fields(CNNConfig)]
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ValueError(
            f"build_cnn: unknown CNNConfig field(s) {unknown}; known: {', '.join(known)}."
        )
    if cfg is None:
        cfg = CNNConfig(**overrides)
    elif overrides:
        cfg = dataclasses.replace(cfg, **overrides)
    model_class = VGGCNN if cfg.kind == "vgg" else ResNetCNN
    return model_class(cfg)


def cnn_memory_bytes(cfg: CNNConfig, batch: int, image_size: int | None = None) -> dict[str, int]:
    """Estimated memory of a CNN (float32, bytes): its weights, and training it with Adam.

    The shapes come from a forward pass of ``batch`` images of ``image_size`` pixels (default
    ``cfg.input_size``) on PyTorch's meta device, which allocates nothing. ``weights`` counts
    every parameter once; ``training`` adds their gradients and Adam's two moments (4 copies)
    and every layer's output kept for the backward pass plus as much again for its gradient.
    An estimate for refusing impossible runs early, not a measurement.

    Parameters
    ----------
    cfg : CNNConfig
        The architecture.
    batch : int
        Images per batch, >= 0 (0 counts the weights and their optimiser state only).
    image_size : int or None, default=None
        Side of the square images in pixels; ``None`` means ``cfg.input_size``.

    Returns
    -------
    dict
        ``{"weights": bytes, "training": bytes}``.

    Raises
    ------
    ValueError
        ``cfg`` is not a CNNConfig, or ``batch`` or ``image_size`` is not an int in range.
    """
    caller = "cnn_memory_bytes"
    if not isinstance(cfg, CNNConfig):
        raise ValueError(f"{caller}: cfg must be a CNNConfig; got {type(cfg).__name__}.")
    batch = int(check_param("batch", batch, Interval(int, 0, None, closed="left"), caller=caller))
    if image_size is not None:
        check_param("image_size", image_size, Interval(int, 1, None, closed="left"), caller=caller)
    size = cfg.input_size if image_size is None else int(image_size)
    with torch.device("meta"):
        model = build_cnn(cfg)
    kept = 0

    def count(_module: nn.Module, _inputs: Any, output: Any) -> None:
        nonlocal kept
        if isinstance(output, torch.Tensor):
            kept += output.numel()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad():
            model(torch.empty(batch, cfg.in_channels, size, size, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    weights = sum(w.numel() for w in model.parameters())
    return {"weights": 4 * weights, "training": 4 * (4 * weights + 2 * kept)}


def check_cnn_memory(cfg: CNNConfig, batch: int, caller: str) -> None:
    """Refuse, before anything is allocated, training that would not fit in the memory
    available now (:func:`cnn_memory_bytes`); the message says what to change."""
    from bettiscope._validation import check_memory

    check_param("batch", batch, Interval(int, 0, None, closed="left"), caller=caller)
    check_memory(
        f"{caller}: training a {cfg.kind} CNN with conv widths {cfg.channels} on batches of "
        f"{batch:,} images of {cfg.input_size} x {cfg.input_size} pixels",
        cnn_memory_bytes(cfg, batch)["training"],
        "Use narrower convs (--channels), a smaller --batch-size or smaller images (--image-size).",
    )


# --------------------------------------------------------------------------------------------
# portable files
# --------------------------------------------------------------------------------------------


def save_model(
    model: nn.Module,
    cfg: CNNConfig | None,
    path: str | os.PathLike[str],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save a CNN portably: its config and state dict (CPU tensors), written atomically.

    The file is ``{"format", "format_version", "config": asdict(cfg), "state_dict", "extra"}``
    and loads with ``torch.load(..., weights_only=True)``: no pickled classes, so it survives
    code changes and is safe to open.

    Parameters
    ----------
    model : nn.Module
        The network (a :class:`CNN`, possibly pruned so its widths match ``cfg``).
    cfg : CNNConfig or None
        Its architecture; ``None`` uses ``model.config``.
    path : path-like
        Destination (``.pt`` by convention); parent folders are created.
    extra : dict or None, default=None
        Plain data to keep beside the model (metrics, class names, normalisation): str, int,
        float, bool, None, tensors, and lists, tuples and dicts of them, so the file stays
        loadable without pickle. NumPy scalars and arrays are stored as Python numbers and
        lists.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        ``cfg`` is missing, or ``extra`` (or the config's activation_kwargs) holds a value
        that could not be loaded back (the message names it); nothing is written then.
    """
    if cfg is None:
        cfg = getattr(model, "config", None)
    if not isinstance(cfg, CNNConfig):
        raise ValueError(
            "save_model: cfg must be the model's CNNConfig (or the model must carry .config)."
        )
    if extra is not None and not isinstance(extra, Mapping):
        raise ValueError(f"save_model: extra must be a dict (or None); got {type(extra).__name__}.")
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": _plain(cfg.to_dict(), "cfg"),
        "state_dict": state,
        "extra": _plain(dict(extra or {}), "extra"),
    }
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)
    return Path(path)


def _plain(value: Any, where: str) -> Any:
    """``value`` as data ``torch.load(weights_only=True)`` reads back: NumPy scalars and
    arrays become Python numbers and lists; anything else that is not plain is refused."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), where)
    if isinstance(value, np.generic):
        value = value.item()
    # exact built-in types: a subclass (an IntEnum, a str subclass) would be pickled as a class
    if value is None:
        return None
    if isinstance(value, bool):
        return bool(value)
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, Mapping):
        return {
            _plain(key, f"{where} key {key!r}"): _plain(item, f"{where}[{key!r}]")
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        items = [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise ValueError(
        f"save_model: {where} is a {type(value).__name__} ({value!r:.80}); a model file keeps "
        "only str, int, float, bool, None, tensors, and lists, tuples and dicts of them, so it "
        "loads without unpickling code. Convert it (e.g. str(path), float(x)) or leave it out."
    )


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a :func:`save_model` file without building the model."""
    file = Path(path)
    if not file.exists():
        raise DataFileError(f"{file}: no such model file.")
    if file.is_dir():
        raise DataFileError(
            f"{file}: is a directory; expected a model .pt file (e.g. DIR/model.pt)."
        )
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for truncated/foreign files
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()  # no terminal colour codes
        if "Weights only load failed" in text:
            raise DataFileError(
                f"{file}: not a bettiscope model file: it holds Python objects besides weights "
                "(a training checkpoint? `bettiscope train` writes the model as DIR/model.pt); "
                "not loaded, since unpickling such objects can run code."
            ) from None
        reason = text.splitlines()[0] if text else type(error).__name__
        raise DataFileError(
            f"{file}: not a readable model file (truncated, corrupt or not written by "
            f"bettiscope save_model): {reason[:200]}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise DataFileError(
            f"{file}: not a bettiscope CNN file (no '{FORMAT_NAME}' marker); save models with "
            "bettiscope.models.cnn.save_model."
        )
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise DataFileError(
            f"{file}: model file format version {version!r} is not supported by this bettiscope "
            f"(expects {FORMAT_VERSION})."
        )
    if not isinstance(payload.get("config"), dict) or not isinstance(
        payload.get("state_dict"), dict
    ):
        raise DataFileError(f"{file}: model file lacks its 'config' or 'state_dict'.")
    return payload


def load_model(
    path: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> tuple[CNN, CNNConfig]:
    """Load a CNN written by :func:`save_model`.

    Parameters
    ----------
    path : path-like
        The model file.
    device : str or torch.device, default="cpu"
        Where to put the model.

    Returns
    -------
    model : CNN
        Rebuilt from the stored config, weights loaded, in eval mode. The file's ``extra`` dict
        is attached as ``model.extra``.
    cfg : CNNConfig
        The stored config.

    Raises
    ------
    ValueError
        ``device`` is not a device, or one this machine does not have (checked first).
    DataFileError
        Missing, truncated or foreign file, or a state dict that does not fit the config
        (the message names the file and the first mismatches).
    """
    target = _check_device(device, "load_model")
    file = Path(path)
    payload = load_checkpoint(file)
    try:
        cfg = CNNConfig.from_dict(payload["config"])
    except (TypeError, ValueError) as error:
        raise DataFileError(f"{file}: stored config is invalid: {error}") from None
    try:
        model = build_cnn(cfg)
    except ValueError as error:
        raise DataFileError(f"{file}: cannot rebuild the stored model: {error}") from None
    state = payload["state_dict"]
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"missing {missing[:3]}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:3]}")
        if wrong_shape:
            parts.append(f"wrong shape (file vs config) {wrong_shape[:3]}")
        raise DataFileError(
            f"{file}: weights do not match the stored config ({'; '.join(parts)}); the file is "
            "inconsistent, e.g. a pruned model saved with the unpruned config."
        )
    bad = [
        k
        for k, v in state.items()
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(v.isfinite().all())
    ]
    if bad:
        raise DataFileError(
            f"{file}: the weights hold NaN or infinity ({', '.join(bad[:3])}); the model "
            "diverged or the file was damaged. Use an earlier checkpoint or train again."
        )
    model.load_state_dict(state)
    model.extra = payload.get("extra") or {}
    try:
        model.to(target)
    except (RuntimeError, AssertionError) as error:  # a backend that exists but fails here
        raise ValueError(
            f"load_model: cannot move the model to device {device!r} ({error}); use device='cpu'."
        ) from None
    model.eval()
    return model, cfg


def _check_device(device: Any, caller: str) -> torch.device:
    """``device`` as a ``torch.device`` this machine has; a one-line error otherwise."""
    from bettiscope.training import resolve_device  # training imports nothing from models

    try:
        return resolve_device(device)
    except ValueError as error:
        raise ValueError(f"{caller}: {error}") from None

"""Settings of the main job as dataclasses: loaded from YAML or TOML, overridden by ``key=value``.

A settings file mirrors the dataclasses: one table (TOML) or mapping (YAML) per section, e.g. ::

    # demo.toml
    [compare]
    seeds = 5
    activations = ["proposed", "relu", "tanh"]

    [run]
    backend = "ray"

The command line overrides single settings with dotted names (``--set compare.seeds=5``); the
value is read as YAML (``5``, ``2.5e-3``, ``true``, ``null``, ``[a, b]``) and a comma-separated
string is accepted for a list (``--set compare.activations=relu,tanh``). Every key is checked:
an unknown one is an error naming the key, the file and the closest known name, and a value of
the wrong type is an error naming the setting and the type it needs. The resolved settings are
saved in the run folder (``config.yaml``) and inside ``results.json``.

The generic functions (:func:`config_from_dict`, :func:`apply_overrides`, :func:`load_config`)
work for any dataclass whose fields are bool, int, float, str, ``Literal[...]``, lists of those,
``X | None``, ``dict`` or nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from bettiscope.storage import atomic_write_text, to_jsonable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "CompareSettings",
    "DatasetsSettings",
    "DemoConfig",
    "PruningSettings",
    "RunSettings",
    "ShapesSettings",
    "TraceSettings",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "resolve_config",
    "save_config",
]

C = TypeVar("C")


# --------------------------------------------------------------------------------------------
# the demo's settings
# --------------------------------------------------------------------------------------------


def _check(condition: bool, setting: str, message: str) -> None:
    if not condition:
        raise ValueError(f"setting {setting}: {message}")


@dataclass
class RunSettings:
    """Where and how the jobs run."""

    #: "local" = processes on this machine; "ray" = a Ray cluster (docs/cluster.md).
    backend: Literal["local", "ray"] = "local"
    #: Ray address ("auto", "HOST:6379", "ray://HOST:10001"); none = start a local Ray instance.
    ray_address: str | None = None
    #: Worker processes for the local backend; 1 runs jobs inline (slowest, easiest to debug).
    workers: int = 2
    #: Torch device for training ("cpu", "cuda", "cuda:1").
    device: str = "cpu"
    #: Torch CPU threads for work done in the main process (workers always use 1); more than
    #: one slows these small models down on a busy machine.
    threads: int = 1
    #: Base seed; every job derives its own seed from it and records it.
    seed: int = 0

    def __post_init__(self) -> None:
        _check(self.workers >= 1, "run.workers", f"must be >= 1; got {self.workers}.")
        _check(self.threads >= 1, "run.threads", f"must be >= 1; got {self.threads}.")


@dataclass
class ShapesSettings:
    """Stage 0: Betti numbers of simple shapes with both metrics (a sanity check of the engine)."""

    enabled: bool = True


@dataclass
class DatasetsSettings:
    """Stage 1: the built-in synthetic data sets, measured vs true Betti numbers, with pictures."""

    enabled: bool = True
    #: Built-in data sets to generate and measure (names from ``bettiscope data list``).
    names: list[str] = field(
        default_factory=lambda: [
            "D-I",
            "D-II",
            "D-III",
            "disks-grid",
            "linked-rings",
            "nested-shells",
        ]
    )
    #: Points drawn in each scatter picture (the measurement uses every point).
    plot_points: int = 5000

    def __post_init__(self) -> None:
        from bettiscope.datasets.registry import get_spec

        _check(self.plot_points >= 1, "datasets.plot_points", "must be >= 1.")
        for name in self.names:
            try:
                get_spec(name)
            except ValueError as error:
                raise ValueError(f"setting datasets.names: {error}") from None


@dataclass
class CompareSettings:
    """Stage 2: the activation comparison on one synthetic set, with few seeds (a demo)."""

    enabled: bool = True
    dataset: str = "D-I"
    #: Generator parameters; the default halves D-I's grid resolution (about 2,000 training
    #: points instead of 10,050) so the comparison fits the demo's time budget.
    dataset_params: dict[str, Any] = field(default_factory=lambda: {"spacing": 0.04})
    activations: list[str] = field(
        default_factory=lambda: ["proposed", "relu", "leaky_relu", "tanh"]
    )
    #: Paired evaluation seeds per activation (the full study uses >= 10).
    seeds: int = 5
    #: Seeds on which the learning rate is tuned (the full study uses 3).
    tuning_seeds: int = 1
    #: Epoch budget per run; a run that has not reached the target by then counts as a miss.
    max_epochs: int = 300
    #: Learning rates tried on the tuning seeds; one value skips tuning.
    lr_grid: list[float] = field(default_factory=lambda: [0.003, 0.01, 0.03])
    #: Betti traces every this many epochs in evaluation runs (0 = before and after training).
    trace_every: int = 0

    def __post_init__(self) -> None:
        _check(self.seeds >= 1, "compare.seeds", f"must be >= 1; got {self.seeds}.")
        _check(
            self.tuning_seeds >= 1,
            "compare.tuning_seeds",
            f"must be >= 1; got {self.tuning_seeds}.",
        )
        _check(self.max_epochs >= 1, "compare.max_epochs", f"must be >= 1; got {self.max_epochs}.")
        _check(len(self.activations) >= 1, "compare.activations", "name at least one.")
        _check(len(self.lr_grid) >= 1, "compare.lr_grid", "give at least one learning rate.")
        _check(all(lr > 0 for lr in self.lr_grid), "compare.lr_grid", "rates must be > 0.")
        _check(self.trace_every >= 0, "compare.trace_every", "must be >= 0.")


@dataclass
class TraceSettings:
    """Stage 3: per-layer Betti numbers during training (heat maps layer x epoch)."""

    enabled: bool = True
    dataset: str = "D-I"
    activations: list[str] = field(default_factory=lambda: ["relu", "tanh", "proposed"])
    #: Training epochs per activation (full-batch Adam; no early stop, so heat maps line up).
    epochs: int = 300
    #: Betti numbers are measured every this many epochs (and before training and at the end).
    every: int = 50
    lr: float = 0.02
    #: MLP hidden width and depth (dense layers counting the logits): the Naitzat default.
    width: int = 15
    depth: int = 10

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, "trace.epochs", f"must be >= 1; got {self.epochs}.")
        _check(self.every >= 1, "trace.every", f"must be >= 1; got {self.every}.")
        _check(self.lr > 0, "trace.lr", f"must be > 0; got {self.lr}.")
        _check(self.width >= 1, "trace.width", f"must be >= 1; got {self.width}.")
        _check(self.depth >= 2, "trace.depth", f"must be >= 2; got {self.depth}.")
        _check(len(self.activations) >= 1, "trace.activations", "name at least one.")


@dataclass
class PruningSettings:
    """Stage 4: a CNN trained on digits, pruned by the Betti rule and by the baselines."""

    enabled: bool = True
    #: Image data set (offline: "digits", scikit-learn's 8x8 digits).
    dataset: str = "digits"
    model: Literal["vgg", "resnet"] = "vgg"
    #: Training epochs of the CNN before pruning.
    epochs: int = 10
    #: Training images whose feature maps form each filter's point cloud.
    samples: int = 500
    #: The paper's rule: remove every filter whose Betti score is above this.
    threshold: float | None = 300.0
    #: Instead of the threshold: remove this fraction of filters with the highest scores.
    ratio: float | None = None
    #: Fine-tuning epochs after pruning, the same for every method (0 = none).
    finetune_epochs: int = 2
    #: Baselines to compare ("all", or names: random, l1, hrank, l1-matched, ...).
    baselines: list[str] = field(default_factory=lambda: ["all"])

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, "pruning.epochs", f"must be >= 1; got {self.epochs}.")
        _check(self.samples >= 2, "pruning.samples", f"must be >= 2; got {self.samples}.")
        _check(
            self.threshold is None or self.ratio is None,
            "pruning.threshold",
            "give one rule: threshold (the paper's 300) or ratio; set the other to null.",
        )
        _check(
            self.threshold is not None or self.ratio is not None,
            "pruning.threshold",
            "give one rule: threshold (the paper's 300) or ratio.",
        )
        _check(
            self.ratio is None or 0 < self.ratio < 1,
            "pruning.ratio",
            f"must be between 0 and 1 (exclusive); got {self.ratio}.",
        )
        _check(
            self.finetune_epochs >= 0,
            "pruning.finetune_epochs",
            f"must be >= 0; got {self.finetune_epochs}.",
        )
        _check(
            self.threshold is None or self.threshold >= 0,
            "pruning.threshold",
            f"must be >= 0; got {self.threshold}.",
        )
        from bettiscope.pruning.flow import BASELINES  # torch: loaded only with these settings

        unknown = [b for b in self.baselines if b not in ("all", "none", *BASELINES)]
        _check(
            not unknown,
            "pruning.baselines",
            f"unknown {unknown}; use 'all', 'none' or names from {', '.join(BASELINES)}.",
        )


@dataclass
class DemoConfig:
    """Everything ``bettiscope demo`` does; the defaults finish in about 10 minutes on 2 cores."""

    run: RunSettings = field(default_factory=RunSettings)
    shapes: ShapesSettings = field(default_factory=ShapesSettings)
    datasets: DatasetsSettings = field(default_factory=DatasetsSettings)
    compare: CompareSettings = field(default_factory=CompareSettings)
    trace: TraceSettings = field(default_factory=TraceSettings)
    pruning: PruningSettings = field(default_factory=PruningSettings)


# --------------------------------------------------------------------------------------------
# generic machinery
# --------------------------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        return f"list of {_type_name(inner)}"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


class _MismatchError(Exception):
    """A value does not fit a type (internal; turned into a ValueError naming the setting)."""


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Return ``value`` converted to ``tp`` or raise _MismatchError; nested dataclasses recurse."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except _MismatchError:
                continue
        raise _MismatchError
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise _MismatchError
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        if isinstance(value, str):  # "relu,tanh" from the command line
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            raise _MismatchError
        return [_coerce(v, inner, where) for v in value]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise _MismatchError
        return dict(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise _MismatchError
        return config_from_dict(tp, value, _prefix=where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _MismatchError
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _MismatchError
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "3e-3" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise _MismatchError from None
        raise _MismatchError
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # e.g. a data set named by a number-like string
        raise _MismatchError
    raise TypeError(f"config: unsupported field type {tp!r} at {where}")  # a bug, not user input


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _unknown_key(key: str, known: list[str], prefix: str, source: str) -> ValueError:
    name = f"{prefix}.{key}" if prefix else key
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" Did you mean '{prefix + '.' if prefix else ''}{close[0]}'?" if close else ""
    section = f"in [{prefix}]" if prefix else "at the top level"
    return ValueError(
        f"unknown setting '{name}' in {source}.{hint} Known settings {section}: {', '.join(known)}."
    )


def config_from_dict(
    cls: type[C], data: dict[str, Any], *, source: str = "the settings", _prefix: str = ""
) -> C:
    """Build dataclass ``cls`` from a (nested) dict, rejecting unknown keys and wrong types.

    Parameters
    ----------
    cls : dataclass type
        The settings class, e.g. :class:`DemoConfig`.
    data : dict
        Values by field name; nested dataclasses take nested dicts. Missing keys keep defaults.
    source : str, default="the settings"
        Where the values came from (a file name), used in messages.

    Raises
    ------
    ValueError
        An unknown key (with the closest known name), a value of the wrong type, or a value the
        class's own checks reject.
    """
    if not isinstance(data, dict):
        where = f"[{_prefix}]" if _prefix else "the top level"
        raise ValueError(
            f"{source}: {where} must be a table of settings (key = value); "
            f"got {type(data).__name__}."
        )
    types_ = _field_types(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        key = str(key)
        where = f"{_prefix}.{key}" if _prefix else key
        if key not in types_:
            raise _unknown_key(key, list(types_), _prefix, source)
        tp = types_[key]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            if not isinstance(value, dict):
                raise ValueError(
                    f"setting '{where}' in {source} is a section: give a table of settings "
                    f"({', '.join(_field_types(tp))}), not {value!r}."
                )
            kwargs[key] = config_from_dict(tp, value, source=source, _prefix=where)
            continue
        try:
            kwargs[key] = _coerce(value, tp, where)
        except _MismatchError:
            raise ValueError(
                f"setting '{where}' in {source} must be {_type_name(tp)}; got {value!r}."
            ) from None
    return cls(**kwargs)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The settings as a plain nested dict (JSON- and YAML-ready)."""
    return to_jsonable(dataclasses.asdict(cfg))


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text  # not YAML: take it as a string and let the type check decide


def apply_overrides(cfg: C, overrides: list[str] | tuple[str, ...]) -> C:
    """Return a copy of ``cfg`` with ``"section.key=value"`` overrides applied.

    Parameters
    ----------
    cfg : dataclass instance
        The settings to start from (not modified).
    overrides : list of str
        ``dotted.name=value``; the value is parsed as YAML, and lists also accept ``a,b,c``.

    Raises
    ------
    ValueError
        A malformed override, an unknown name, or a value of the wrong type.
    """
    data = config_to_dict(cfg)
    for override in overrides:
        name, sep, text = override.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(
                f"--set {override!r}: write an override as section.key=value, "
                "e.g. --set compare.seeds=5."
            )
        parts = name.split(".")
        node = data
        for depth, part in enumerate(parts):
            here = ".".join(parts[:depth])
            if not isinstance(node, dict) or part not in node:
                known = list(node) if isinstance(node, dict) else []
                raise _unknown_key(part, known, here, f"--set {override!r}")
            if depth == len(parts) - 1:
                if isinstance(node[part], dict) and _is_section(cfg, parts):
                    raise ValueError(
                        f"--set {override!r}: '{name}' is a section; set one of its keys "
                        f"({', '.join(node[part])}), e.g. --set {name}.{next(iter(node[part]))}=..."
                    )
                node[part] = _parse_value(text)
            else:
                node = node[part]
    return config_from_dict(type(cfg), data, source="--set")


def _is_section(cfg: Any, parts: list[str]) -> bool:
    obj = cfg
    for part in parts:
        obj = getattr(obj, part, None)
    return dataclasses.is_dataclass(obj)


def load_config(path: str | os.PathLike[str], cls: type[C] = DemoConfig) -> C:  # type: ignore[assignment]
    """Read settings from a ``.yaml``/``.yml`` or ``.toml`` file.

    Raises
    ------
    ValueError
        Missing or unparsable file (with the parser's line), unknown keys, wrong types.
    """
    file = Path(path)
    if file.is_dir():
        raise ValueError(f"{file}: is a folder; give a settings file (.toml, .yaml or .yml).")
    if not file.is_file():
        raise ValueError(f"{file}: no such settings file.")
    suffix = file.suffix.lower()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{file}: cannot read ({error}).") from None
    if suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"{file}: not valid YAML ({error}).") from None
    elif suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{file}: not valid TOML ({error}).") from None
    else:
        raise ValueError(f"{file}: settings must be a .yaml, .yml or .toml file; got {suffix!r}.")
    if data is None:  # an empty YAML file: all defaults
        data = {}
    return config_from_dict(cls, data, source=str(file))


def resolve_config(
    path: str | os.PathLike[str] | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    cls: type[C] = DemoConfig,  # type: ignore[assignment]
) -> C:
    """Defaults, then the file at ``path`` (if any), then the ``key=value`` overrides."""
    cfg = load_config(path, cls) if path is not None else cls()
    return apply_overrides(cfg, overrides) if overrides else cfg


def save_config(cfg: Any, path: str | os.PathLike[str]) -> Path:
    """Write the resolved settings as YAML, atomically (readable back with :func:`load_config`)."""
    text = "# bettiscope settings, as resolved for this run (defaults + file + --set)\n"
    text += yaml.safe_dump(config_to_dict(cfg), sort_keys=False, default_flow_style=None)
    return atomic_write_text(path, text)

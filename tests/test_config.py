"""Demo settings: files (YAML, TOML), --set overrides, unknown keys and wrong types rejected."""

from __future__ import annotations

import re

import pytest

from bettiscope.config import (
    DemoConfig,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    load_config,
    resolve_config,
    save_config,
)


def test_defaults_round_trip(tmp_path) -> None:
    cfg = DemoConfig()
    path = save_config(cfg, tmp_path / "config.yaml")
    assert path.read_text().startswith("# bettiscope settings")
    assert load_config(path) == cfg
    assert config_from_dict(DemoConfig, config_to_dict(cfg)) == cfg


def test_yaml_and_toml_give_the_same_settings(tmp_path) -> None:
    (tmp_path / "a.yaml").write_text(
        "compare:\n  seeds: 5\n  activations: [relu, tanh]\n  lr_grid: [0.01, 3e-3]\n"
        "run:\n  backend: ray\n  ray_address: auto\n"
    )
    (tmp_path / "a.toml").write_text(
        '[compare]\nseeds = 5\nactivations = ["relu", "tanh"]\nlr_grid = [0.01, 0.003]\n'
        '[run]\nbackend = "ray"\nray_address = "auto"\n'
    )
    from_yaml = load_config(tmp_path / "a.yaml")
    assert from_yaml == load_config(tmp_path / "a.toml")
    assert from_yaml.compare.seeds == 5
    assert from_yaml.compare.activations == ["relu", "tanh"]
    assert from_yaml.compare.max_epochs == DemoConfig().compare.max_epochs  # untouched default
    assert from_yaml.run.backend == "ray"


def test_empty_yaml_is_all_defaults(tmp_path) -> None:
    (tmp_path / "empty.yml").write_text("# nothing\n")
    assert load_config(tmp_path / "empty.yml") == DemoConfig()


def test_overrides_parse_values() -> None:
    cfg = apply_overrides(
        DemoConfig(),
        [
            "compare.seeds=7",
            "compare.activations=relu, tanh",
            "compare.lr_grid=[0.1, 1]",
            "pruning.threshold=250",
            "pruning.ratio=null",
            "shapes.enabled=false",
            "run.ray_address=ray://head:10001",
        ],
    )
    assert cfg.compare.seeds == 7
    assert cfg.compare.activations == ["relu", "tanh"]
    assert cfg.compare.lr_grid == [0.1, 1.0]
    assert cfg.pruning.threshold == 250.0 and isinstance(cfg.pruning.threshold, float)
    assert cfg.pruning.ratio is None
    assert cfg.shapes.enabled is False
    assert cfg.run.ray_address == "ray://head:10001"


def test_overrides_do_not_modify_the_input() -> None:
    cfg = DemoConfig()
    apply_overrides(cfg, ["compare.seeds=9"])
    assert cfg.compare.seeds == DemoConfig().compare.seeds


def test_file_then_overrides(tmp_path) -> None:
    (tmp_path / "c.toml").write_text("[trace]\nepochs = 50\nevery = 10\n")
    cfg = resolve_config(tmp_path / "c.toml", ["trace.every=5"])
    assert (cfg.trace.epochs, cfg.trace.every) == (50, 5)


class TestErrors:
    def test_unknown_key_in_file_suggests_the_close_one(self, tmp_path) -> None:
        (tmp_path / "bad.toml").write_text("[compare]\nsedes = 3\n")
        with pytest.raises(
            ValueError,
            match=r"unknown setting 'compare.sedes' in .*bad.toml\. Did you mean 'compare.seeds'\?"
            r" Known settings in \[compare\]: enabled, dataset",
        ):
            load_config(tmp_path / "bad.toml")

    def test_unknown_section(self, tmp_path) -> None:
        (tmp_path / "bad.yaml").write_text("pruneing:\n  epochs: 3\n")
        with pytest.raises(ValueError, match=r"unknown setting 'pruneing'.*'pruning'\?"):
            load_config(tmp_path / "bad.yaml")

    def test_unknown_override(self) -> None:
        with pytest.raises(
            ValueError, match=r"unknown setting 'trace.epoch' in --set.*'trace.epochs'"
        ):
            apply_overrides(DemoConfig(), ["trace.epoch=3"])

    @pytest.mark.parametrize(
        ("override", "message"),
        [
            ("compare.seeds=three", r"'compare.seeds' in --set must be int; got 'three'"),
            ("compare.seeds=2.5", r"'compare.seeds' in --set must be int; got 2.5"),
            ("shapes.enabled=maybe", r"'shapes.enabled' in --set must be bool"),
            ("run.backend=dask", r"'run.backend' in --set must be 'local' \| 'ray'; got 'dask'"),
            ("compare.lr_grid=[a]", r"'compare.lr_grid' in --set must be list of float"),
        ],
    )
    def test_wrong_types(self, override: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            apply_overrides(DemoConfig(), [override])

    @pytest.mark.parametrize(
        ("override", "message"),
        [
            ("compare.seeds=0", r"setting compare.seeds: must be >= 1; got 0"),
            ("pruning.threshold=null;pruning.ratio=1.5", r"pruning.ratio: must be between 0 and 1"),
            ("pruning.ratio=0.3", r"setting pruning.threshold: give one rule: .* or ratio; set"),
            ("pruning.threshold=null", r"setting pruning.threshold: give one rule"),
            ("run.workers=0", r"setting run.workers: must be >= 1"),
        ],
    )
    def test_out_of_range(self, override: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            apply_overrides(DemoConfig(), override.split(";"))

    def test_malformed_override(self) -> None:
        with pytest.raises(ValueError, match=r"write an override as section.key=value"):
            apply_overrides(DemoConfig(), ["compare.seeds"])

    def test_override_of_a_whole_section(self) -> None:
        with pytest.raises(ValueError, match=r"'compare' is a section; set one of its keys"):
            apply_overrides(DemoConfig(), ["compare=3"])

    def test_section_given_a_value_in_a_file(self, tmp_path) -> None:
        (tmp_path / "bad.yaml").write_text("compare: 3\n")
        with pytest.raises(ValueError, match=r"'compare' in .*bad.yaml is a section"):
            load_config(tmp_path / "bad.yaml")

    def test_bad_syntax_and_files(self, tmp_path) -> None:
        (tmp_path / "bad.toml").write_text("[compare\n")
        with pytest.raises(ValueError, match=r"bad.toml: not valid TOML"):
            load_config(tmp_path / "bad.toml")
        (tmp_path / "bad.yaml").write_text("a: [1,\n")
        with pytest.raises(ValueError, match=r"bad.yaml: not valid YAML"):
            load_config(tmp_path / "bad.yaml")
        (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
        with pytest.raises(ValueError, match=r"the top level must be a table of settings"):
            load_config(tmp_path / "list.yaml")
        (tmp_path / "c.json").write_text("{}")
        with pytest.raises(ValueError, match=r"must be a .yaml, .yml or .toml file; got '.json'"):
            load_config(tmp_path / "c.json")
        with pytest.raises(ValueError, match=r"missing.toml: no such settings file"):
            load_config(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('datasets.names=["nope"]', "setting datasets.names: unknown data set 'nope'"),
        ('pruning.baselines=["foo"]', "setting pruning.baselines: unknown ['foo']"),
        ("pruning.threshold=-5", "setting pruning.threshold: must be >= 0"),
    ],
)
def test_values_a_stage_would_refuse_are_refused_when_settings_load(setting, message) -> None:
    # before, the demo trained for minutes and failed in the stage, and --resume could not mend it
    with pytest.raises(ValueError, match=re.escape(message)):
        resolve_config(None, [setting])


def test_a_folder_is_no_settings_file(tmp_path) -> None:
    with pytest.raises(ValueError, match="is a folder; give a settings file"):
        resolve_config(tmp_path, [])

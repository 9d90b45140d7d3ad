"""The public surface: what `__all__` promises is importable and documented."""

from __future__ import annotations

import importlib

import pytest

import bettiscope

MODULES = ["bettiscope", "bettiscope.topology", "bettiscope.storage", "bettiscope.datasets.shapes"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_have_docstrings(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__
    for attribute in module.__all__:
        obj = getattr(module, attribute)
        if callable(obj):
            assert obj.__doc__, f"{name}.{attribute} has no docstring"


def test_version_matches_metadata() -> None:
    from importlib.metadata import version

    assert bettiscope.__version__ == version("bettiscope")


def test_cli_help_lists_commands() -> None:
    from typer.testing import CliRunner

    from bettiscope.cli import app

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "betti" in result.stdout and "demo" in result.stdout

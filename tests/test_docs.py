"""Code examples in the documentation run as written."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _python_block(page: str, heading: str) -> str:
    text = (DOCS / page).read_text()
    section = text.split(f"\n{heading}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no python block under {heading!r} in {page}"
    return match.group(1)


def test_study_python_example_runs(tmp_path, monkeypatch, capsys) -> None:
    code = _python_block("study.md", "### From Python")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/study.md", "exec"), {"__name__": "docs_example"})
    printed = capsys.readouterr().out
    assert re.search(r"at most [\d.e+-]+ core-hours", printed)
    assert not (tmp_path / "runs").exists()  # the plan trains nothing and writes nothing


PAGES = sorted(DOCS.glob("*.md")) + [DOCS.parent / "README.md"]


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_python_blocks_at_least_compile(page: Path) -> None:
    text = page.read_text()
    for number, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.DOTALL)):
        compile(block, f"{page.name} block {number}", "exec")


def test_readme_betti_example_gives_the_numbers_it_shows() -> None:
    namespace: dict = {}
    checked = 0
    for line in _python_block("../README.md", "## Using it").splitlines():
        call, _, comment = line.partition("#")
        shown = re.match(r"\s*(\(\d+(?:, \d+)*\))", comment)
        if shown is None:
            exec(line, namespace)  # imports and data
            continue
        # a BettiResult is a tuple with a longer repr: compare the numbers
        assert tuple(eval(call, namespace)) == ast.literal_eval(shown.group(1)), line
        checked += 1
    assert checked == 2

"""The README is executed: its ``python`` examples run as doctests (outputs, tracebacks
and all), and its set-up commands are the ones CI runs."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _python_blocks(text: str) -> str:
    """The README's ```python blocks, joined, as one doctest text."""
    return "\n\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL))


def test_readme_examples_run_as_doctests(tmp_path, monkeypatch):
    pytest.importorskip("safetensors")  # the training example saves a model
    monkeypatch.chdir(tmp_path)
    text = _python_blocks(README.read_text(encoding="utf-8"))
    assert text.count(">>>") > 50, "the README's examples were not found"
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, "README.md", str(README), 0)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(optionflags=flags)
    output: list[str] = []
    runner.run(test, out=output.append)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted > 50
    assert failed == 0, "".join(output)


def test_readme_tracebacks_name_the_public_classes():
    text = README.read_text(encoding="utf-8")
    assert "tapegrad._errors." not in text  # the real output says tapegrad.ShapeError


def test_ci_runs_the_readme_commands_verbatim():
    readme = README.read_text(encoding="utf-8")
    commands = re.search(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    assert commands is not None
    first, second = commands.group(1).strip().splitlines()
    assert first.startswith("python3 -m venv .venv") and "python -m tapegrad" in first
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert second in ci, f"{second!r} is not a line of .ci/run"

"""Packaging: one version everywhere, real metadata, manylinux abi3 wheels, the release.

The wheel itself is built and tried in a fresh venv by ``.ci/wheel-check`` (part of
``.ci/run``); ``test_the_release_wheel`` runs that script too, when
``TAPEGRAD_WHEEL_TEST=1`` (it takes minutes: a release build).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
from pathlib import Path

import pytest
import tapegrad as tg

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
in_source_tree = pytest.mark.skipif(
    not PYPROJECT.exists(), reason="runs against an installed wheel, not the source"
)


def setting(text: str, section: str, key: str) -> str:
    """The value of ``key = ...`` in ``[section]`` of a TOML file (a line-level read:
    tomllib is not in Python 3.9)."""
    body = text.split(f"\n[{section}]\n", 1)[1].split("\n[", 1)[0]
    match = re.search(rf"^{re.escape(key)} = (.+)$", body, re.MULTILINE)
    assert match, f"no {key} in [{section}]"
    return match.group(1).strip().strip('"')


def installed_distribution() -> importlib.metadata.Distribution:
    """The installed tapegrad that is imported here, or a skip."""
    try:
        dist = importlib.metadata.distribution("tapegrad")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("tapegrad is not installed (imported from the source tree)")
    located = Path(str(dist.locate_file("tapegrad/__init__.py"))).resolve()
    if located != Path(tg.__file__).resolve():
        pytest.skip(f"tapegrad is imported from {tg.__file__}, not from {located}")
    return dist


def test_the_installed_version_is_tg_version():
    dist = installed_distribution()
    assert dist.version == tg.__version__ == importlib.metadata.version("tapegrad")


def test_the_installed_metadata():
    meta = installed_distribution().metadata
    assert meta["Summary"] == (
        "Reverse-mode automatic differentiation for Python with a Rust core"
    )
    assert meta["Requires-Python"] == ">=3.9"
    classifiers = meta.get_all("Classifier") or []
    assert "License :: OSI Approved :: MIT License" in classifiers
    assert "Typing :: Typed" in classifiers
    for url in meta.get_all("Project-URL") or []:
        assert "example" not in url, url


@in_source_tree
def test_one_version_everywhere():
    version = setting(PYPROJECT.read_text(), "project", "version")
    cargo = setting((ROOT / "Cargo.toml").read_text(), "workspace.package", "version")
    assert tg.__version__ == version == cargo
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)


@in_source_tree
def test_metadata_has_no_placeholders():
    pyproject = PYPROJECT.read_text()
    for text in (pyproject, (ROOT / "Cargo.toml").read_text()):
        assert not re.search(r"example\.(invalid|com|org)|TODO|FIXME", text)
    assert setting(pyproject, "project", "description").startswith("Reverse-mode")
    assert setting(pyproject, "project", "license") == '{ text = "MIT" }'
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert '"License :: OSI Approved :: MIT License"' in pyproject


@in_source_tree
def test_wheels_are_abi3_and_manylinux2014():
    pyproject = PYPROJECT.read_text()
    assert setting(pyproject, "tool.maturin", "compatibility") == "manylinux2014"
    assert setting(pyproject, "tool.maturin", "auditwheel") == "check"
    # abi3 from Python 3.9: one wheel per platform for every CPython the package takes.
    assert '"abi3-py39"' in (ROOT / "Cargo.toml").read_text()
    assert setting(pyproject, "project", "requires-python") == ">=3.9"
    # maturin 1.9 is the first whose build backend installs Rust when cargo is missing.
    assert 'requires = ["maturin>=1.9,<2"]' in pyproject


@in_source_tree
def test_the_release_workflow():
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    for runner, target in (
        ("ubuntu-22.04", "x86_64"),
        ("ubuntu-22.04-arm", "aarch64"),
        ("macos-15-intel", "x86_64"),
        ("macos-14", "aarch64"),
        ("windows-latest", "x64"),
    ):
        assert (
            f"runner: {runner}, os: " in workflow and f"target: {target} " in workflow
        )
    assert workflow.count("uses: PyO3/maturin-action@v1") == 2  # wheels and sdist
    assert "command: sdist" in workflow and 'manylinux: "2014"' in workflow
    assert "uses: pypa/gh-action-pypi-publish@release/v1" in workflow
    assert "id-token: write" in workflow  # trusted publishing: no token in the repo
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    jobs = yaml.safe_load(workflow)["jobs"]
    assert set(jobs) == {"wheels", "sdist", "publish"}
    assert len(jobs["wheels"]["strategy"]["matrix"]["include"]) == 5
    assert set(jobs["publish"]["needs"]) == {"wheels", "sdist"}


@pytest.mark.skipif(
    os.environ.get("TAPEGRAD_WHEEL_TEST") != "1",
    reason="builds the release wheel (minutes): set TAPEGRAD_WHEEL_TEST=1",
)
@in_source_tree
def test_the_release_wheel():
    """`.ci/wheel-check`: build, tag, fresh venv, `python -m tapegrad`, tests.

    ``TAPEGRAD_WHEEL=path`` checks a wheel built already instead of building one.
    """
    wheel = os.environ.get("TAPEGRAD_WHEEL")
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "wheel-check"), *([wheel] if wheel else [])],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "the wheel passed" in result.stdout

"""Reproducers for unclear failures (issue 13): jacfwd of a non-Tensor function, temporary
files a killed save leaves, saving onto a symbolic link, loading a truncated file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tapegrad as tg
from tapegrad import func

# Children import tapegrad from where this process did (the source tree in an editable
# install, site-packages in CI).
PYTHON_DIR = str(Path(tg.__file__).resolve().parent.parent)


@pytest.mark.parametrize("transform", [func.jacrev, func.jacfwd, func.hessian])
@pytest.mark.parametrize(
    ("f", "kind"),
    [
        (lambda a: (a, a), "tuple"),
        (lambda a: 1.0, "float"),
        (lambda a: None, "NoneType"),
    ],
)
def test_jacobians_of_non_tensor_functions_raise_the_same_dtype_error(
    transform, f, kind
):
    with pytest.raises(
        tg.DTypeError, match=f"the function must return a Tensor, got {kind}"
    ):
        transform(f)(tg.ones(3))


def test_jacfwd_checks_the_output_of_a_function_of_an_empty_tensor():
    with pytest.raises(tg.DTypeError, match="jacfwd: .* got tuple"):
        func.jacfwd(lambda a: (a,))(tg.ones(0))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_killed_save_leaves_a_temporary_file_that_the_next_save_removes(tmp_path):
    target = tmp_path / "model.safetensors"
    # The child stops for good inside the write (after the temporary file is created).
    code = f"""
        import os, signal, tapegrad as tg
        from tapegrad import serialization
        real = os.fsync
        def killed(fd):
            os.kill(os.getpid(), signal.SIGKILL)
        os.fsync = killed
        tg.save({{"w": tg.ones(4)}}, {str(target)!r})
        """
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=dict(os.environ, PYTHONPATH=PYTHON_DIR),
        check=False,
        capture_output=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    stale = _leftovers(tmp_path)
    assert len(stale) == 1 and stale[0].startswith(".model.safetensors.tapegrad-")
    assert not target.exists()
    tg.save({"w": tg.ones(4)}, target)
    assert _leftovers(tmp_path) == []
    np.testing.assert_array_equal(tg.load(target)["w"].numpy(), np.ones(4))


def test_save_keeps_temporary_files_of_running_processes_and_unrelated_files(tmp_path):
    target = tmp_path / "m.safetensors"
    mine = tmp_path / f".m.safetensors.tapegrad-{os.getpid()}-abc.tmp"
    other = tmp_path / ".m.safetensors.someone-else.tmp"
    for p in (mine, other):
        p.write_bytes(b"x")
    tg.save({"w": tg.ones(2)}, target)
    assert mine.exists() and other.exists()


def test_saving_onto_a_symlink_writes_its_target(tmp_path):
    real = tmp_path / "real.safetensors"
    link = tmp_path / "link.safetensors"
    tg.save({"w": tg.zeros(2)}, real)
    link.symlink_to(real)
    tg.save({"w": tg.ones(2)}, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(tg.load(real)["w"].numpy(), np.ones(2))


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_loading_a_truncated_file_raises_a_file_format_error(tmp_path, keep):
    path = tmp_path / "big.safetensors"
    tg.save({"a": tg.ones(1000), "b": tg.zeros(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(tg.FileFormatError, match="big.safetensors"):
        tg.load(path)


def test_a_file_shrinking_during_load_cannot_crash_the_interpreter(tmp_path):
    # The file shrinks right after tg.load opens (or maps) it. Read into owned memory,
    # the shortened file is a FileFormatError; through a memory map the child died of
    # SIGBUS.
    path = tmp_path / "shrink.safetensors"
    tg.save({"a": tg.ones(2**20)}, path)
    code = f"""
        import builtins, os, tapegrad as tg
        real_open = builtins.open
        def shrinking_open(file, mode="r", *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            if str(file) == {str(path)!r} and "r" in mode:
                os.truncate(file, 100)  # after open, before the bytes are read
            return handle
        builtins.open = shrinking_open

        import safetensors
        real_safe_open = safetensors.safe_open

        class ShrinkingSafeOpen:  # the file shrinks once it is mapped
            def __init__(self, file, *args, **kwargs):
                self.inner = real_safe_open(file, *args, **kwargs)
                self.file = file
            def __enter__(self):
                self.handle = self.inner.__enter__()
                os.truncate(self.file, 100)
                return self.handle
            def __exit__(self, *exc):
                return self.inner.__exit__(*exc)

        safetensors.safe_open = ShrinkingSafeOpen
        try:
            tg.load({str(path)!r})
        except tg.TapegradError as e:
            print("error", type(e).__name__)
        """
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=dict(os.environ, PYTHONPATH=PYTHON_DIR),
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["error", "FileFormatError"]

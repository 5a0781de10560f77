"""tapegrad.distributed and DistributedDataParallel, run under ``mpiexec -n 2``.

Each test starts ``mpiexec`` on tests/distributed_worker.py (loopback, one thread per
rank) with a timeout, and checks its exit code and output; the assertions themselves
run inside the ranks. Skipped, with the reason, when mpi4py or mpiexec is missing
(``pip install "tapegrad[distributed]"``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
WORKER = HERE / "distributed_worker.py"


def _mpiexec() -> str | None:
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("mpi4py") is None,
        reason='mpi4py is not installed (pip install "tapegrad[distributed]")',
    ),
    pytest.mark.skipif(
        MPIEXEC is None,
        reason="no mpiexec on PATH or beside the interpreter (pip install mpich)",
    ),
]


def _env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ, TAPEGRAD_NUM_THREADS="1")
    python_dir = str(Path(__import__("tapegrad").__file__).parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([python_dir, env.get("PYTHONPATH", "")])
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(
    *args: str,
    ranks: int = 2,
    timeout: float = 60,
    check: bool = True,
    launcher: list[str] | None = None,
    env: dict[str, str] | None = None,
    worker: Path = WORKER,
):
    """Runs the worker scenario on ``ranks`` ranks; returns the finished process."""
    launcher = launcher or [MPIEXEC, "-n", str(ranks), sys.executable]
    command = [*launcher, str(worker), *args]
    env = env or _env()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
        for rank in range(ranks):
            assert f"OK rank {rank}" in done.stdout, done.stdout + done.stderr
    return done


def test_every_collective_and_reduce_op_on_both_dtypes_and_non_contiguous_tensors():
    run("collectives")


def test_a_single_rank_job_runs_every_collective():
    run("collectives", ranks=1)


def test_mismatched_shapes_dtypes_and_arguments_raise_on_every_rank():
    run("mismatch")


def test_a_collective_times_out_naming_the_rank_that_did_not_arrive():
    done = run("timeout")
    assert "TIMEOUT-RAISED" in done.stdout


def test_a_failing_rank_ends_the_job_with_its_traceback():
    start = time.monotonic()
    done = run("failing_rank", check=False, timeout=45)
    assert time.monotonic() - start < 30
    assert done.returncode != 0
    assert "[rank 1] RuntimeError: boom from rank 1" in done.stderr
    assert "OK rank" not in done.stdout


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_two_ranks_with_half_batches_train_like_one_rank(tmp_path, optimizer, dtype):
    """10 steps on 2 ranks (B/2 each) give one rank's parameters (batch B), and
    the ranks' parameters are bitwise identical (checked inside the worker). The
    2-rank run uses tiny buckets so that several all-reduces are in flight."""
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    run("train", optimizer, dtype, str(one), "25", ranks=1)
    run("train", optimizer, dtype, str(two), "0.0001", ranks=2)
    rtol = 1e-12 if dtype == "float64" else 1e-6
    with np.load(one) as a, np.load(two) as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            scale = np.abs(a[name]).max()
            np.testing.assert_allclose(b[name], a[name], rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_no_sync_accumulation_over_micro_batches_equals_one_big_batch(dtype):
    run("no_sync", dtype)


def test_ddp_broadcasts_rank_0s_parameters_and_buffers():
    run("buffers")


def test_ddp_works_with_checkpointing_inside_the_model():
    run("checkpoint")


def test_unused_parameters_are_found_or_reported():
    run("unused")


def test_distributed_sampler_partitions_and_reshuffles_identically():
    run("sampler")


def test_the_launcher_runs_a_script_on_n_ranks_with_the_wheels_mpiexec():
    launcher = [
        sys.executable,
        "-m",
        "tapegrad.distributed.run",
        "--nproc-per-node",
        "2",
    ]
    run("sampler", launcher=launcher)


def test_the_launcher_passes_a_hostfile_and_ranks_per_host(tmp_path):
    from tapegrad.distributed.run import build_command

    hosts = tmp_path / "hosts"
    hosts.write_text("node-a\nnode-b:8  # comment\n\n")
    command = build_command(
        ["--nproc-per-node", "3", "--hostfile", str(hosts), "t.py", "-x"]
    )
    assert command[1:] == [
        "-f",
        str(hosts),
        "-ppn",
        "3",
        "-n",
        "6",
        sys.executable,
        "t.py",
        "-x",
    ]
    assert Path(command[0]).name == "mpiexec"


def test_each_rank_gets_the_hosts_cores_divided_by_its_local_ranks():
    cores = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count()
    )
    env = _env(TAPEGRAD_NUM_THREADS=None, RAYON_NUM_THREADS=None)
    run("threads", str(max(1, cores // 2)), env=env)
    run("threads", "3", env=_env(TAPEGRAD_NUM_THREADS="3"))


def test_the_ddp_digits_example_reaches_the_same_accuracy_on_two_ranks():
    example = str(HERE.parent / "examples" / "ddp_digits.py")
    accuracies = []
    for ranks in (1, 2):
        done = subprocess.run(
            [MPIEXEC, "-n", str(ranks), sys.executable, example, "--epochs", "3"],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        found = re.search(rf"{ranks} rank\(s\): test accuracy ([\d.]+)%", done.stdout)
        assert found, done.stdout
        accuracies.append(float(found.group(1)))
    assert accuracies[0] > 70
    # The same examples in every step; only the rounding of the averaged gradient
    # differs, which may flip a prediction or two on the 360 test images.
    assert abs(accuracies[0] - accuracies[1]) <= 0.6, accuracies

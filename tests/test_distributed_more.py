"""DistributedDataParallel's gradient_as_bucket_view, async_op=True collectives,
process groups (new_group) and CNN training, under ``mpiexec`` (see
tests/test_distributed.py for how the jobs run; the assertions are in
tests/distributed_worker_more.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_distributed import pytestmark, run  # noqa: F401 (the skip marks apply here)

WORKER = Path(__file__).parent / "distributed_worker_more.py"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_as_bucket_view_makes_grads_views_that_train_like_copies(dtype):
    run("bucket_view", dtype, worker=WORKER)


def test_async_collectives_return_a_work_and_start_in_issue_order():
    run("async_ops", worker=WORKER)


def test_async_collectives_on_a_single_rank():
    run("async_ops", ranks=1, worker=WORKER)


def test_new_group_runs_collectives_and_ddp_among_its_ranks_only():
    run("groups", ranks=3, worker=WORKER, timeout=120)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_cnn_on_two_ranks_with_half_batches_trains_like_one_rank(tmp_path, optimizer):
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    run("cnn", optimizer, str(one), ranks=1, worker=WORKER)
    run("cnn", optimizer, str(two), ranks=2, worker=WORKER)
    with np.load(one) as a, np.load(two) as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            scale = np.abs(a[name]).max()
            np.testing.assert_allclose(b[name], a[name], rtol=1e-12, atol=1e-12 * scale)

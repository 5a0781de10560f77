"""Pickling tensors and Parameters, as PyTorch (for multiprocessing and user caches);
checkpoint files (``tg.save``) never contain a pickle."""

from __future__ import annotations

import copy
import multiprocessing
import pickle

import numpy as np
import pytest
import tapegrad as tg
from tapegrad import nn

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "protocol", [2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL]
)
def test_round_trip_keeps_values_dtype_and_shape(dtype, protocol):
    data = np.arange(12).reshape(3, 4) % 5
    x = tg.tensor(data, dtype=getattr(tg, dtype))
    for view in (x, x.t(), x[:, ::2], x[1], x.sum() if dtype != "bool" else x[0, 0]):
        back = pickle.loads(pickle.dumps(view, protocol=protocol))
        assert type(back) is tg.Tensor and back.dtype == view.dtype
        assert back.shape == view.shape and back.is_contiguous()
        np.testing.assert_array_equal(back.numpy(), view.numpy())


def test_requires_grad_and_leafness_match_torch():
    for requires_grad in (False, True):
        mine = tg.tensor([1.0, 2.0], requires_grad=requires_grad)
        theirs = torch.tensor([1.0, 2.0], requires_grad=requires_grad)
        back, ref = pickle.loads(pickle.dumps(mine)), pickle.loads(pickle.dumps(theirs))
        assert back.requires_grad == ref.requires_grad and back.is_leaf and ref.is_leaf
    # A non-leaf comes back as a leaf that requires grad; .grad is not carried.
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    back = pickle.loads(pickle.dumps(x * 3))
    assert back.requires_grad and back.is_leaf and back.grad_fn is None
    assert pickle.loads(pickle.dumps(x)).grad is None
    assert pickle.loads(pickle.dumps(torch.ones(1, requires_grad=True))).grad is None


def test_the_copy_has_its_own_storage():
    x = tg.zeros(3)
    back = pickle.loads(pickle.dumps(x))
    back.add_(1.0)
    assert x.numpy().tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("requires_grad", [True, False])
def test_parameters_stay_parameters(requires_grad):
    p = nn.Parameter(tg.ones(2, 3), requires_grad=requires_grad)
    back = pickle.loads(pickle.dumps(p))
    assert type(back) is nn.Parameter and back.requires_grad == requires_grad
    assert back.shape == (2, 3)
    ref = pickle.loads(pickle.dumps(torch.nn.Parameter(torch.ones(2), requires_grad)))
    assert type(ref) is torch.nn.Parameter and ref.requires_grad == requires_grad


def test_modules_and_optimiser_states_pickle_and_deepcopy():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    x = tg.randn(5, 3)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone(x).detach().numpy(), model(x).detach().numpy())
    assert all(type(p) is nn.Parameter for p in clone.parameters())
    twin = copy.deepcopy(model)
    np.testing.assert_array_equal(twin(x).detach().numpy(), model(x).detach().numpy())
    state = pickle.loads(pickle.dumps(model.state_dict()))
    assert set(state) == set(model.state_dict())


def _double(t):
    return t * 2


def test_tensors_cross_process_boundaries():
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        out = pool.map(_double, [tg.arange(3.0), tg.tensor([1, 2])])
    assert out[0].numpy().tolist() == [0.0, 2.0, 4.0] and out[1].dtype == tg.int64


def test_checkpoint_files_never_pickle(tmp_path):
    path = tmp_path / "ckpt.pt"
    tg.save({"w": tg.ones(2), "step": 3, "p": nn.Parameter(tg.zeros(1))}, path)
    raw = path.read_bytes()
    assert b"tapegrad._pickle" not in raw and b"\x80\x04" not in raw[:16]
    loaded = tg.load(path)
    assert loaded["step"] == 3 and loaded["w"].numpy().tolist() == [1.0, 1.0]

"""``tg.amp``: ``GradScaler`` step for step against torch's (CPU), and ``autocast``
accepted with a one-time warning, changing no dtype."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tapegrad as tg
from tapegrad import nn

torch = pytest.importorskip("torch")


def _pair(growth_interval=3, **kwargs):
    """A tapegrad and a torch model with the same float32 weights, SGD and scaler."""
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ours.load_state_dict(
        {
            "weight": tg.tensor(w, dtype=tg.float32),
            "bias": tg.tensor(b, dtype=tg.float32),
        }
    )
    theirs.load_state_dict(
        {
            "weight": torch.tensor(w, dtype=torch.float32),
            "bias": torch.tensor(b, dtype=torch.float32),
        }
    )
    mine = (
        ours,
        tg.optim.SGD(ours.parameters(), lr=0.1),
        tg.amp.GradScaler("cpu", growth_interval=growth_interval, **kwargs),
    )
    ref = (
        theirs,
        torch.optim.SGD(theirs.parameters(), lr=0.1),
        torch.amp.GradScaler("cpu", growth_interval=growth_interval, **kwargs),
    )
    return mine, ref


def _train_step(lib, model, opt, scaler, x, poison):
    opt.zero_grad()
    loss = (model(lib.tensor(x, dtype=lib.float32)) ** 2).sum()
    if poison:
        loss = loss * float("inf")
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    returned = scaler.step(opt)
    scaler.update()
    return returned


def test_scaler_matches_torch_over_steps_with_overflows():
    (ours, opt, scaler), (theirs, topt, tscaler) = _pair(
        growth_interval=2, init_scale=8.0
    )
    rng = np.random.default_rng(1)
    for step in range(12):
        x = rng.standard_normal((4, 3))
        poison = step in (3, 4, 9)
        _train_step(tg, ours, opt, scaler, x, poison)
        _train_step(torch, theirs, topt, tscaler, x, poison)
        assert scaler.get_scale() == tscaler.get_scale(), step
        assert scaler.state_dict() == tscaler.state_dict(), step
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(
                p.detach().numpy(),
                q.detach().numpy(),
                rtol=1e-5,
                atol=1e-6,
                err_msg=name,
            )


def test_unscale_divides_the_gradients_and_step_returns_the_optimizers_result():
    (ours, opt, scaler), (theirs, topt, tscaler) = _pair()
    x = np.ones((2, 3))
    for lib, model, optimizer, s in (
        (tg, ours, opt, scaler),
        (torch, theirs, topt, tscaler),
    ):
        optimizer.zero_grad()
        s.scale((model(lib.tensor(x, dtype=lib.float32)) ** 2).sum()).backward()
        s.unscale_(optimizer)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    assert scaler.step(opt) is None and tscaler.step(topt) is None  # SGD returns None
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        scaler.unscale_(opt)
    scaler.update()
    with pytest.raises(RuntimeError, match="No inf checks"):
        scaler.update()


def test_scale_accepts_iterables_and_new_scale_and_state_round_trips():
    scaler = tg.amp.GradScaler("cpu", init_scale=4.0)
    assert scaler.get_scale() == 4.0 and scaler.is_enabled()
    a, b = scaler.scale((tg.ones(1), tg.ones(2)))
    assert a.numpy().tolist() == [4.0] and b.numpy().tolist() == [4.0, 4.0]
    assert [t.numpy().tolist() for t in scaler.scale([tg.ones(1)])] == [[4.0]]
    scaler.update(new_scale=2.0)
    assert scaler.get_scale() == 2.0
    scaler.update(new_scale=tg.tensor(0.5))
    assert scaler.get_scale() == 0.5
    state = scaler.state_dict()
    other = tg.amp.GradScaler("cpu")
    other.load_state_dict(state)
    assert other.state_dict() == state
    loaded = tg.amp.GradScaler("cpu")
    path_state = dict(state)
    loaded.load_state_dict(path_state)
    assert loaded.get_scale() == 0.5
    with pytest.raises(RuntimeError, match="state dict is empty"):
        tg.amp.GradScaler("cpu").load_state_dict({})
    with pytest.raises(ValueError, match="growth factor"):
        tg.amp.GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(ValueError, match="backoff factor"):
        tg.amp.GradScaler("cpu", backoff_factor=1.0)
    torch_state = torch.amp.GradScaler("cpu", init_scale=4.0).state_dict()
    assert tg.amp.GradScaler("cpu", init_scale=4.0).state_dict() == torch_state


def test_a_disabled_scaler_is_the_identity_as_torch():
    (ours, opt, _), _ = _pair()
    with pytest.warns(UserWarning, match="Disabling"):
        cuda_scaler = tg.cuda.amp.GradScaler()
    with pytest.warns(UserWarning):
        torch_cuda_scaler = torch.cuda.amp.GradScaler()
    with pytest.warns(UserWarning, match="Disabling"):
        assert not tg.amp.GradScaler().is_enabled()  # device "cuda" by default
    for scaler, ref in (
        (cuda_scaler, torch_cuda_scaler),
        (
            tg.amp.GradScaler("cpu", enabled=False),
            torch.amp.GradScaler("cpu", enabled=False),
        ),
    ):
        assert scaler.is_enabled() is ref.is_enabled() is False
        assert scaler.state_dict() == ref.state_dict() == {}
        assert scaler.get_scale() == ref.get_scale() == 1.0
        loss = tg.ones(1)
        assert scaler.scale(loss) is loss
        scaler.unscale_(opt)
        scaler.update()
        scaler.load_state_dict({})
    opt.zero_grad()
    (ours(tg.ones(1, 3)) ** 2).sum().backward()
    before = ours.weight.detach().clone()
    cuda_scaler.step(opt)
    assert not np.allclose(before.numpy(), ours.weight.detach().numpy())
    with pytest.warns(FutureWarning):
        torch.cpu.amp.GradScaler()  # torch's deprecated spelling; ours needs no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tg.cpu.amp.GradScaler().is_enabled()


def test_autocast_warns_once_and_changes_no_dtype():
    tg.amp.autocast_mode._warned.clear()  # as in a fresh process
    x = tg.ones(2, 2)
    warned = pytest.warns(UserWarning, match="float16 or bfloat16")
    with warned, tg.autocast(device_type="cpu", dtype=tg.float32) as context:
        assert (x @ x).dtype == tg.float32
    assert isinstance(context, tg.autocast) and tg.amp.autocast is tg.autocast
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second time is silent
        with tg.autocast("cpu", dtype=tg.float32):
            assert not tg.is_autocast_enabled()
        with tg.autocast("cpu", enabled=False):  # disabled: never warns
            pass

        @tg.autocast("cpu", enabled=False)
        def double(t):
            return t * 2

        assert double(x).dtype == tg.float32
    with (
        pytest.warns(UserWarning, match="bfloat16"),
        tg.cpu.amp.autocast(dtype="bfloat16"),
    ):
        assert (x @ x).dtype == tg.float32
    with pytest.warns(UserWarning, match="'cuda'"), tg.cuda.amp.autocast():
        pass
    with pytest.raises(ValueError, match="device type"):
        tg.autocast("gpu")


def test_torch_disables_autocast_for_float32_too():
    # tapegrad's choice mirrors what torch does with a dtype it cannot autocast to.
    warned = pytest.warns(UserWarning, match="only supports")
    with warned, torch.autocast("cpu", dtype=torch.float32):
        assert not torch.is_autocast_enabled("cpu")

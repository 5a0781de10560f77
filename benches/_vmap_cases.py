"""vmap's cases for ``benches/transforms.py``: Jacobians by vmap over the basis against
the loop of one VJP/JVP per row/column that ``jacrev``/``jacfwd`` ran before, and
per-sample gradients of a 784-256-10 MLP at batch 64 by ``vmap(grad(loss))`` against a
loop of 64 backward passes (and ``torch.func`` when installed). Every result is checked
against the loop before it is timed; the two sides are timed in alternation so that the
machine's load falls on both."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import tapegrad as tg
from tapegrad import func

# (n inputs, m outputs) of f(x) = tanh(W x), as the Jacobian cases of transforms.py.
LOOP_SHAPES = ((64, 256), (256, 64), (4, 4096))
PER_SAMPLE = (64, 784, 256, 10)  # batch, inputs, hidden, classes


def alternating(fns: dict[str, Callable[[], Any]], rounds: int) -> dict[str, Any]:
    """Median seconds of each function, timed in turn round after round."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
    finally:
        gc.enable()
    return {k: {"median_s": statistics.median(v), "repeats": rounds} for k, v in samples.items()}


def loop_jacrev(f: Callable[[tg.Tensor], tg.Tensor], x: tg.Tensor) -> tg.Tensor:
    """The pre-vmap jacrev: one recorded forward, then one VJP sweep per output."""
    out, vjp_fn = func.vjp(f, x)
    eye = tg.eye(out.numel(), dtype=out.dtype)
    return tg.stack([vjp_fn(eye[k].reshape(out.shape))[0] for k in range(out.numel())], 0)


def loop_jacfwd(f: Callable[[tg.Tensor], tg.Tensor], x: tg.Tensor) -> tg.Tensor:
    """The pre-vmap jacfwd: one JVP pass per input element."""
    eye = tg.eye(x.numel(), dtype=x.dtype)
    cols = [func.jvp(f, (x,), (eye[k].reshape(x.shape),))[1] for k in range(x.numel())]
    return tg.stack(cols, -1)


def jacobian_loop_case(n: int, m: int, rounds: int) -> dict[str, Any]:
    rng = np.random.default_rng(n + 31 * m)
    w = tg.tensor(rng.standard_normal((m, n)) / np.sqrt(n))
    x = tg.tensor(rng.standard_normal(n))

    def f(v: tg.Tensor) -> tg.Tensor:
        return (w @ v).tanh()

    fns = {
        "jacrev_vmap": lambda: func.jacrev(f)(x),
        "jacrev_loop": lambda: loop_jacrev(f, x),
        "jacfwd_vmap": lambda: func.jacfwd(f)(x),
        "jacfwd_loop": lambda: loop_jacfwd(f, x),
    }
    for mode in ("jacrev", "jacfwd"):
        got, ref = fns[f"{mode}_vmap"]().numpy(), fns[f"{mode}_loop"]().numpy()
        np.testing.assert_allclose(got, ref, atol=1e-12)
    row: dict[str, Any] = {"case": f"vmap jacobian vs loop n={n} m={m}", "n": n, "m": m}
    row.update(alternating(fns, rounds))
    for mode in ("jacrev", "jacfwd"):
        row[f"{mode}_speedup"] = (
            row[f"{mode}_loop"]["median_s"] / row[f"{mode}_vmap"]["median_s"]
        )
    return row


def per_sample_case(rounds: int) -> dict[str, Any]:
    batch, n_in, hidden, n_out = PER_SAMPLE
    rng = np.random.default_rng(64)
    params = {
        "w1": tg.tensor(rng.standard_normal((hidden, n_in)) / np.sqrt(n_in), dtype=tg.float32),
        "b1": tg.zeros(hidden),
        "w2": tg.tensor(rng.standard_normal((n_out, hidden)) / np.sqrt(hidden), dtype=tg.float32),
        "b2": tg.zeros(n_out),
    }
    x = tg.tensor(rng.standard_normal((batch, n_in)), dtype=tg.float32)
    y = tg.tensor(np.eye(n_out)[rng.integers(0, n_out, batch)], dtype=tg.float32)

    def loss(p: dict[str, tg.Tensor], xi: tg.Tensor, yi: tg.Tensor) -> tg.Tensor:
        h = tg.nn.functional.linear(xi, p["w1"], p["b1"]).relu()
        logits = tg.nn.functional.linear(h, p["w2"], p["b2"])
        return -(logits.log_softmax(-1) * yi).sum()

    per_sample = func.vmap(func.grad(loss), in_dims=(None, 0, 0))
    one = func.grad(loss)

    def loop() -> list[dict[str, tg.Tensor]]:
        return [one(params, x[k], y[k]) for k in range(batch)]

    got, ref = per_sample(params, x, y), loop()
    for name in params:
        expected = np.stack([r[name].numpy() for r in ref])
        np.testing.assert_allclose(got[name].numpy(), expected, atol=1e-5)
    fns: dict[str, Callable[[], Any]] = {
        "vmap_grad": lambda: per_sample(params, x, y),
        "loop": loop,
    }
    try:
        import torch
        from torch.func import grad as tgrad
        from torch.func import vmap as tvmap

        tp = {k: torch.tensor(v.numpy()) for k, v in params.items()}
        tx, ty = torch.tensor(x.numpy()), torch.tensor(y.numpy())

        def tloss(p: Any, xi: Any, yi: Any) -> Any:
            h = torch.relu(xi @ p["w1"].T + p["b1"])
            return -(torch.log_softmax(h @ p["w2"].T + p["b2"], -1) * yi).sum()

        torch_fn = tvmap(tgrad(tloss), in_dims=(None, 0, 0))
        fns["torch_func"] = lambda: torch_fn(tp, tx, ty)
    except ImportError:
        pass
    row: dict[str, Any] = {"case": "per-sample gradients, MLP 784-256-10, batch 64"}
    row.update(alternating(fns, rounds))
    row["speedup_over_loop"] = row["loop"]["median_s"] / row["vmap_grad"]["median_s"]
    if "torch_func" in row:
        row["torch_over_ours"] = row["torch_func"]["median_s"] / row["vmap_grad"]["median_s"]
    return row


def measure(quick: bool) -> list[dict[str, Any]]:
    rounds = 3 if quick else 9
    rows = [jacobian_loop_case(n, m, rounds) for n, m in LOOP_SHAPES]
    rows.append(per_sample_case(rounds))
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    ms = lambda t: f"{t['median_s'] * 1e3:.2f}"  # noqa: E731
    lines = [
        "| f = tanh(W x) | jacrev loop ms | jacrev vmap ms | speed-up "
        "| jacfwd loop ms | jacfwd vmap ms | speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["case"].startswith("vmap jacobian"):
            lines.append(
                f"| n={r['n']}, m={r['m']} | {ms(r['jacrev_loop'])} | {ms(r['jacrev_vmap'])} "
                f"| {r['jacrev_speedup']:.1f}× | {ms(r['jacfwd_loop'])} "
                f"| {ms(r['jacfwd_vmap'])} | {r['jacfwd_speedup']:.1f}× |"
            )
    (ps,) = [r for r in rows if r["case"].startswith("per-sample")]
    lines += [
        "",
        f"| {ps['case']} | ms | × faster than the loop |",
        "|---|---:|---:|",
        f"| loop of 64 `grad` calls | {ms(ps['loop'])} | 1.0 |",
        f"| `vmap(grad(loss))` | {ms(ps['vmap_grad'])} | {ps['speedup_over_loop']:.1f} |",
    ]
    if "torch_func" in ps:
        lines.append(
            f"| `torch.func.vmap(grad(loss))` | {ms(ps['torch_func'])} "
            f"| {ps['loop']['median_s'] / ps['torch_func']['median_s']:.1f} |"
        )
    return "\n".join(lines)

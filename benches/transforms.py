"""Forward vs reverse mode: what a full Jacobian and a Hessian-vector product cost.

    python benches/transforms.py            # full run, about 10 s
    python benches/transforms.py --quick    # fewer repeats, for a smoke test

The seed's claim, measured: for f: R^n -> R^m, reverse mode (``jacrev``) needs one
backward sweep per output (m sweeps) and forward mode (``jacfwd``) one tangent pass per
input (n passes). With f(x) = tanh(W x), W of shape (m, n):

- n=4, m=4096: jacfwd does 4 passes, jacrev 4096 sweeps; forward mode should win by
  about m/n;
- n=4096, m=4: the mirror image; reverse mode should win by about n/m.

Then vmap's speed-up: the same kind of Jacobian by ``vmap`` over unit vectors against the
loop of one VJP/JVP per row/column, and per-sample gradients by ``vmap(grad(loss))``
against a loop of backward passes (``benches/_vmap_cases.py``).

And the cost of a Hessian-vector product (``hvp``, forward over reverse) relative to
one gradient on a 2-layer tanh MLP loss (target: at most 4x), with reverse over reverse
(the gradient of <grad f, v>) for comparison.

Every result is checked before it is timed (Jacobians against the closed form
``diag(1 - tanh^2) W``, HVPs against central differences of the gradient). Timing: one
warm-up call, then the median of several calls with the garbage collector off; the
gradient, hvp and forward calls are interleaved round by round and their ratios are
medians of per-round ratios, so a busy machine slows both sides of a ratio alike.
Prints a Markdown table and writes ``benches/results/transforms.json``.

Importable: ``measure_all(quick)`` returns the rows; ``main()`` is the command.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tapegrad as tg
from tapegrad import func

RESULTS = Path(__file__).resolve().parent / "results" / "transforms.json"

# (n inputs, m outputs) of f(x) = tanh(W x).
JACOBIAN_SHAPES = ((4, 4096), (4096, 4))
# The MLP whose loss is differentiated: batch, inputs, hidden, outputs.
MLP_SIZES = (256, 64, 128, 10)


def median_seconds(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    """One warm-up call, then ``repeats`` timed calls with the garbage collector off;
    median, min and max seconds."""
    fn()
    gc.collect()
    gc.disable()
    try:
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "repeats": repeats,
    }


def _check(what: str, got: np.ndarray, expected: np.ndarray, rtol: float) -> float:
    scale = float(np.max(np.abs(expected)))
    error = float(np.max(np.abs(got - expected))) / scale
    if not error <= rtol:
        raise AssertionError(f"{what}: relative error {error:.3g} > {rtol:g}")
    return error


# ---------------------------------------------------------------- Jacobians


def jacobian_case(n: int, m: int, repeats: int) -> dict[str, Any]:
    """Times jacfwd and jacrev of tanh(W x) for W of shape (m, n), float64."""
    rng = np.random.default_rng(n * 10_007 + m)
    w_np = rng.standard_normal((m, n)) / np.sqrt(n)
    x_np = rng.standard_normal(n)
    w, x = tg.tensor(w_np), tg.tensor(x_np)

    def f(v: tg.Tensor) -> tg.Tensor:
        return (w @ v).tanh()

    expected = (1 - np.tanh(w_np @ x_np) ** 2)[:, None] * w_np
    row: dict[str, Any] = {"case": f"jacobian n={n} m={m}", "n": n, "m": m}
    for name, transform in (("jacfwd", func.jacfwd), ("jacrev", func.jacrev)):
        jacobian = transform(f)
        row[f"{name}_error"] = _check(name, jacobian(x).numpy(), expected, 1e-12)
        row[name] = median_seconds(lambda j=jacobian: j(x), repeats)
    row["jacrev_over_jacfwd"] = row["jacrev"]["median_s"] / row["jacfwd"]["median_s"]
    return row


# ---------------------------------------------------------------- hvp vs grad


def mlp_problem() -> tuple[
    Callable[..., tg.Tensor], tuple[tg.Tensor, ...], tuple[tg.Tensor, ...]
]:
    """A 2-layer tanh MLP's softmax cross-entropy as a function of its four weights,
    with a point and a random direction."""
    batch, n_in, hidden, n_out = MLP_SIZES
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((batch, n_in)))
    one_hot = tg.tensor(np.eye(n_out)[rng.integers(0, n_out, batch)])

    def loss(w1: tg.Tensor, b1: tg.Tensor, w2: tg.Tensor, b2: tg.Tensor) -> tg.Tensor:
        logits = (x @ w1 + b1).tanh() @ w2 + b2
        return -(logits.log_softmax(dim=1) * one_hot).sum() / batch

    shapes = ((n_in, hidden), (hidden,), (hidden, n_out), (n_out,))
    params = tuple(tg.tensor(rng.standard_normal(s) / np.sqrt(s[0])) for s in shapes)
    direction = tuple(tg.tensor(rng.standard_normal(s)) for s in shapes)
    return loss, params, direction


def hvp_case(repeats: int) -> dict[str, Any]:
    """Times one gradient, hvp (forward over reverse) and reverse over reverse."""
    loss, params, direction = mlp_problem()
    argnums = tuple(range(len(params)))
    gradient = func.grad(loss, argnums=argnums)

    def forward_over_reverse() -> tuple[tg.Tensor, ...]:
        return func.hvp(loss, params, direction)[1]

    def reverse_over_reverse() -> tuple[tg.Tensor, ...]:
        def pairing(*ps: tg.Tensor) -> tg.Tensor:
            grads = func.grad(loss, argnums=argnums)(*ps)
            return sum((g * v).sum() for g, v in zip(grads, direction))

        return func.grad(pairing, argnums=argnums)(*params)

    # Check both HVPs against central differences of the gradient along the direction.
    eps = 1e-5

    def moved(sign: float) -> list[np.ndarray]:
        ps = [
            tg.tensor(p.numpy() + sign * eps * v.numpy())
            for p, v in zip(params, direction)
        ]
        return [g.numpy() for g in gradient(*ps)]

    plus, minus = moved(1.0), moved(-1.0)
    expected = np.concatenate(
        [((p - m) / (2 * eps)).ravel() for p, m in zip(plus, minus)]
    )
    errors = {}
    for name, fn in (
        ("hvp", forward_over_reverse),
        ("rev_over_rev", reverse_over_reverse),
    ):
        got = np.concatenate([t.numpy().ravel() for t in fn()])
        errors[name] = _check(name, got, expected, 1e-6)

    n_params = sum(p.numel() for p in params)
    timings = interleaved_seconds(
        {
            "forward": lambda: loss(*params),
            "grad": lambda: gradient(*params),
            "hvp": forward_over_reverse,
            "rev_over_rev": reverse_over_reverse,
        },
        repeats,
    )
    row: dict[str, Any] = {
        "case": f"hvp vs grad, MLP {'-'.join(map(str, MLP_SIZES[1:]))} batch {MLP_SIZES[0]}",
        "parameters": n_params,
        "errors": errors,
        **timings,
    }
    row["hvp_over_grad"] = timings["hvp"]["median_ratio_to_grad"]
    row["rev_over_rev_over_grad"] = timings["rev_over_rev"]["median_ratio_to_grad"]
    row["grad_over_forward"] = 1 / timings["forward"]["median_ratio_to_grad"]
    return row


def interleaved_seconds(
    fns: dict[str, Callable[[], Any]], rounds: int
) -> dict[str, dict[str, float]]:
    """Times the functions in turn, ``rounds`` times, so that they all see the same
    machine load; besides each one's median, reports the median over rounds of its
    time divided by the same round's "grad" time (robust on a busy machine)."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
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
    return {
        name: {
            "median_s": statistics.median(times),
            "min_s": min(times),
            "max_s": max(times),
            "repeats": rounds,
            "median_ratio_to_grad": statistics.median(
                t / g for t, g in zip(times, samples["grad"])
            ),
        }
        for name, times in samples.items()
    }


# ---------------------------------------------------------------- report


def measure_all(quick: bool = False) -> dict[str, Any]:
    """Runs every case; returns the machine description and the rows."""
    jacobian_repeats, hvp_repeats = (3, 5) if quick else (7, 41)
    rows = [jacobian_case(n, m, jacobian_repeats) for n, m in JACOBIAN_SHAPES]
    rows.append(hvp_case(hvp_repeats))
    rows += _vmap_cases().measure(quick)
    return {
        "command": "python benches/transforms.py" + (" --quick" if quick else ""),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "tapegrad": tg.__version__,
        },
        "rows": rows,
    }


def _vmap_cases() -> Any:
    """benches/_vmap_cases.py (vmap against the loops it replaced), found next to this
    file however this one was loaded."""
    import importlib.util

    path = Path(__file__).resolve().parent / "_vmap_cases.py"
    spec = importlib.util.spec_from_file_location("_vmap_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ms(timing: dict[str, float]) -> str:
    return f"{timing['median_s'] * 1e3:.2f}"


def markdown(results: dict[str, Any]) -> str:
    """The tables of docs/transforms.md."""
    jac = [r for r in results["rows"] if r["case"].startswith("jacobian")]
    (hvp,) = [r for r in results["rows"] if r["case"].startswith("hvp")]
    lines = [
        (
            "| f: Rⁿ → Rᵐ, tanh(W x) | jacfwd (n passes) ms | jacrev (m sweeps) ms "
            "| jacrev / jacfwd | faster |"
        ),
        "|---|---:|---:|---:|---|",
    ]
    for r in jac:
        ratio = r["jacrev_over_jacfwd"]
        faster = f"jacfwd, {ratio:.0f}×" if ratio >= 1 else f"jacrev, {1 / ratio:.0f}×"
        lines.append(
            f"| n={r['n']}, m={r['m']} | {_ms(r['jacfwd'])} | {_ms(r['jacrev'])} "
            f"| {ratio:.3g} | {faster} |"
        )
    lines += [
        "",
        (
            f"| {hvp['case']} ({hvp['parameters']} parameters) | ms "
            "| × one gradient (median ratio) |"
        ),
        "|---|---:|---:|",
        (
            f"| loss (forward only) | {_ms(hvp['forward'])} "
            f"| {1 / hvp['grad_over_forward']:.2f} |"
        ),
        f"| grad | {_ms(hvp['grad'])} | 1.00 |",
        f"| hvp (forward over reverse) | {_ms(hvp['hvp'])} | {hvp['hvp_over_grad']:.2f} |",
        (
            f"| grad of ⟨grad, v⟩ (reverse over reverse) | {_ms(hvp['rev_over_rev'])} "
            f"| {hvp['rev_over_rev_over_grad']:.2f} |"
        ),
    ]
    vmap_rows = [r for r in results["rows"] if "jacrev_vmap" in r or "vmap_grad" in r]
    if vmap_rows:
        lines += ["", _vmap_cases().markdown(vmap_rows)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON output path")
    args = parser.parse_args(argv)
    results = measure_all(args.quick)
    print(markdown(results))
    (hvp_row,) = [r for r in results["rows"] if r["case"].startswith("hvp")]
    machine = results["machine"]
    print(
        f"\n{machine['processor']}, {machine['cpus']} CPUs, Python {machine['python']}, "
        f"NumPy {machine['numpy']}, tapegrad {machine['tapegrad']}; medians of "
        f"{results['rows'][0]['jacfwd']['repeats']} (Jacobians) and "
        f"{hvp_row['grad']['repeats']} (hvp) calls after one warm-up."
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    hvp = hvp_row["hvp_over_grad"]
    if hvp > 4:
        print(
            f"note: hvp costs {hvp:.2f}x a gradient, above the 4x target",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""mlp_step, the headline: one SGD training step of an MLP classifier, float32.

Configs are ``in-hidden...-classes`` with a batch size (``512-256`` has no hidden layer:
one linear layer to 256 classes). Each step is timed as a whole and in three phases:

- forward: from the inputs to the scalar cross-entropy loss, recording the tape;
- backward: ``loss.backward()``, every parameter's gradient;
- optimiser: ``p ← p - lr·grad`` for every parameter, and clearing the gradients.

``backward / forward`` is the ratio of the phase medians: the seed's "all the gradients
for the price of one forward pass" says it should be a small constant (about 1-2).
The models are in ``_mlp.py``; every framework is checked first (see ``check_model``).
"""

from __future__ import annotations

from typing import Any

from _timing import measure_phases

from cases._mlp import MODELS, check_model, init

CONFIGS: dict[str, tuple[tuple[int, ...], int]] = {
    "4-64-64-2 b64": ((4, 64, 64, 2), 64),
    "512-256 b32": ((512, 256), 32),
    "784-256-256-10 b64": ((784, 256, 256, 10), 64),
    "784-1024-1024-10 b256": ((784, 1024, 1024, 10), 256),
}
LARGEST = "784-1024-1024-10 b256"
PHASES = ("forward", "backward", "optimizer")


def measure_config(
    ctx: Any, framework: str, label: str, sizes: tuple[int, ...], batch: int
) -> None:
    """Checks, then times, one config; adds a row with the step and its phases."""
    check_model(ctx, framework, label, sizes, batch)
    params, x, labels = init(sizes, batch)
    model = MODELS[framework](params, x, labels)
    timing = measure_phases(model.step, ctx.settings, PHASES)
    phases = timing["phases_s"]
    parameters = sum(p.size for p in params)
    ctx.add(
        label,
        {"sizes": list(sizes), "batch": batch, "parameters": parameters},
        timing,
        step_ms=timing["time_s"] * 1e3,
        **{f"{name}_ms": seconds * 1e3 for name, seconds in phases.items()},
        backward_over_forward=phases["backward"] / phases["forward"],
    )


def run(framework: str, ctx: Any) -> None:
    for label, (sizes, batch) in CONFIGS.items():
        measure_config(ctx, framework, label, sizes, batch)

"""tapegrad.diagnostics: gradient-flow norms, flags, the watch over steps, the demo."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tapegrad as tg
from tapegrad import nn
from tapegrad._diagnose_demo import one_backward, residual_mlp, sigmoid_mlp
from tapegrad.diagnostics import grad_flow, watch


def leaf(values):
    return tg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def hand_model():
    """Two modules; gradients known by hand after `hand_loss`."""
    return {"layer.w": leaf([3.0, 4.0]), "layer.b": leaf([12.0]), "head.v": leaf([1.0])}


def hand_loss(params, x=(1.0, 2.0)):
    # d/dw = x, d/db = 2, d/dv = 0.5
    w, b, v = params["layer.w"], params["layer.b"], params["head.v"]
    return (
        (w * tg.tensor(list(x), dtype=tg.float64)).sum() + 2.0 * b.sum() + 0.5 * v.sum()
    )


def test_norms_and_ratios_match_a_hand_computation():
    params = hand_model()
    hand_loss(params).backward()
    flow = grad_flow(params, lr=0.1)
    rows = {r.name: r for r in flow.params}
    w, b, v = rows["layer.w"], rows["layer.b"], rows["head.v"]
    assert w.grad_norm == pytest.approx(math.sqrt(5)) and w.weight_norm == 5.0
    assert w.ratio == pytest.approx(math.sqrt(5) / 5)
    assert w.update_ratio == pytest.approx(0.1 * math.sqrt(5) / 5)
    assert (b.grad_norm, b.weight_norm) == (2.0, 12.0)
    assert b.ratio == pytest.approx(1 / 6) and (v.grad_norm, v.ratio) == (0.5, 0.5)
    assert w.numel == 2 and w.kind == "parameter" and w.flags == ()
    # A module pools its parameters: ‖g‖² = 5 + 4, ‖w‖² = 25 + 144.
    layer, head = flow.modules
    assert (layer.name, head.name) == ("layer", "head")
    assert layer.grad_norm == pytest.approx(3.0)
    assert layer.weight_norm == pytest.approx(13.0)
    assert layer.ratio == pytest.approx(3 / 13) and layer.numel == 3
    assert layer.update_ratio == pytest.approx(0.3 / 13)
    assert flow.healthy and flow.flagged("vanishing") == []
    assert grad_flow(params).params[0].update_ratio is None


def test_a_module_reports_its_layers_by_class():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    model(tg.randn(5, 3)).sum().backward()
    flow = grad_flow(model)
    assert [(r.name, r.kind) for r in flow.modules] == [
        ("0", "Linear"),
        ("2", "Linear"),
    ]
    weight = model[0].weight
    assert flow.params[0].name == "0.weight"
    assert flow.params[0].grad_norm == pytest.approx(
        np.linalg.norm(weight.grad.numpy())
    )
    assert flow.params[0].weight_norm == pytest.approx(
        np.linalg.norm(weight.detach().numpy())
    )
    assert grad_flow(model.named_parameters()).params == flow.params


def test_vanishing_trips_for_a_deep_sigmoid_mlp_and_not_for_relu_ones():
    tg.manual_seed(0)
    sigmoid = one_backward(sigmoid_mlp(), seed=0)
    assert sigmoid.flagged("vanishing") == ["0", "2", "4", "6"]  # the first layers
    ratios = [r.ratio for r in sigmoid.modules]
    assert ratios == sorted(ratios)  # smaller at every layer further from the loss
    assert ratios[0] < 1e-7 * ratios[-1]
    assert not sigmoid.healthy
    tg.manual_seed(0)
    residual = one_backward(residual_mlp(), seed=0)
    assert residual.flagged("vanishing") == [] and residual.healthy
    assert min(r.ratio for r in residual.modules) > 1e-2
    # A plain ReLU MLP of the same depth with He initialisation does not vanish either.
    tg.manual_seed(0)
    layers: list[nn.Module] = [nn.Linear(2, 32)]
    for _ in range(11):
        layers += [nn.ReLU(), nn.Linear(32, 32)]
    relu = nn.Sequential(*layers[:-1], nn.Linear(32, 3))
    for module in relu.modules():
        if isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
    flow = one_backward(relu, seed=0)
    assert flow.flagged("vanishing") == [] and len(flow.modules) == 12
    # The threshold is relative and adjustable: at 1e-12 the sigmoid MLP passes.
    assert grad_flow(sigmoid_mlp_after_backward(), vanishing=1e-12).healthy


def sigmoid_mlp_after_backward():
    tg.manual_seed(0)
    model = sigmoid_mlp()
    one_backward(model, seed=0)
    return model


def test_exploding_nonfinite_and_missing_gradients():
    params = hand_model()
    (1e6 * hand_loss(params)).backward()  # layer.w: ‖g‖ = 1e6·√5 ≥ 1e3·5
    flow = grad_flow(params)
    assert flow.flagged("exploding", per="param") == ["layer.w", "layer.b", "head.v"]
    # ‖g‖/‖w‖: layer.w 1e6·√5/5 ≈ 4.47e5, layer.b 2e6/12 ≈ 1.67e5, head.v 5e5.
    higher = grad_flow(params, exploding=4.6e5)
    assert higher.flagged("exploding", per="param") == ["head.v"]
    assert higher.flagged("exploding") == ["head"]
    params = hand_model()
    (hand_loss(params) * float("nan")).backward()
    flow = grad_flow(params)
    assert flow.flagged("nonfinite") == ["layer", "head"]
    assert all(r.flags == ("nonfinite",) for r in flow.params)
    params = hand_model()
    (params["layer.w"] * 2.0).sum().backward()  # nothing reaches b or v
    flow = grad_flow(params)
    assert flow.flagged("no gradient", per="param") == ["layer.b", "head.v"]
    assert flow.flagged("no gradient") == ["head"]
    assert math.isnan(flow.params[1].ratio) and flow.healthy


def test_all_zero_weights_use_absolute_thresholds():
    zero = leaf([0.0, 0.0])
    (zero * 1e-8).sum().backward()  # ‖g‖ = √2·1e-8 ≤ 1e-7 · 1
    (row,) = grad_flow({"z": zero}).params
    assert row.flags == ("vanishing",) and row.ratio == math.inf
    zero.grad = None
    (zero * 1.0).sum().backward()
    (row,) = grad_flow({"z": zero}).params
    assert row.flags == () and row.ratio == math.inf
    zero.grad = tg.zeros(2, dtype=tg.float64)
    (row,) = grad_flow({"z": zero}).params
    assert row.flags == ("vanishing",) and row.ratio == 0.0


def test_bad_input():
    params = hand_model()
    with pytest.raises(tg.GraphError, match=r"call backward\(\) first \(3 parameters"):
        grad_flow(params)
    hand_loss(params).backward()
    with pytest.raises(tg.ArgumentError, match="lr must be positive, got 0"):
        grad_flow(params, lr=0)
    with pytest.raises(tg.ArgumentError, match="vanishing=0.1, exploding=0.01"):
        grad_flow(params, vanishing=0.1, exploding=0.01)
    with pytest.raises(tg.DTypeError, match="got Tensor"):
        grad_flow(params["layer.w"])
    with pytest.raises(tg.DTypeError, match=r"pairs, got \(int, Tensor\)"):
        grad_flow([(1, params["layer.w"])])
    with pytest.raises(tg.ArgumentError, match="no parameters that require grad"):
        grad_flow({"x": tg.ones(2)})
    flow = grad_flow(params)
    with pytest.raises(tg.ArgumentError, match="per must be 'module' or 'param'"):
        flow.rows("layer")
    with pytest.raises(tg.ArgumentError, match="flag must be one of"):
        flow.flagged("dead")


def test_the_tables_and_plain_data():
    params = hand_model()
    hand_loss(params).backward()
    flow = grad_flow(params, lr=0.1)
    text = str(flow)
    assert "vanishing at ‖g‖ ≤ 1e-07·‖w‖" in text and "lr=0.1" in text
    (line,) = [x for x in flow.table("param").splitlines() if x.startswith("layer.w")]
    assert line.split() == ["layer.w", "2.24e+00", "5.00e+00", "4.47e-01", "4.47e-02"]
    assert "layer   module    3.00e+00" in flow.table()
    assert "reaches all 2 modules unharmed" in flow.summary()
    data = flow.to_dict()
    assert data["modules"][0]["ratio"] == pytest.approx(3 / 13)
    assert data["params"][2] == {
        "name": "head.v",
        "kind": "parameter",
        "numel": 1,
        "grad_norm": 0.5,
        "weight_norm": 1.0,
        "ratio": 0.5,
        "update_ratio": pytest.approx(0.05),
        "flags": [],
    }


def test_plots(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    params = hand_model()
    hand_loss(params).backward()
    flow = grad_flow(params)
    path = flow.plot(tmp_path / "flow.png", per="param")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    both = tg.diagnostics.plot({"a": flow, "b": flow}, str(tmp_path / "both.svg"))
    assert "<svg" in both.read_text()


def test_plots_say_what_to_install(tmp_path, monkeypatch):
    params = hand_model()
    hand_loss(params).backward()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="need matplotlib: pip install matplotlib"):
        grad_flow(params).plot(tmp_path / "flow.png")


# ---- watch: every backward pass


def test_watch_records_each_backward_pass():
    params = hand_model()
    xs = [(1.0, 2.0), (3.0, 4.0), (0.0, 1e-9)]
    with watch(params, vanishing=1e-6) as watcher:
        for x in xs:
            hand_loss(params, x).backward()  # .grad accumulates; the watch does not
    assert watcher.steps == 3
    norms = watcher.history(per="param", value="grad_norm")
    assert norms["layer.w"] == pytest.approx([math.sqrt(5), 5.0, 1e-9])
    assert norms["head.v"] == pytest.approx([0.5] * 3)
    layer = watcher.history()["layer"]  # ‖g‖/‖w‖ pooled: √(|x|² + 4) / 13
    assert layer == pytest.approx([3 / 13, math.sqrt(29) / 13, math.sqrt(4) / 13])
    assert watcher.first("vanishing", per="param") == {"layer.w": 2}
    assert watcher.first_vanishing == {} and watcher.first_nonfinite == {}
    assert watcher.flow(0).params[0].grad_norm == pytest.approx(math.sqrt(5))
    assert watcher.flow().flagged("vanishing", per="param") == ["layer.w"]
    # The hooks are gone after the block.
    hand_loss(params).backward()
    assert watcher.steps == 3


def test_watch_reports_the_first_step_a_layer_went_wrong():
    tg.manual_seed(0)
    model = sigmoid_mlp(depth=4)
    watcher = watch(model, vanishing=1e-3)
    x = tg.randn(16, 2)
    for step in range(5):
        model.zero_grad()
        scale = float("nan") if step == 3 else 1.0
        (model(x * scale) ** 2).mean().backward()
    watcher.remove()
    assert watcher.steps == 5
    assert watcher.first_nonfinite == {
        name: 3 for name in ["0", "2", "4", "6", "8", "10"]
    }
    assert watcher.first_vanishing and set(watcher.first_vanishing.values()) == {0}
    assert watcher.first_exploding == {}
    assert math.isnan(watcher.history()["0"][3])
    report = str(watcher)
    assert "watched 5 backward passes through 12 parameters" in report
    assert "gradient became non-finite first:\n    0 (Linear) at step 3" in report
    assert "no layer's gradient exploded" in report


def test_watch_bad_input():
    params = hand_model()
    with watch(params) as watcher:
        pass
    assert watcher.steps == 0
    with pytest.raises(tg.AxisError, match="step -1 out of range for 0 steps"):
        watcher.flow()
    with pytest.raises(tg.ArgumentError, match="flag must be one of"):
        watcher.first("dead")
    with pytest.raises(tg.ArgumentError, match="value must be 'ratio'"):
        watcher.history(value="mean")
    with pytest.raises(tg.ArgumentError, match="lr must be positive"):
        watch(params, lr=-1.0)


def test_the_public_names():
    assert sorted(tg.diagnostics.__all__) == [
        "FlowRow",
        "GradFlow",
        "GradWatch",
        "grad_flow",
        "plot",
        "watch",
    ]
    assert dir(tg.diagnostics) == sorted(tg.diagnostics.__all__)


# ---- python -m tapegrad --diagnose


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tapegrad", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_diagnose_demo(tmp_path):
    result = run("--diagnose")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sigmoid MLP (12 layers)" in out and "residual ReLU MLP (12 layers)" in out
    rows = [line.split() for line in out.splitlines() if line[:5].strip().isdigit()]
    assert len(rows) == 12
    assert [row[3] == "vanishing" for row in rows] == [True] * 4 + [False] * 8
    assert all("vanishing" not in row[4:] for row in rows)
    assert "the gradient vanished in 4 of 12 layers" in out
    assert "residual ReLU MLP (12 layers): the gradient reaches all 12 layers" in out
    assert "training" not in result.stderr  # the main demonstration did not run
    table = out[out.index("layer  ") : out.index("\n\n", out.index("layer  "))]
    readme = Path(__file__).resolve().parent.parent / "README.md"
    assert table in readme.read_text(encoding="utf-8")  # the README shows this run


def test_the_diagnose_demo_draws(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    result = run("--diagnose", "--plot", str(tmp_path / "flow.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "flow.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_needs_diagnose(tmp_path):
    result = run("--plot", str(tmp_path / "flow.png"))
    assert result.returncode == 2 and "--plot draws the --diagnose comparison" in (
        result.stderr
    )
    result = run("--diagnose", "--plot", str(tmp_path / "missing" / "flow.png"))
    assert result.returncode == 2 and "not a file in an existing directory" in (
        result.stderr
    )

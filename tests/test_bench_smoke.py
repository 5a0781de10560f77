"""The benchmark suite (benches/compare.py) runs, writes its schema, and refuses to time a
wrong gradient. Fast: one small case in --quick mode, torch hidden."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import tapegrad as tg

BENCHES = Path(__file__).resolve().parent.parent / "benches"
sys.path.insert(0, str(BENCHES))

import _runner
import compare
from _timing import CheckFailed, Settings

RUN_KEYS = {"schema", "meta", "jobs", "results", "ratios", "targets"}
ROW_KEYS = {
    "case",
    "bench",
    "framework",
    "threads",
    "params",
    "time_s",
    "stats",
    "metrics",
}


def _wrong_relu(t: tg.Tensor) -> tg.Tensor:
    """relu's value, but a gradient off by +0.5 everywhere: a broken VJP rule."""
    return t.relu() + (t - t.detach()) * 0.5


def test_quick_run_writes_json_and_markdown(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: PLW1510  (the status is asserted)
        [
            sys.executable,
            str(BENCHES / "compare.py"),
            "--quick",
            "--rounds",
            "2",
            "--cases",
            "tape_overhead",
            "--out-dir",
            str(tmp_path),
            "--pretend-missing",
            "torch,matplotlib",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "latest.json").read_text())
    assert RUN_KEYS <= result.keys()
    assert result["schema"] == "tapegrad-bench/1"
    meta = result["meta"]
    assert meta["quick"] is True and meta["threads"] == 2 and meta["rounds"] == 2
    status = {job["framework"]: job["status"] for job in result["jobs"]}
    assert len(result["jobs"]) == 3  # one record per (case, framework), rounds merged
    assert status == {"tapegrad": "ok", "numpy": "ok", "torch": "skipped"}
    assert all(job["checks"] for job in result["jobs"] if job["status"] == "ok")
    rows = result["results"]
    assert {r["framework"] for r in rows} == {"tapegrad", "numpy"}
    for row in rows:
        assert ROW_KEYS <= row.keys()
        assert row["case"] == "tape_overhead" and row["time_s"] > 0
        assert row["stats"]["min_s"] <= row["time_s"] and row["stats"]["repeats"] >= 3
        assert row["metrics"]["time_us"] == pytest.approx(row["time_s"] * 1e6)
        assert len(row["round_times_s"]) == 2  # each point: the faster of two rounds
        assert row["time_s"] == min(row["round_times_s"])
    benches = {r["bench"] for r in rows}
    assert {(r["bench"], r["peer"]) for r in result["ratios"]} == {
        (b, "numpy") for b in benches
    }
    assert all(r["speed_vs_peer"] > 0 for r in result["ratios"])
    assert {t["met"] for t in result["targets"]} == {None}  # no target's case was run
    text = (tmp_path / "latest.md").read_text()
    assert "| bench | tapegrad µs | NumPy µs | speed vs NumPy |" in text
    assert "tape_overhead / torch (2 thr): skipped: torch is not importable" in text
    assert not (tmp_path / "latest.png").exists()  # matplotlib hidden: no chart


def test_wrong_gradient_is_caught_before_timing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tg, "relu", _wrong_relu)
    with pytest.raises(CheckFailed, match=r"4-64-64-2 b64 gradient W1: relative error"):
        _runner.run_job("mlp_step", "tapegrad", Settings.make(quick=True, threads=1))


def test_the_check_passes_for_the_right_gradient() -> None:
    record = _runner.run_job(
        "tape_overhead", "tapegrad", Settings.make(quick=True, threads=1)
    )
    assert record["status"] == "ok" and len(record["rows"]) == 2
    assert all(c["relative_error"] <= c["rtol"] for c in record["checks"])


def test_child_exits_loudly_on_a_wrong_gradient(tmp_path: Path) -> None:
    out = tmp_path / "child.json"
    script = (
        "import runpy, sys, tapegrad as tg\n"
        "tg.tanh = lambda t: t.tanh() + (t - t.detach()) * 0.5\n"
        f"sys.argv = ['_runner.py', '--case', 'tape_overhead', '--framework', 'tapegrad',"
        f" '--quick', '--out', {str(out)!r}]\n"
        f"runpy.run_path({str(BENCHES / '_runner.py')!r}, run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3
    assert "CHECK FAILED, nothing timed" in done.stderr
    record = json.loads(out.read_text())
    assert record["status"] == "check_failed" and "rows" not in record


def test_compare_fails_when_a_child_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_job(case, framework, threads, args, workdir):
        return {
            "case": case,
            "framework": framework,
            "threads": threads,
            "status": "check_failed",
            "error": "gradient W1: relative error 0.5",
            "wall_s": 0.1,
            "foreign_load": 0.0,
        }

    monkeypatch.setattr(compare, "run_job", failing_job)
    status = compare.main(
        [
            "--quick",
            "--cases",
            "tape_overhead",
            "--frameworks",
            "tapegrad",
            "--out-dir",
            str(tmp_path),
            "--pretend-missing",
            "torch,matplotlib",
        ]
    )
    assert status == 1
    text = (tmp_path / "latest.md").read_text()
    assert "tape_overhead / tapegrad (2 thr): check_failed: gradient W1" in text

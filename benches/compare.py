"""tapegrad against NumPy and PyTorch, side by side, in one run.

    python benches/compare.py                       # every case, 2 rounds: 5-6 minutes
    python benches/compare.py --quick               # fewer points, shorter timing
    python benches/compare.py --cases mlp_step,matmul --threads 1

Each (case, framework) pair runs in a child process of its own (``_runner.py``), so no
two frameworks' thread pools ever share a process, with every framework pinned to the
same thread count (``--threads``, default 2) through OMP_NUM_THREADS, MKL_NUM_THREADS,
OPENBLAS_NUM_THREADS, RAYON_NUM_THREADS, TAPEGRAD_NUM_THREADS and torch.set_num_threads.
Every child checks its results and gradients against a reference before timing anything,
and a failed check fails the run (exit status 1) after the other pairs have run.

Results go to ``benches/results/`` (or ``--out-dir``): ``compare-<time>.json``, ``.md``
and, when matplotlib is importable, ``.png``; ``latest.*`` are copies of the newest.
PyTorch rows are skipped when torch is not importable (``--pretend-missing torch``
shows what that run looks like on a machine that has it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _chart import chart
from _report import markdown, summarise
from _runner import HIDE_VARIABLE
from cases import ALL_FRAMEWORKS, CASES

SCHEMA = "tapegrad-bench/1"
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "RAYON_NUM_THREADS",
    "TAPEGRAD_NUM_THREADS",
)
# Set on some machines for older OpenBLAS builds; they slow a current NumPy down. Unset
# together, and only for the NumPy rows (see docs/performance.md).
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# Other processes using more than this many cores on average during a child's run make
# its numbers suspect; the report flags such jobs.
DISTURBED = 0.1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark tapegrad against NumPy and PyTorch (see docs/performance.md)."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer points and shorter timing (a smoke run, not numbers)",
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated subset of: {', '.join(CASES)}",
    )
    parser.add_argument(
        "--frameworks",
        default=",".join(ALL_FRAMEWORKS),
        help="comma-separated subset of: tapegrad, numpy, torch",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads for every framework (default 2)"
    )
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    parser.add_argument(
        "--pretend-missing",
        default="",
        metavar="PACKAGES",
        help="make these packages unimportable in the children, e.g. torch",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="run every child this many times, round by round, and keep each point's "
        "fastest round (default 2, 1 with --quick)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each child, wait up to this long for other processes "
        "to leave the cores idle (for shared machines)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900,
        help="seconds before one (case, framework) child is killed",
    )
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    args.frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    args.pretend_missing = [
        p.strip() for p in args.pretend_missing.split(",") if p.strip()
    ]
    for case in args.cases:
        if case not in CASES:
            parser.error(f"unknown case {case!r}; the cases are {', '.join(CASES)}")
    for framework in args.frameworks:
        if framework not in ALL_FRAMEWORKS:
            parser.error(f"unknown framework {framework!r}")
    return args


def child_env(framework: str, threads: int, hidden: list[str]) -> dict[str, str]:
    env = dict(os.environ)
    for variable in THREAD_VARIABLES:
        env[variable] = str(threads)
    if framework == "numpy":
        for variable in OPENBLAS_OVERRIDES:
            env.pop(variable, None)
    if hidden:
        env[HIDE_VARIABLE] = ",".join(hidden)
    else:
        env.pop(HIDE_VARIABLE, None)
    return env


def probe(hidden: list[str]) -> dict[str, Any]:
    """Versions of the frameworks, as a child process sees them."""
    done = subprocess.run(
        [sys.executable, str(HERE / "_runner.py"), "--probe"],
        check=False,
        env=child_env("probe", 1, hidden),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        sys.exit(f"probing the frameworks failed:\n{done.stderr}")
    return json.loads(done.stdout)


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                "",
            )
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "-C", str(HERE), "describe", "--always", "--dirty"],
        check=False,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "git": commit or None,
    }


def cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process's children).

    Their difference over a child's run is what other processes took from the cores while
    it was being timed: the "foreign load" recorded with each job.
    """
    try:
        with open("/proc/stat", encoding="utf-8") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return math.nan, math.nan
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return busy / os.sysconf("SC_CLK_TCK"), children.ru_utime + children.ru_stime


def wait_for_idle(max_wait: float, threshold: float = 0.15) -> float:
    """Waits (at most max_wait s) until other processes use under `threshold` cores."""
    deadline = time.monotonic() + max_wait
    while True:
        before = cpu_seconds()[0]
        time.sleep(1.0)
        load = cpu_seconds()[0] - before
        if not load >= threshold or time.monotonic() >= deadline:  # NaN: no /proc/stat
            return load


def run_job(
    case: str, framework: str, threads: int, args: argparse.Namespace, workdir: str
) -> dict[str, Any]:
    """Runs one child and returns its record (status ok, check_failed, error, timeout)."""
    out = os.path.join(workdir, f"{case}-{framework}-{threads}.json")
    command = [
        sys.executable,
        str(HERE / "_runner.py"),
        "--case",
        case,
        "--framework",
        framework,
        "--threads",
        str(threads),
        "--out",
        out,
    ]
    if args.quick:
        command.append("--quick")
    waited = time.monotonic()
    if args.wait_idle > 0 and wait_for_idle(args.wait_idle) >= 0.15:
        print(" (the cores stayed busy)", end="", flush=True)
    waited = time.monotonic() - waited
    busy_before, children_before = cpu_seconds()
    start = time.perf_counter()
    record: dict[str, Any] = {"case": case, "framework": framework, "threads": threads}
    try:
        done = subprocess.run(
            command,
            check=False,
            env=child_env(framework, threads, args.pretend_missing),
            capture_output=True,
            text=True,
            timeout=args.timeout,
        )
    except subprocess.TimeoutExpired as expired:
        stderr = expired.stderr or b""  # bytes, whatever text= says
        if isinstance(stderr, bytes):
            stderr = stderr.decode(errors="replace")
        record.update(
            status="timeout",
            error=f"killed after {args.timeout:.0f} s",
            stderr=stderr[-4000:],
        )
    else:
        try:
            with open(out, encoding="utf-8") as result:
                record = json.load(result)
        except (OSError, ValueError):
            record.update(
                status="error", error=f"the child exited with {done.returncode}"
            )
        if record["status"] != "ok":
            record["stderr"] = done.stderr[-4000:]
    record["wall_s"] = time.perf_counter() - start
    record["waited_for_idle_s"] = waited
    busy_after, children_after = cpu_seconds()
    foreign = (busy_after - busy_before) - (children_after - children_before)
    record["foreign_load"] = max(0.0, foreign / record["wall_s"])  # cores, on average
    return record


def plan_jobs(args: argparse.Namespace) -> list[list[tuple[str, str, int]]]:
    """The children to run, round by round: within each case the frameworks take turns
    at going first, so that a disturbance does not always hit the same one."""
    plan = []
    for case in args.cases:
        info = CASES[case]
        for framework in info.frameworks:
            if framework in args.frameworks:
                for threads in info.threads or (args.threads,):
                    plan.append((case, framework, threads))
    rounds = []
    for r in range(args.rounds):
        this_round = []
        for case in args.cases:
            pairs = [job for job in plan if job[0] == case]
            shift = r % len(pairs) if pairs else 0
            this_round += pairs[shift:] + pairs[:shift]
        rounds.append(this_round)
    return rounds


def run_all(
    rounds: list[list[tuple[str, str, int]]],
    args: argparse.Namespace,
    versions: dict[str, Any],
) -> list[dict[str, Any]]:
    """Runs every child of every round; returns one merged record per (case, fw, threads)."""
    records: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    total, done = sum(len(r) for r in rounds), 0
    with tempfile.TemporaryDirectory(prefix="tapegrad-bench-") as workdir:
        for r, jobs in enumerate(rounds, 1):
            for case, framework, threads in jobs:
                done += 1
                prefix = f"[{done:2}/{total}] {case:15} {framework:9} {threads} thr"
                if args.rounds > 1:
                    prefix = f"round {r}: " + prefix
                if framework != "numpy" and not versions.get(framework):
                    reason = f"{framework} is not importable"
                    record = {
                        "case": case,
                        "framework": framework,
                        "threads": threads,
                        "status": "skipped",
                        "reason": reason,
                    }
                    print(f"{prefix}  skipped: {reason}", flush=True)
                else:
                    print(f"{prefix} ...", end="", flush=True)
                    record = run_job(case, framework, threads, args, workdir)
                    report_job(record)
                records.setdefault((case, framework, threads), []).append(record)
    return [merge_rounds(runs) for runs in records.values()]


def report_job(record: dict[str, Any]) -> None:
    notes = [f"{record['wall_s']:.1f} s"]
    if record.get("waited_for_idle_s", 0.0) > 2:
        notes.append(
            f"after waiting {record['waited_for_idle_s']:.0f} s for idle cores"
        )
    if record.get("foreign_load", 0.0) > DISTURBED:
        notes.append(f"other processes used {record['foreign_load']:.2f} cores")
    print(f" {record['status']} ({'; '.join(notes)})", flush=True)
    if record["status"] != "ok":
        print(
            f"\n*** {record['case']} / {record['framework']}: "
            f"{record['status'].upper()}: {record.get('error')}\n"
            f"{record.get('stderr', '')}",
            file=sys.stderr,
            flush=True,
        )


def merge_rounds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One record from a child's rounds: each row from the round where it was fastest.

    The fastest median is the least disturbed one (nothing makes code run faster than it
    can); every round's median is kept in ``round_times_s`` to show the spread. Any round
    that did not succeed makes the whole record that round's (failed) record.
    """
    failed = [run for run in runs if run["status"] != "ok"]
    if failed:
        return failed[0]
    merged = {k: v for k, v in runs[0].items() if k != "rows"}
    merged["rounds"] = len(runs)
    merged["wall_s"] = sum(run["wall_s"] for run in runs)
    merged["waited_for_idle_s"] = sum(run.get("waited_for_idle_s", 0.0) for run in runs)
    # A row comes from its fastest round, so a record is only suspect when every round
    # of it was disturbed: keep the least disturbed round's load, and all of them.
    merged["round_foreign_load"] = [run.get("foreign_load", 0.0) for run in runs]
    merged["foreign_load"] = min(merged["round_foreign_load"])
    merged["rows"] = []
    for i, row in enumerate(runs[0]["rows"]):
        candidates = [run["rows"][i] for run in runs]
        best = dict(min(candidates, key=lambda c: c["time_s"]))
        best["round_times_s"] = [c["time_s"] for c in candidates]
        merged["rows"].append(best)
    return merged


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    versions = probe(args.pretend_missing)
    print(
        f"tapegrad {versions.get('tapegrad')}, numpy {versions.get('numpy')}, "
        f"torch {versions.get('torch') or 'not importable: PyTorch rows skipped'}; "
        f"{args.threads} thread(s){', quick' if args.quick else ''}",
        flush=True,
    )
    load = wait_for_idle(0)
    if load > DISTURBED:
        print(
            f"warning: other processes are using {load:.2f} cores: they compete with the "
            "benchmarks and make the numbers noisy (--wait-idle waits for a quiet moment)",
            flush=True,
        )
    jobs = run_all(plan_jobs(args), args, versions)
    result = {
        "schema": SCHEMA,
        "meta": {
            "command": " ".join(
                ["python benches/compare.py", *(sys.argv[1:] if argv is None else argv)]
            ),
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            "duration_s": time.time() - started,
            "quick": args.quick,
            "threads": args.threads,
            "rounds": args.rounds,
            "disturbed_threshold_cores": DISTURBED,
            "cases": args.cases,
            "frameworks": args.frameworks,
            "pretend_missing": args.pretend_missing,
            "versions": versions,
            "machine": machine(),
            "openblas_overrides_unset_for_numpy": {
                v: os.environ[v] for v in OPENBLAS_OVERRIDES if v in os.environ
            },
            "numpy_libraries": next(
                (
                    j.get("libraries")
                    for j in jobs
                    if j["framework"] == "numpy" and j.get("libraries")
                ),
                None,
            ),
        },
        "jobs": [{k: v for k, v in job.items() if k != "rows"} for job in jobs],
        "results": [row for job in jobs for row in job.get("rows", [])],
    }
    result.update(summarise(result))
    write(result, args.out_dir, chart_allowed="matplotlib" not in args.pretend_missing)
    failed = [j for j in jobs if j["status"] not in ("ok", "skipped")]
    if failed:
        print(
            f"\nFAILED: {', '.join(j['case'] + '/' + j['framework'] for j in failed)}",
            file=sys.stderr,
        )
    return 1 if failed else 0


def write(result: dict[str, Any], out_dir: Path, chart_allowed: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / time.strftime("compare-%Y%m%d-%H%M%S")
    text = markdown(result)
    stem.with_suffix(".json").write_text(
        json.dumps(result, indent=1) + "\n", encoding="utf-8"
    )
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
    written = [stem.with_suffix(".json"), stem.with_suffix(".md")]
    if chart_allowed and chart(result, stem.with_suffix(".png")):
        written.append(stem.with_suffix(".png"))
    for path in written:
        shutil.copyfile(path, out_dir / f"latest{path.suffix}")
    print("\n" + text)
    print("written: " + ", ".join(str(p) for p in written))


if __name__ == "__main__":
    sys.exit(main())

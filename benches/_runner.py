"""Runs one (case, framework) pair in this process: the child side of ``compare.py``.

    python benches/_runner.py --case matmul --framework numpy --threads 2 --out r.json
    python benches/_runner.py --probe       # versions of the frameworks, as JSON

``compare.py`` starts one of these per pair, with the thread-count variables already set
in its environment, so that no two frameworks' thread pools ever share a process. The case
checks the framework's results and gradients against a reference first and raises
``CheckFailed`` (exit status 3) instead of timing anything wrong.

Setting ``TAPEGRAD_BENCH_HIDE=torch`` makes ``import torch`` fail here, as if torch were
not installed (``compare.py --pretend-missing torch``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import json
import os
import sys
import time
import traceback
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import CheckFailed, Settings, check_close

HIDE_VARIABLE = "TAPEGRAD_BENCH_HIDE"
EXIT_CHECK_FAILED = 3


class _HiddenModules(importlib.abc.MetaPathFinder):
    """Makes importing the named top-level packages fail, as if they were not installed."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(
                f"No module named {fullname!r} ({HIDE_VARIABLE} hides it)",
                name=fullname,
            )


def hide_modules_from_environment() -> None:
    """Installs the import blocker for the packages named in TAPEGRAD_BENCH_HIDE."""
    names = {
        n.strip() for n in os.environ.get(HIDE_VARIABLE, "").split(",") if n.strip()
    }
    if names:
        sys.meta_path.insert(0, _HiddenModules(names))


class Context:
    """What a case gets: the settings, a place for result rows and for check records."""

    def __init__(self, case: str, framework: str, settings: Settings) -> None:
        self.case = case
        self.framework = framework
        self.settings = settings
        self.quick = settings.quick
        self.rows: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []

    def check(self, what: str, got: Any, expected: Any, rtol: float) -> None:
        """Checks a result against its reference; raises CheckFailed on a mismatch."""
        record = check_close(
            f"{self.framework} {self.case}: {what}", got, expected, rtol
        )
        self.checks.append(record)

    def add(
        self,
        bench: str,
        params: dict[str, Any],
        timing: dict[str, Any],
        **metrics: float,
    ) -> dict[str, Any]:
        """Records one measured point; ``timing`` is what ``_timing.measure`` returned."""
        row = {
            "case": self.case,
            "bench": bench,
            "framework": self.framework,
            "threads": self.settings.threads,
            "params": params,
            **timing,
            "metrics": metrics,
        }
        self.rows.append(row)
        return row


def setup_framework(framework: str, threads: int) -> None:
    """Pins the framework's own thread pool (the environment variables are already set)."""
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)


def blas_info() -> list[dict[str, Any]] | None:
    """The BLAS and OpenMP libraries loaded in this process, by threadpoolctl if present."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keep = (
        "user_api",
        "internal_api",
        "prefix",
        "version",
        "architecture",
        "num_threads",
        "threading_layer",
    )
    return [{k: lib.get(k) for k in keep if k in lib} for lib in threadpool_info()]


def run_job(case: str, framework: str, settings: Settings) -> dict[str, Any]:
    """Runs a case for one framework in this process and returns its record."""
    module = importlib.import_module(f"cases.{case}")
    setup_framework(framework, settings.threads)
    context = Context(case, framework, settings)
    start = time.perf_counter()
    module.run(framework, context)
    return {
        "case": case,
        "framework": framework,
        "threads": settings.threads,
        "status": "ok",
        "seconds": time.perf_counter() - start,
        "rows": context.rows,
        "checks": context.checks,
        "libraries": blas_info(),
    }


def probe() -> dict[str, Any]:
    """Versions of the frameworks importable here (None for a missing one)."""
    versions: dict[str, Any] = {"python": sys.version.split()[0]}
    for name in ("tapegrad", "numpy", "torch", "matplotlib", "threadpoolctl"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            versions[name] = None
        else:
            versions[name] = getattr(module, "__version__", "unknown")
            if name == "tapegrad":
                native = sys.modules.get("tapegrad._native")
                path = getattr(native, "__file__", None)
                if path:
                    versions["tapegrad_native"] = {
                        "path": path,
                        "built": time.strftime(
                            "%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(path))
                        ),
                    }
    return versions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", action="store_true")
    parser.add_argument("--case")
    parser.add_argument("--framework")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    hide_modules_from_environment()
    if args.probe:
        print(json.dumps(probe()))
        return 0
    settings = Settings.make(args.quick, args.threads)
    try:
        record = run_job(args.case, args.framework, settings)
        status = 0
    except CheckFailed as exc:
        print(f"\n*** CHECK FAILED, nothing timed: {exc}\n", file=sys.stderr)
        record = {
            "case": args.case,
            "framework": args.framework,
            "threads": args.threads,
            "status": "check_failed",
            "error": str(exc),
        }
        status = EXIT_CHECK_FAILED
    except Exception as exc:  # noqa: BLE001  (reported to the parent, which fails loudly)
        traceback.print_exc()
        record = {
            "case": args.case,
            "framework": args.framework,
            "threads": args.threads,
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}",
        }
        status = 1
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(record, out)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Writes ``tests/data/op_dtypes.json``: PyTorch's answer for every OpSpec sample on every
bool and integer dtype (the result dtype, ``"raises"`` or ``"untranslatable"``), one line per
sample: its key and the six answers in the order of ``dtype_oracle.NON_FLOAT``.

Run with torch installed after adding or changing an OpSpec; ``tests/test_op_dtypes.py``
fails when the file disagrees with the installed torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402

from dtype_oracle import NON_FLOAT, table  # noqa: E402

TARGET = ROOT / "tests" / "data" / "op_dtypes.json"


def main() -> None:
    cases = table(torch)
    lines = [
        f"{json.dumps(key)}: " + json.dumps(" ".join(cases[key][d] for d in NON_FLOAT))
        for key in sorted(cases)
    ]
    TARGET.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"wrote {TARGET.relative_to(ROOT)}: {len(cases)} samples")


if __name__ == "__main__":
    main()

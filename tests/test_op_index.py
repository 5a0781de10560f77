"""The derivative index and the Python surface cannot drift apart.

The core lists every primitive (``_native._primitives()``); the stub's unary methods,
``tapegrad/_ops.py``, the docs' table of primitives and the README's list of elementwise
functions are generated from it by ``tools/gen_ops.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tapegrad as tg
from tapegrad import _native

from op_specs import OPS, make_arrays

ROOT = Path(__file__).resolve().parent.parent
INDEX = _native._primitives()
NODES = {entry["node"] for entry in INDEX}


def test_generated_files_are_up_to_date():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_ops.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_every_entry_states_every_property():
    keys = {"node", "family", "api", "saves", "derivative", "batch"}
    for entry in INDEX:
        assert set(entry) == keys
        assert entry["node"].endswith("Backward")
        assert (
            ROOT / "rust" / "core" / "src" / "ops" / f"{entry['family']}.rs"
        ).exists()
        assert entry["derivative"] and entry["saves"] and entry["batch"]


def test_every_public_name_of_a_primitive_exists_and_is_exported_and_typed():
    stub = (ROOT / "python" / "tapegrad" / "_native.pyi").read_text()
    for entry in INDEX:
        for name in entry["api"]:
            if name.startswith("_") and not name.startswith("__"):
                assert hasattr(_native, name), name
                continue
            exists = hasattr(tg.Tensor, name) or name in tg.__all__
            assert exists, (
                f"{entry['node']}: neither Tensor.{name} nor tg.{name} exists"
            )
            assert f"def {name}(" in stub or f"def {name}(" in stub.replace(
                "@property\n    ", ""
            ), f"{name} is missing from the stub"
    for name in tg._ops.__all__:
        assert name in tg.__all__ and getattr(tg, name) is getattr(tg.Tensor, name)


def test_the_docs_and_readme_list_every_primitive():
    table = (ROOT / "docs" / "architecture.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for entry in INDEX:
        assert f"`{entry['node']}`" in table
        if entry["family"] == "unary":
            assert f"`{entry['api'][0]}`" in readme


def _nodes_recorded(spec) -> set[str]:
    """The node names the first sample of an OpSpec records, over its whole graph."""
    sample = spec.samples[0]
    arrays = make_arrays(spec, sample, np.float64, spec.id)
    inputs = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in arrays]
    out = spec.op(*inputs, **sample.kwargs)
    outs = out if isinstance(out, (tuple, list)) else [out]
    tensors = [o for o in outs if isinstance(o, tg.Tensor) and o.grad_fn is not None]
    return {row["op"] for row in _native._graph_rows(tensors)}


@pytest.mark.parametrize("spec", [s for s in OPS if s.samples], ids=lambda s: s.name)
def test_every_node_an_op_records_is_in_the_index(spec):
    unknown = _nodes_recorded(spec) - NODES - {"AliasBackward"}
    assert not unknown, f"{spec.name} records {unknown}, which the index does not list"

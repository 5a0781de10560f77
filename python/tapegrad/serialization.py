"""``tapegrad.save`` and ``tapegrad.load``: safetensors files, never pickle.

A flat mapping of names to tensors (a module's ``state_dict()``) is written as a plain
safetensors file that ``safetensors.numpy.load_file`` (or any other safetensors reader)
opens. Nested state (an optimiser's or a scheduler's ``state_dict()``: dicts, lists and
tuples of tensors, numbers, strings, booleans and None) is flattened: each tensor is
stored under its dotted path, and the structure, with every non-tensor value, goes as
JSON into the file's metadata under ``"tapegrad.structure"``. Loading only parses
JSON and raw arrays, so a file cannot run code. The metadata also records the order
of a flat mapping's names (``"tapegrad.keys"``), which safetensors does not keep.

Writes are atomic: the bytes go to a temporary file in the same directory, which is
flushed to disk and then renamed over the target. A failure at any point leaves an
existing file untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import numpy as np

import tapegrad as tg
from tapegrad._errors import DTypeError

__all__ = ["load", "load_metadata", "save"]

PathLike = Union[str, "os.PathLike[str]"]
STRUCTURE_KEY = "tapegrad.structure"
ORDER_KEY = "tapegrad.keys"
_FORMAT = {"tapegrad.version": tg.__version__}


def save(
    obj: Mapping[str, Any], path: PathLike, metadata: Mapping[str, str] | None = None
) -> None:
    """Writes a state dict to ``path`` in the safetensors format, atomically.

    Args:
        obj: A mapping of names to tensors or NumPy arrays (a module's state dict),
            or a nested state (an optimiser's state dict; see the module docstring).
        path: The file to write; replaced only once the new file is complete.
        metadata: Extra string-to-string metadata stored in the file's header.

    Raises:
        DTypeError: For values that are neither tensors, arrays, nor JSON-able
            scalars and containers.
    """
    if not isinstance(obj, Mapping):
        raise DTypeError(
            f"save expects a mapping (a state dict), got {type(obj).__name__}"
        )
    arrays: dict[str, np.ndarray] = {}
    header = dict(_FORMAT)
    if metadata:
        header.update({str(k): str(v) for k, v in metadata.items()})
    if all(isinstance(k, str) and _is_array(v) for k, v in obj.items()):
        arrays = {k: _as_array(v) for k, v in obj.items()}
        header[ORDER_KEY] = json.dumps(list(arrays))  # safetensors sorts its entries
    else:
        header[STRUCTURE_KEY] = json.dumps(_flatten(obj, "", arrays))
    data = _safetensors().numpy.save(arrays, metadata=header)
    _atomic_write(Path(path), data)


def load(path: PathLike) -> dict[str, Any]:
    """Reads a file written by ``save`` (or any safetensors file).

    Float tensors come back as tapegrad tensors (float16 as float32); integer and
    boolean arrays, which tapegrad has no tensors for, come back as NumPy arrays. A
    nested state saved by ``save`` is rebuilt with its original structure.

    Args:
        path: The file to read.

    Returns:
        A dict, ready for ``load_state_dict``.
    """
    with _safetensors().safe_open(str(path), framework="np") as handle:
        metadata = handle.metadata() or {}
        names = handle.keys()  # a safe_open handle, not a dict
        tensors = {name: _from_array(handle.get_tensor(name)) for name in names}
    if STRUCTURE_KEY in metadata:
        return _unflatten(json.loads(metadata[STRUCTURE_KEY]), tensors)
    order = json.loads(metadata.get(ORDER_KEY, "[]"))
    if sorted(order) != sorted(tensors):  # a file from elsewhere, or edited
        return tensors
    return {name: tensors[name] for name in order}


def load_metadata(path: PathLike) -> dict[str, str]:
    """The string metadata of a safetensors file (what ``save(metadata=...)`` stored)."""
    with _safetensors().safe_open(str(path), framework="np") as handle:
        metadata = dict(handle.metadata() or {})
    metadata.pop(STRUCTURE_KEY, None)
    metadata.pop(ORDER_KEY, None)
    return metadata


def _safetensors() -> Any:
    """The safetensors package, imported on first use: ``import tapegrad`` works
    without it, and only saving and loading need it."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(
            "tapegrad.save and tapegrad.load need the safetensors package "
            "(a dependency of tapegrad): pip install safetensors"
        ) from error
    return safetensors


def _is_array(value: Any) -> bool:
    return isinstance(value, (tg.Tensor, np.ndarray))


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, tg.Tensor):
        return value.detach().numpy()
    array = np.ascontiguousarray(value)
    if array.dtype.byteorder == ">":  # safetensors stores little-endian data
        array = array.astype(array.dtype.newbyteorder("<"))
    return array


def _from_array(array: np.ndarray) -> Any:
    if array.dtype.kind == "f":
        return tg.from_numpy(array)
    return array


def _flatten(value: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON-able description of ``value``; its tensors go into ``arrays``."""
    if _is_array(value):
        name = path or "tensor"
        while name in arrays:  # keys with dots could make two paths alike
            name += "_"
        arrays[name] = _as_array(value)
        return {"tensor": name}
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise DTypeError(
                    f"save: keys must be str or int, got {key!r} at {path!r}"
                )
            items.append(
                [key, _flatten(item, f"{path}.{key}" if path else str(key), arrays)]
            )
        return {"dict": items}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [_flatten(v, f"{path}.{k}", arrays) for k, v in enumerate(value)]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    if isinstance(value, np.generic):
        return {"value": value.item()}
    raise DTypeError(
        f"save: cannot store a {type(value).__name__} at {path or 'the top'!r}: only "
        f"tensors, arrays, numbers, strings, booleans, None, dicts, lists and tuples"
    )


def _unflatten(node: Any, tensors: dict[str, Any]) -> Any:
    if "tensor" in node:
        return tensors[node["tensor"]]
    if "dict" in node:
        return {key: _unflatten(item, tensors) for key, item in node["dict"]}
    if "list" in node:
        return [_unflatten(item, tensors) for item in node["list"]]
    if "tuple" in node:
        return tuple(_unflatten(item, tensors) for item in node["tuple"])
    return node["value"]


def _atomic_write(path: Path, data: bytes) -> None:
    """Writes ``data`` to a temporary file beside ``path``, then renames it over."""
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _file_mode(path))  # mkstemp makes it owner-only
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def _file_mode(path: Path) -> int:
    """The existing file's permissions, or the usual ones for a new file."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

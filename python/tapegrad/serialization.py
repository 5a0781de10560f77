"""``tapegrad.save`` and ``tapegrad.load``: safetensors files, never pickle.

A flat mapping of names to tensors (a module's ``state_dict()``) is written as a plain
safetensors file that ``safetensors.numpy.load_file`` (or any other safetensors reader)
opens. Nested state (an optimiser's or a scheduler's ``state_dict()``: dicts, lists and
tuples of tensors, numbers, strings, booleans and None) is flattened: each tensor is
stored under its dotted path, and the structure, with every non-tensor value, goes as
JSON into the file's metadata under ``"tapegrad.structure"``. Loading only parses
JSON and raw arrays, so a file cannot run code. The metadata also records the order
of a flat mapping's names (``"tapegrad.keys"``), which safetensors does not keep.

Writes are atomic: the bytes go to a temporary file in the same directory
(``.<name>.tapegrad-<pid>-<random>.tmp``), which is flushed to disk and then renamed
over the target. A failure at any point leaves an existing file untouched. A process
killed mid-save (SIGKILL, or SIGTERM without a handler) cannot remove its temporary
file; the next ``save`` to the same path removes such leftovers whose process has
ended. Saving onto a symbolic link writes the link's target, as ``open()`` would.
Both functions also take an open binary file instead of a path (written or read in
one go, from its current position).

``load`` reads a file into memory it owns before parsing it (a memory map would
crash the interpreter with SIGBUS if the file were truncated while mapped), so a
truncated or shrinking file raises ``FileFormatError``.

A file that is not safetensors is refused with a ``FileFormatError`` that says what
it is; PyTorch's own ``torch.save`` files (a zip of pickles, or a bare pickle) are
recognised and the message says how to convert them, since tapegrad never unpickles.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

import tapegrad as tg
from tapegrad._errors import (
    ArgumentError,
    DTypeError,
    FileFormatError,
    PathNotFoundError,
)

__all__ = ["load", "load_metadata", "save"]

PathLike = Union[str, "os.PathLike[str]"]
FileLike = Union[PathLike, IO[bytes]]
STRUCTURE_KEY = "tapegrad.structure"
ORDER_KEY = "tapegrad.keys"
_FORMAT = {"tapegrad.version": tg.__version__}
_RESERVED = "__metadata__"  # the header entry safetensors keeps for metadata
_MAX_HEADER = 100_000_000  # safetensors' own limit on the JSON header's size


def save(obj: Any, f: FileLike, metadata: Mapping[str, str] | None = None) -> None:
    """Writes ``obj`` to ``f`` in the safetensors format (atomically for a path).

    Args:
        obj: A mapping of names to tensors or NumPy arrays (a module's state dict),
            or any nesting of dicts, lists and tuples of tensors, arrays, numbers,
            strings, booleans and None (an optimiser's state dict, a checkpoint
            ``{"epoch": 3, "model": ..., "optim": ...}``, a single tensor).
        f: A path (str or PathLike), replaced only once the new file is complete,
            or a binary file object open for writing.
        metadata: Extra string-to-string metadata stored in the file's header.

    Raises:
        DTypeError: For values that are neither tensors, arrays, nor JSON-able
            scalars and containers.
        PathNotFoundError: If the folder to write into does not exist.
    """
    arrays: dict[str, np.ndarray] = {}
    header = dict(_FORMAT)
    if metadata:
        header.update({str(k): str(v) for k, v in metadata.items()})
    if (
        isinstance(obj, Mapping)
        and _RESERVED not in obj
        and all(isinstance(k, str) and isinstance(v, tg.Tensor) for k, v in obj.items())
    ):
        arrays = {k: _as_array(v) for k, v in obj.items()}
        header[ORDER_KEY] = json.dumps(list(arrays))  # safetensors sorts its entries
    else:
        header[STRUCTURE_KEY] = json.dumps(_flatten(obj, "", arrays))
    if hasattr(f, "write"):
        data = _safetensors().numpy.save(arrays, metadata=header)
        f.write(data)  # type: ignore[union-attr]
        return
    path = Path(f)  # type: ignore[arg-type]
    if not path.parent.is_dir():
        raise PathNotFoundError(
            f"save: cannot write {str(path)!r}: the folder {str(path.parent)!r} does "
            f"not exist"
        )
    if path.is_dir():
        raise ArgumentError(f"save: {str(path)!r} is a folder, not a file")
    data = _safetensors().numpy.save(arrays, metadata=header)
    _atomic_write(path, data)


def load(
    f: FileLike,
    map_location: Any = None,
    weights_only: bool = True,
) -> Any:
    """Reads a file written by ``save`` (or any safetensors file).

    Tensors come back as tapegrad tensors of the same dtype (bool, uint8, int8, int16,
    int32, int64, float32, float64; float16 as float32); NumPy arrays saved by ``save``
    come back as NumPy arrays, as do arrays of dtypes tapegrad has no tensors for
    (uint16, uint32, uint64). A nested state saved by ``save`` is rebuilt with its
    original structure.

    Args:
        f: A path (str or PathLike) or a binary file object open for reading.
        map_location: Where to put the tensors: None, ``"cpu"`` or a CPU device
            (tapegrad runs on CPUs only), or a dict mapping saved locations to
            ``"cpu"``.
        weights_only: Accepted for PyTorch's signature: a tapegrad file holds only
            tensors and JSON values, never code, so loading is always weights-only.

    Returns:
        What was saved: a dict for a state dict, ready for ``load_state_dict``.

    Raises:
        PathNotFoundError: If the file does not exist.
        FileFormatError: If it is not a safetensors file (a PyTorch pickle, say) or
            is damaged.
    """
    _check_map_location(map_location)
    if not isinstance(weights_only, bool):
        raise DTypeError(
            f"load: weights_only must be a bool, got {type(weights_only).__name__}"
        )
    safetensors = _safetensors()
    try:
        if hasattr(f, "read"):
            name = repr(getattr(f, "name", "the file object"))
            data = bytes(f.read())  # type: ignore[union-attr]
            metadata = _check_format(data, name)
            raw = safetensors.numpy.load(data)
        else:
            name = repr(str(f))
            # Read, not mapped: a file truncated while mapped would raise SIGBUS.
            data = _read_path(Path(f), name)  # type: ignore[arg-type]
            metadata = _check_format(data, name)
            raw = safetensors.numpy.load(data)
    except safetensors.SafetensorError as error:
        raise FileFormatError(
            f"load: {name} is a damaged safetensors file: {error}"
        ) from None
    tensors = {key: _from_array(array) for key, array in raw.items()}
    try:
        if STRUCTURE_KEY in metadata:
            return _unflatten(json.loads(metadata[STRUCTURE_KEY]), tensors)
        order = json.loads(metadata.get(ORDER_KEY, "[]"))
    except (ValueError, KeyError, TypeError) as error:
        raise FileFormatError(
            f"load: {name} has damaged tapegrad metadata ({type(error).__name__}: "
            f"{error})"
        ) from None
    if sorted(order) != sorted(tensors):  # a file from elsewhere, or edited
        return tensors
    return {key: tensors[key] for key in order}


_CONVERT = (
    "tapegrad never unpickles files (unpickling can run arbitrary code). Convert it "
    "once with PyTorch: `import torch, safetensors.torch; "
    "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')` (for a "
    "file: `safetensors.torch.save_file(torch.load(path), 'model.safetensors')` if it "
    "holds a flat state dict), then `tapegrad.load('model.safetensors')`"
)


def _read_path(path: Path, name: str) -> bytes:
    """The whole file at ``path``, with tapegrad's errors for missing files and folders."""
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise PathNotFoundError(f"load: no such file: {name}") from None
    except IsADirectoryError:
        raise ArgumentError(f"load: {name} is a folder, not a file") from None


def _check_path(path: Path, name: str) -> dict[str, str]:
    """``_check_format`` on a file's first bytes (its header), read into memory."""
    try:
        with open(path, "rb") as file:
            head = file.read(8)
            if len(head) == 8 and head[:1] != b"PK":
                size = struct.unpack("<Q", head)[0]
                head += file.read(min(size, _MAX_HEADER))
            else:
                head += file.read()  # a short file, or a zip to describe
        return _check_format(head, name)
    except FileNotFoundError:
        raise PathNotFoundError(f"load: no such file: {name}") from None
    except IsADirectoryError:
        raise ArgumentError(f"load: {name} is a folder, not a file") from None


def _check_format(data: bytes, name: str) -> dict[str, str]:
    """The header's metadata, after checking that ``data`` is a safetensors file;
    otherwise a FileFormatError that says what the file is."""
    # safetensors: an 8-byte little-endian header size, then that much JSON.
    size = struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else None
    if size is not None and size <= len(data) - 8 and data[8:9] == b"{":
        try:
            header = json.loads(data[8 : 8 + size])
            metadata = header.get("__metadata__") or {}
        except (ValueError, AttributeError) as error:
            raise FileFormatError(
                f"load: {name} is a damaged safetensors file: its header is not a "
                f"JSON object ({error})"
            ) from None
        if not isinstance(metadata, dict):
            raise FileFormatError(f"load: {name} has a damaged safetensors header")
        return metadata
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data[:])) as archive:
                pickled = any(n.endswith(".pkl") for n in archive.namelist())
        except zipfile.BadZipFile:
            pickled = False
        what = "a PyTorch checkpoint (torch.save's zip of pickles)"
        raise FileFormatError(
            f"load: {name} is {what if pickled else 'a zip archive'}, not a "
            f"safetensors file. {_CONVERT}"
        )
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise FileFormatError(
            f"load: {name} is a Python pickle (torch.save's legacy format, or "
            f"pickle.dump), not a safetensors file. {_CONVERT}"
        )
    if size is None:
        raise FileFormatError(
            f"load: {name} is not a safetensors file: it has only {len(data)} bytes"
        )
    raise FileFormatError(
        f"load: {name} is not a safetensors file (or is truncated): its first 8 "
        f"bytes announce a {size:,}-byte header in a {len(data):,}-byte file"
    )


def _check_map_location(map_location: Any) -> None:
    """tapegrad tensors live on the CPU: other places are refused clearly."""
    if map_location is None:
        return
    if isinstance(map_location, Mapping):
        places = list(map_location.values())
    elif isinstance(map_location, str) or hasattr(map_location, "type"):
        places = [map_location]  # "cpu", or a device object with .type
    else:
        raise ArgumentError(
            f"load: map_location must be None, 'cpu', a device or a dict, got "
            f"{type(map_location).__name__} (a function cannot be honoured: tapegrad "
            f"tensors live on the CPU)"
        )
    for place in places:
        kind = getattr(place, "type", place)
        if not isinstance(kind, str) or kind.split(":")[0] != "cpu":
            raise ArgumentError(
                f"load: map_location={map_location!r}: tapegrad runs on CPUs only; "
                f"use map_location='cpu' or None"
            )


def load_metadata(path: PathLike) -> dict[str, str]:
    """The string metadata of a safetensors file (what ``save(metadata=...)`` stored)."""
    metadata = dict(_check_path(Path(path), repr(str(path))))
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
        return value.detach().__array__(copy=True)
    array = np.ascontiguousarray(value)
    if array.dtype.byteorder == ">":  # safetensors stores little-endian data
        array = array.astype(array.dtype.newbyteorder("<"))
    return array


_TENSOR_DTYPES = frozenset(
    ("bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64")
)


def _from_array(array: np.ndarray) -> Any:
    if array.dtype.name == "float16":
        return tg.from_numpy(array.astype(np.float32))
    if array.dtype.name in _TENSOR_DTYPES:
        return tg.from_numpy(array)
    return array


def _flatten(value: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON-able description of ``value``; its tensors go into ``arrays``."""
    if _is_array(value):
        name = path or "tensor"
        # keys with dots could make two paths alike; safetensors reserves one name
        while name in arrays or name == _RESERVED:
            name += "_"
        arrays[name] = _as_array(value)
        return {"tensor" if isinstance(value, tg.Tensor) else "array": name}
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
    if "array" in node:
        stored = tensors[node["array"]]
        return stored.__array__(copy=True) if isinstance(stored, tg.Tensor) else stored
    if "dict" in node:
        return {key: _unflatten(item, tensors) for key, item in node["dict"]}
    if "list" in node:
        return [_unflatten(item, tensors) for item in node["list"]]
    if "tuple" in node:
        return tuple(_unflatten(item, tensors) for item in node["tuple"])
    return node["value"]


def _atomic_write(path: Path, data: bytes) -> None:
    """Writes ``data`` to a temporary file beside ``path``, then renames it over (over
    a symbolic link's target, not the link)."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    _remove_stale_temporaries(path)
    handle, temporary = tempfile.mkstemp(
        prefix=f"{_TEMP_PREFIX.format(name=path.name)}{os.getpid()}-",
        suffix=".tmp",
        dir=path.parent,
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


_TEMP_PREFIX = ".{name}.tapegrad-"


def _remove_stale_temporaries(path: Path) -> None:
    """Removes temporary files that an earlier ``save`` to ``path`` left when its process
    was killed: recognised by name, and only once the process that wrote them has ended
    (another process may be saving to the same path right now)."""
    prefix = _TEMP_PREFIX.format(name=path.name)
    try:
        candidates = [
            entry
            for entry in os.scandir(path.parent)
            if entry.name.startswith(prefix) and entry.name.endswith(".tmp")
        ]
    except OSError:
        return
    for entry in candidates:
        pid_text = entry.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            pass  # gone already, or not ours to remove


def _process_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":
        # Another thread of this process may be saving; on Windows os.kill(pid, 0)
        # would end the process instead of probing it.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists (owned by someone else), or cannot tell: keep the file
    return True


def _file_mode(path: Path) -> int:
    """The existing file's permissions, or the usual ones for a new file."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

"""tapegrad.save / tapegrad.load: safetensors files, atomic writes, nested state."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
import safetensors.numpy
import tapegrad as tg
from helpers import assert_close, raises, values
from tapegrad import nn, serialization

F64 = tg.float64


def model_and_optimizer():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2, dtype=F64))
    model[2].double()
    optimizer = tg.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99))
    x = tg.randn(5, 3)
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(x), [0, 1, 1, 0, 1]).backward()
    optimizer.step()
    return model, optimizer


def test_state_dict_round_trip_keeps_values_and_dtypes(tmp_path):
    model, _ = model_and_optimizer()
    path = tmp_path / "model.safetensors"
    tg.save(model.state_dict(), path)
    loaded = tg.load(path)
    assert list(loaded) == list(model.state_dict())
    for name, tensor in model.state_dict().items():
        assert loaded[name].dtype == tensor.dtype
        np.testing.assert_array_equal(values(loaded[name]), values(tensor))
        assert not loaded[name].requires_grad
    fresh = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2, dtype=F64))
    fresh.load_state_dict(tg.load(str(path)))  # str paths too
    x = tg.randn(2, 3)
    assert_close(fresh(x), values(model(x)))


def test_files_are_plain_safetensors_both_ways(tmp_path):
    model, _ = model_and_optimizer()
    ours = tmp_path / "ours.safetensors"
    tg.save(model.state_dict(), ours)
    arrays = safetensors.numpy.load_file(str(ours))
    assert set(arrays) == set(model.state_dict())
    assert (
        arrays["2.weight"].dtype == np.float64
        and arrays["0.weight"].dtype == np.float32
    )
    np.testing.assert_array_equal(arrays["0.bias"], values(model[0].bias))

    theirs = tmp_path / "theirs.safetensors"
    safetensors.numpy.save_file(
        {
            "w": np.arange(6, dtype=np.float64).reshape(2, 3),
            "h": np.ones(2, dtype=np.float16),
            "ids": np.array([3, 1], dtype=np.int64),
            "scalar": np.array(2.5, dtype=np.float32),
        },
        str(theirs),
    )
    loaded = tg.load(theirs)
    assert loaded["w"].dtype == F64 and loaded["w"].shape == (2, 3)
    assert loaded["h"].dtype == tg.float32  # float16 widened
    assert loaded["scalar"].shape == () and loaded["scalar"].item() == 2.5
    assert isinstance(loaded["ids"], np.ndarray) and loaded["ids"].tolist() == [3, 1]


def test_the_format_is_json_header_plus_raw_data_never_pickle(tmp_path):
    path = tmp_path / "x.safetensors"
    tg.save({"a": tg.ones(2)}, path, metadata={"note": "hello"})
    raw = path.read_bytes()
    (header_size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_size])
    assert header["a"] == {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    assert header["__metadata__"]["note"] == "hello"
    assert serialization.load_metadata(path)["note"] == "hello"
    assert b"pickle" not in raw and not raw.startswith(b"\x80")


def test_optimizer_state_round_trips_through_a_file(tmp_path):
    model, optimizer = model_and_optimizer()
    path = tmp_path / "checkpoint.safetensors"
    tg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, path)
    checkpoint = tg.load(path)
    saved = optimizer.state_dict()
    loaded = checkpoint["optimizer"]
    assert loaded["param_groups"] == saved["param_groups"]
    assert loaded["param_groups"][0]["betas"] == (0.8, 0.99)  # a tuple again
    assert set(loaded["state"]) == set(saved["state"]) == {0, 1, 2, 3}  # int keys
    for index, entries in saved["state"].items():
        assert loaded["state"][index]["step"] == entries["step"] == 1
        for name in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(
                values(loaded["state"][index][name]), values(entries[name])
            )
    restored = tg.optim.Adam(model.parameters(), lr=0.5)
    restored.load_state_dict(loaded)
    assert restored.param_groups[0]["lr"] == 0.01
    # A nested file is still a valid safetensors file, with dotted names.
    assert "optimizer.state.0.exp_avg" in safetensors.numpy.load_file(str(path))


def test_scheduler_state_and_odd_keys_round_trip(tmp_path):
    state = {
        "scheduler": {"last_epoch": 3, "base_lrs": [0.1, 0.2], "gamma": None},
        "a.b": tg.ones(1),
        "a": {"b": tg.zeros(1)},  # also "a.b" as a dotted path
        "flag": True,
        "text": "é",
    }
    path = tmp_path / "nested.safetensors"
    tg.save(state, path)
    loaded = tg.load(path)
    assert loaded["scheduler"] == state["scheduler"]
    assert values(loaded["a.b"]).tolist() == [1.0]
    assert values(loaded["a"]["b"]).tolist() == [0.0]
    assert loaded["flag"] is True and loaded["text"] == "é"


def test_unsupported_values_are_refused_before_writing(tmp_path):
    path = tmp_path / "bad.safetensors"
    with raises(tg.DTypeError, "cannot store a object", "'x'"):
        tg.save({"x": object()}, path)
    with raises(tg.DTypeError, "save expects a mapping"):
        tg.save([tg.ones(1)], path)
    assert not path.exists() and os.listdir(tmp_path) == []


def assert_untouched(path, original: bytes) -> None:
    assert path.read_bytes() == original
    leftovers = [name for name in os.listdir(path.parent) if name != path.name]
    assert leftovers == [], f"temporary files left behind: {leftovers}"


def test_an_error_while_serialising_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    tg.save({"w": tg.ones(3)}, path)
    original = path.read_bytes()

    def broken_writer(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(safetensors.numpy, "save", broken_writer)
    with pytest.raises(RuntimeError, match="disk on fire"):
        tg.save({"w": tg.zeros(3)}, path)
    assert_untouched(path, original)


def test_a_crash_mid_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    tg.save({"w": tg.ones(1000)}, path)
    original = path.read_bytes()

    def interrupted(fd):  # called after the new bytes were written, before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tg.save({"w": tg.zeros(1000), "v": tg.zeros(10)}, path)
    assert_untouched(path, original)
    np.testing.assert_array_equal(values(tg.load(path)["w"]), np.ones(1000))


def test_a_failed_rename_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    tg.save({"w": tg.ones(2)}, path)
    original = path.read_bytes()

    def no_rename(src, dst):
        raise OSError("read-only file system")

    monkeypatch.setattr(serialization.os, "replace", no_rename)
    with pytest.raises(OSError, match="read-only"):
        tg.save({"w": tg.zeros(2)}, path)
    assert_untouched(path, original)


def test_save_replaces_and_keeps_permissions(tmp_path):
    path = tmp_path / "model.safetensors"
    tg.save({"w": tg.ones(2)}, path)
    os.chmod(path, 0o640)
    tg.save({"w": tg.zeros(2)}, path)
    assert values(tg.load(path)["w"]).tolist() == [0.0, 0.0]
    assert path.stat().st_mode & 0o777 == 0o640

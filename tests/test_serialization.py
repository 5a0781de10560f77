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
    assert loaded["ids"].dtype == tg.int64 and loaded["ids"].tolist() == [3, 1]


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
    with raises(tg.DTypeError, "keys must be str or int"):
        tg.save({(1, 2): tg.ones(1)}, path)
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


# ---- PyTorch's tg.save / tg.load surface: file objects, any nesting, clear errors

DATA = os.path.join(os.path.dirname(__file__), "data")


def test_files_written_by_tapegrad_0_1_still_load():
    """tests/data holds files written by the 0.1 serialiser (before file objects,
    map_location and top-level lists): the format is unchanged."""
    flat = tg.load(os.path.join(DATA, "flat_v0_1.safetensors"))
    assert list(flat) == ["b.weight", "a.bias"]  # the saved order, not sorted
    assert values(flat["b.weight"]).tolist() == [[1.0, 2.0]]
    assert flat["a.bias"].dtype == F64
    plain = safetensors.numpy.load_file(os.path.join(DATA, "flat_v0_1.safetensors"))
    assert set(plain) == {"b.weight", "a.bias"}

    nested = tg.load(os.path.join(DATA, "nested_v0_1.safetensors"))
    assert nested["epoch"] == 3 and nested["note"] is None and nested["ok"] is True
    assert values(nested["model"]["w"]).tolist() == [1.0, -1.0]
    optim = nested["optim"]
    assert optim["param_groups"] == [{"lr": 0.01, "betas": (0.9, 0.999), "params": [0]}]
    assert optim["state"][0]["step"] == 2
    assert values(optim["state"][0]["exp_avg"]).tolist() == [0.25, 0.5]


def test_a_checkpoint_dict_round_trips_through_a_file_object(tmp_path):
    import io

    model, optimizer = model_and_optimizer()
    checkpoint = {
        "epoch": 3,
        "model": model.state_dict(),
        "optim": optimizer.state_dict(),
        "losses": [0.5, 0.25],
        "name": "run-1",
    }
    buffer = io.BytesIO()
    tg.save(checkpoint, buffer)
    buffer.seek(0)
    loaded = tg.load(buffer, map_location="cpu", weights_only=True)
    assert loaded["epoch"] == 3 and loaded["losses"] == [0.5, 0.25]
    assert loaded["name"] == "run-1"
    fresh, _ = model_and_optimizer()
    fresh.load_state_dict(loaded["model"])
    resumed = tg.optim.Adam(fresh.parameters(), lr=0.5)
    resumed.load_state_dict(loaded["optim"])
    assert resumed.param_groups[0]["lr"] == 0.01
    for a, b in zip(resumed.state.values(), optimizer.state.values()):
        np.testing.assert_array_equal(values(a["exp_avg_sq"]), values(b["exp_avg_sq"]))

    # An open file works too, and holds a plain safetensors file.
    path = tmp_path / "checkpoint.pt"
    with open(path, "wb") as file:
        tg.save(checkpoint, file)
    assert "model.0.weight" in safetensors.numpy.load_file(str(path))
    with open(path, "rb") as file:
        assert tg.load(file)["epoch"] == 3


def test_an_optimizer_resumes_exactly_after_a_round_trip(tmp_path):
    """Two more steps after save -> load -> load_state_dict match two more steps
    of the optimiser that never stopped."""
    model, optimizer = model_and_optimizer()
    path = tmp_path / "resume.safetensors"
    tg.save({"model": model.state_dict(), "optim": optimizer.state_dict()}, path)
    x = tg.randn(5, 3)

    def steps(m, o):
        for _ in range(2):
            o.zero_grad()
            nn.functional.cross_entropy(m(x), [0, 1, 1, 0, 1]).backward()
            o.step()
        return [values(p) for p in m.parameters()]

    expected = steps(model, optimizer)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2, dtype=F64))
    loaded = tg.load(path)
    fresh.load_state_dict(loaded["model"])
    resumed = tg.optim.Adam(fresh.parameters(), lr=0.01, betas=(0.8, 0.99))
    resumed.load_state_dict(loaded["optim"])
    for a, b in zip(steps(fresh, resumed), expected):
        np.testing.assert_array_equal(a, b)


def test_any_nesting_at_the_top(tmp_path):
    path = tmp_path / "things.safetensors"
    tg.save([tg.ones(2), (1, "two", None), {"k": 2.5}], path)
    loaded = tg.load(path)
    assert isinstance(loaded, list) and values(loaded[0]).tolist() == [1.0, 1.0]
    assert loaded[1] == (1, "two", None) and loaded[2] == {"k": 2.5}
    tg.save(tg.arange(0.0, 3.0, 1.0), path)  # a single tensor
    assert values(tg.load(path)).tolist() == [0.0, 1.0, 2.0]
    tg.save({}, path)
    assert tg.load(path) == {}


def test_odd_names_and_sizes_round_trip():
    import io

    state = {"__metadata__": tg.ones(1), "empty": tg.zeros(0, 3), "T": tg.ones(2, 3).T}
    buffer = io.BytesIO()
    tg.save(state, buffer)  # safetensors reserves "__metadata__": stored nested
    buffer.seek(0)
    loaded = tg.load(buffer)
    assert list(loaded) == list(state)
    assert values(loaded["__metadata__"]).tolist() == [1.0]
    assert loaded["empty"].shape == (0, 3) and loaded["T"].shape == (3, 2)


def test_map_location_takes_cpu_and_refuses_other_devices(tmp_path):
    path = tmp_path / "m.safetensors"
    tg.save({"w": tg.ones(1)}, path)

    class Device:  # what tg.device("cpu") and torch.device("cpu") look like
        def __init__(self, kind):
            self.type = kind

    for where in (None, "cpu", Device("cpu"), {"cuda:0": "cpu"}):
        assert values(tg.load(path, map_location=where)["w"]).tolist() == [1.0]
    for where in ("cuda", "cuda:0", Device("mps"), {"cpu": "cuda:1"}):
        with raises(tg.ArgumentError, "runs on CPUs only"):
            tg.load(path, map_location=where)
    with raises(tg.ArgumentError, "map_location must be"):
        tg.load(path, map_location=lambda storage, location: storage)
    assert tg.load(path, weights_only=False)["w"].shape == (1,)


def test_a_missing_folder_names_the_target_path_not_a_temporary_file(tmp_path):
    target = tmp_path / "no" / "such" / "model.safetensors"
    with raises(tg.PathNotFoundError, repr(str(target)), "does not exist"):
        tg.save({"w": tg.ones(1)}, target)
    with pytest.raises(FileNotFoundError) as info:  # also the builtin users catch
        tg.save({"w": tg.ones(1)}, str(target))
    assert ".tmp" not in str(info.value)
    with raises(tg.PathNotFoundError, "no such file", "missing.safetensors"):
        tg.load(tmp_path / "missing.safetensors")
    with raises(tg.ArgumentError, "is a folder"):
        tg.save({"w": tg.ones(1)}, tmp_path)


def test_pickles_and_torch_zips_are_named_and_refused(tmp_path):
    import pickle
    import zipfile

    legacy = tmp_path / "legacy.pt"
    legacy.write_bytes(pickle.dumps({"w": [1.0]}, protocol=2))
    with raises(
        tg.FileFormatError, "is a Python pickle", "safetensors.torch.save_file"
    ):
        tg.load(legacy)
    archive = tmp_path / "model.pt"  # the layout torch.save writes since 1.6
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("model/data.pkl", pickle.dumps({"w": 1}))
        z.writestr("model/version", "3\n")
    with raises(
        tg.FileFormatError,
        "is a PyTorch checkpoint (torch.save's zip of pickles)",
        "model.state_dict()",
    ):
        tg.load(archive)
    with pytest.raises(ValueError):  # FileFormatError is a ValueError
        tg.load(archive)


def test_damaged_files_raise_file_format_errors(tmp_path):
    good = tmp_path / "good.safetensors"
    tg.save({"w": tg.ones(100)}, good)
    raw = good.read_bytes()
    cases = {
        "short": (b"abc", "only 3 bytes"),
        "empty": (b"", "only 0 bytes"),
        "truncated": (raw[:-10], "damaged safetensors file"),
        "header": (raw[:60], "announce"),
        "text": (b"hello world, not a checkpoint", "announce"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / f"{name}.bin"
        path.write_bytes(data)
        with raises(tg.FileFormatError, message):
            tg.load(path)
    # Metadata that names a tensor the file does not hold: no bare KeyError.
    broken = tmp_path / "broken.safetensors"
    safetensors.numpy.save_file(
        {"a": np.ones(1, np.float32)},
        str(broken),
        metadata={serialization.STRUCTURE_KEY: json.dumps({"tensor": "b"})},
    )
    with raises(tg.FileFormatError, "damaged tapegrad metadata"):
        tg.load(broken)


def test_torch_checkpoints_are_recognised(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "torch.pt"
    torch.save(torch.nn.Linear(2, 3).state_dict(), path)
    with raises(tg.FileFormatError, "PyTorch checkpoint", "safetensors.torch"):
        tg.load(path)
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with raises(tg.FileFormatError, "Python pickle"):
        tg.load(legacy)


def test_a_state_dict_exported_from_torch_gives_the_same_outputs(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
    ).double()
    path = tmp_path / "from_torch.safetensors"
    st.save_file(theirs.state_dict(), str(path))
    ours = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    ours.load_state_dict(tg.load(path))
    x = np.random.default_rng(0).standard_normal((4, 3))
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(values(ours(tg.tensor(x, dtype=F64))), expected, 1e-12)

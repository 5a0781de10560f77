"""tapegrad.utils.data: datasets, samplers, collation and DataLoader (with workers)."""

from __future__ import annotations

import collections
import gc
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises, values
from tapegrad.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)


class Squares(Dataset):
    """Sample i is {"x": [i, i*i] as float64 array, "y": i, "name": str(i)}."""

    def __init__(self, n, delay=0.0):
        self.n, self.delay = n, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.delay:
            time.sleep(self.delay * ((i * 7) % 3))  # out-of-order completion
        return {"x": np.array([i, i * i], dtype=np.float64), "y": i, "name": str(i)}


class Stream(IterableDataset):
    """0..n-1, each worker taking every num_workers-th element."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


def worker_threads():
    return [
        t for t in threading.enumerate() if t.name.startswith("tapegrad-DataLoader")
    ]


def ys(loader):
    return [values(batch["y"]).tolist() for batch in loader]


def flat(batches):
    return [item for batch in batches for item in batch]


# ---- datasets


def test_tensor_dataset_subset_concat_and_chain():
    x = tg.arange(0.0, 12.0, 1.0).reshape(6, 2)
    y = np.arange(6)
    data = TensorDataset(x, y)
    assert len(data) == 6
    row, label = data[4]
    assert values(row).tolist() == [8.0, 9.0] and label == 4
    with raises(tg.ShapeError, "same first dimension", "(6, 2)", "(5,)"):
        TensorDataset(x, np.arange(5))

    sub = Subset(data, [5, 0])
    assert len(sub) == 2 and sub[0][1] == 5 and [s[1] for s in sub[[1, 0]]] == [0, 5]

    both = data + sub
    assert isinstance(both, ConcatDataset) and len(both) == 8
    assert [both[i][1] for i in (0, 5, 6, 7, -1, -8)] == [0, 5, 5, 0, 0, 0]
    with raises(tg.AxisError, "index 8 is out of range"):
        both[8]
    with raises(tg.ArgumentError, "should not exceed"):
        both[-9]
    with raises(tg.ArgumentError, "empty"):
        ConcatDataset([])
    with raises(tg.ArgumentError, "does not support IterableDataset"):
        ConcatDataset([data, Stream(3)])

    chained = Stream(2) + Stream(3)
    assert isinstance(chained, ChainDataset)
    assert list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5


def test_abstract_datasets_and_samplers_say_what_is_missing():
    with pytest.raises(NotImplementedError, match="without __getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="without __iter__"):
        iter(IterableDataset())
    with pytest.raises(NotImplementedError, match="without __iter__"):
        iter(Sampler())


def test_random_split_lengths_fractions_and_generators():
    data = list(range(10))
    a, b = random_split(data, [3, 7], generator=0)
    assert len(a) == 3 and len(b) == 7
    assert sorted(list(a) + list(b)) == data
    again = [list(s) for s in random_split(data, [3, 7], generator=0)]
    assert again == [list(a), list(b)]  # a seed is reproducible
    rng = np.random.default_rng(5)
    first = [list(s) for s in random_split(data, [5, 5], generator=rng)]
    second = [list(s) for s in random_split(data, [5, 5], generator=rng)]
    assert first != second  # a Generator's state advances

    # Fractions: floor, then the remainder round-robin (PyTorch's rule).
    assert [len(s) for s in random_split(range(10), [0.33, 0.33, 0.34])] == [4, 3, 3]
    assert [len(s) for s in random_split(range(5), [0.5, 0.5])] == [3, 2]
    with pytest.warns(UserWarning, match="length of split at index [12] is 0"):
        random_split(range(2), [0.9, 0.05, 0.05])

    tg.manual_seed(3)
    one = [list(s) for s in random_split(data, [4, 6])]
    tg.manual_seed(3)
    assert [list(s) for s in random_split(data, [4, 6])] == one  # tg.manual_seed

    with raises(tg.ArgumentError, "does not equal the length of the input dataset"):
        random_split(data, [3, 3])
    with raises(tg.DTypeError, "lengths must be ints"):
        random_split(data, [0.5, 0.6])
    with raises(tg.DTypeError, "numpy.random.Generator, an int seed or None"):
        random_split(data, [5, 5], generator="seed")
    # A tg.Generator seeds the split: the same seed, the same split.
    def split_with(seed):
        g = tg.Generator().manual_seed(seed)
        return [list(s) for s in random_split(data, [5, 5], generator=g)]

    assert split_with(3) == split_with(3)
    assert len({str(split_with(seed)) for seed in range(4)}) > 1
    with raises(tg.ArgumentError, ">= 0"):
        random_split(data, [5, 5], generator=-1)


# ---- samplers


def test_sequential_random_and_subset_samplers():
    data = list(range(7))
    assert list(SequentialSampler(data)) == data and len(SequentialSampler(data)) == 7
    sampler = RandomSampler(data, generator=1)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == data and first != second
    assert list(RandomSampler(data, generator=1)) == first

    more = list(RandomSampler(data, num_samples=16, generator=0))
    assert len(more) == 16  # two whole permutations, then part of a third
    assert sorted(more[:7]) == sorted(more[7:14]) == data
    assert len(set(more[14:])) == 2

    drawn = list(RandomSampler(data, replacement=True, num_samples=200, generator=0))
    assert len(drawn) == 200 and set(drawn) == set(data)  # repeats

    with raises(tg.DTypeError, "replacement should be a boolean"):
        RandomSampler(data, replacement=1)
    with raises(tg.ArgumentError, "num_samples should be a positive integer"):
        RandomSampler(data, num_samples=0)

    subset = SubsetRandomSampler([10, 20, 30], generator=0)
    assert sorted(subset) == [10, 20, 30] and len(subset) == 3


def test_weighted_random_sampler():
    weights = [0.0, 1.0, 3.0]
    drawn = list(WeightedRandomSampler(weights, 4000, generator=0))
    counts = collections.Counter(drawn)
    assert counts[0] == 0 and 2.6 < counts[2] / counts[1] < 3.4
    no_repeat = list(WeightedRandomSampler(weights, 2, replacement=False, generator=0))
    assert sorted(no_repeat) == [1, 2]
    assert len(WeightedRandomSampler(tg.ones(5), 3)) == 3  # tensors work as weights
    with raises(tg.ArgumentError, "without replacement from 2 nonzero"):
        WeightedRandomSampler(weights, 3, replacement=False)
    with raises(tg.ArgumentError, "non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)
    with raises(tg.ArgumentError, "sum to zero"):
        WeightedRandomSampler([0.0, 0.0], 2)
    with raises(tg.ShapeError, "1d sequence", "(2, 2)"):
        WeightedRandomSampler([[1.0, 2.0], [3.0, 4.0]], 2)
    with raises(tg.ArgumentError, "num_samples should be a positive integer"):
        WeightedRandomSampler(weights, -1)


def test_batch_sampler():
    assert list(BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3
    assert len(BatchSampler(range(7), 3, True)) == 2
    with raises(tg.ArgumentError, "batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with raises(tg.DTypeError, "drop_last should be a boolean"):
        BatchSampler(range(3), 2, None)


# ---- collation


def test_default_collate_follows_pytorch():
    batch = default_collate([tg.ones(2), tg.zeros(2)])
    assert batch.shape == (2, 2) and values(batch).tolist() == [[1, 1], [0, 0]]
    arrays = default_collate([np.ones(3, np.float64), np.zeros(3, np.float64)])
    assert arrays.shape == (2, 3) and arrays.dtype == tg.float64
    assert default_collate([np.ones(2, np.float32)] * 2).dtype == tg.float32
    ints = default_collate([np.array([1, 2]), np.array([3, 4])])
    assert ints.dtype == tg.int64 and values(ints).tolist() == [[1, 2], [3, 4]]
    floats = default_collate([0.5, 1.5])
    assert floats.dtype == tg.float64 and values(floats).tolist() == [0.5, 1.5]
    labels = default_collate([3, 1, 2])  # int64, as in PyTorch
    assert labels.dtype == tg.int64 and values(labels).tolist() == [3, 1, 2]
    flags = default_collate([True, False])
    assert flags.dtype == tg.bool and values(flags).tolist() == [True, False]
    assert default_collate([np.ones(2, np.uint16)] * 2).dtype == tg.int64
    assert values(default_collate([np.float64(2.0), np.float64(3.0)])).tolist() == [
        2,
        3,
    ]
    assert default_collate(["a", "b"]) == ["a", "b"]

    samples = [Squares(3)[i] for i in range(3)]
    batch = default_collate(samples)
    assert set(batch) == {"x", "y", "name"} and batch["name"] == ["0", "1", "2"]
    assert values(batch["x"]).tolist() == [[0, 0], [1, 1], [2, 4]]

    Point = collections.namedtuple("Point", "x y")
    points = default_collate([Point(1.0, 2.0), Point(3.0, 4.0)])
    assert isinstance(points, Point) and values(points.y).tolist() == [2.0, 4.0]
    pairs = default_collate([(1.0, "a"), (2.0, "b")])
    assert isinstance(pairs, list) and pairs[1] == ("a", "b")  # as PyTorch's
    nested = default_collate([[1.0, [2.0]], [3.0, [4.0]]])
    assert values(nested[0]).tolist() == [1.0, 3.0]
    assert values(nested[1][0]).tolist() == [2.0, 4.0]

    with raises(tg.ShapeError, "equal size", "[2, 1]"):
        default_collate([[1.0, 2.0], [3.0]])
    with raises(tg.ShapeError, "equal shape"):
        default_collate([tg.ones(2), tg.ones(3)])
    with raises(tg.DTypeError, "found <class 'object'>"):
        default_collate([object(), object()])
    with raises(tg.DTypeError, "found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_default_convert():
    converted = default_convert({"a": np.ones(2), "b": (np.zeros(1), "s"), "c": 3})
    assert isinstance(converted["a"], tg.Tensor) and converted["c"] == 3
    assert isinstance(converted["b"], list) and converted["b"][1] == "s"
    strings = np.array(["a"])
    assert default_convert(strings) is strings


def test_collated_batches_keep_the_graph():
    w = tg.ones(2, requires_grad=True)
    batch = default_collate([w * 2.0, w * 3.0])
    batch.sum().backward()
    assert values(w.grad).tolist() == [5.0, 5.0]


# ---- DataLoader in the calling thread


def test_loader_batches_shuffles_and_drops_last():
    loader = DataLoader(Squares(10), batch_size=4)
    assert len(loader) == 3
    assert ys(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    first = next(iter(loader))
    assert first["x"].dtype == tg.float64 and first["name"] == ["0", "1", "2", "3"]
    assert ys(DataLoader(Squares(10), batch_size=4, drop_last=True)) == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
    ]
    assert len(DataLoader(Squares(10), batch_size=4, drop_last=True)) == 2

    shuffled = DataLoader(Squares(10), batch_size=5, shuffle=True, generator=0)
    one, two = flat(ys(shuffled)), flat(ys(shuffled))
    assert sorted(one) == sorted(two) == list(range(10)) and one != two
    again = DataLoader(Squares(10), batch_size=5, shuffle=True, generator=0)
    assert flat(ys(again)) == one  # an int seed makes the run reproducible

    tg.manual_seed(7)
    a = flat(ys(DataLoader(Squares(10), batch_size=5, shuffle=True)))
    tg.manual_seed(7)
    assert flat(ys(DataLoader(Squares(10), batch_size=5, shuffle=True))) == a


def test_loader_samplers_batch_samplers_and_collate_fn():
    by_sampler = DataLoader(Squares(6), batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert ys(by_sampler) == [[5, 4], [3, 2], [1, 0]]
    by_batch = DataLoader(Squares(6), batch_sampler=[[0, 5], [1]])
    assert ys(by_batch) == [[0, 5], [1]] and len(by_batch) == 2
    unbatched = list(DataLoader(TensorDataset(np.eye(2)), batch_size=None))
    assert isinstance(unbatched[0], list) and isinstance(unbatched[0][0], tg.Tensor)
    custom = DataLoader(Squares(4), batch_size=2, collate_fn=lambda s: len(s))
    assert list(custom) == [2, 2]


def test_loader_over_an_iterable_dataset():
    assert [values(b).tolist() for b in DataLoader(Stream(5), batch_size=2)] == [
        [0, 1],
        [2, 3],
        [4],
    ]
    assert len(DataLoader(Stream(5), batch_size=2)) == 3
    assert len(DataLoader(Stream(5), batch_size=2, drop_last=True)) == 2
    assert len(list(DataLoader(Stream(5), batch_size=2, drop_last=True))) == 2
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]


def test_loader_refuses_contradictory_options_as_pytorch():
    data = Squares(4)
    cases = [
        ({"sampler": [0], "shuffle": True}, "mutually exclusive with shuffle"),
        ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually"),
        (
            {"batch_sampler": [[0]], "drop_last": True},
            "batch_sampler option is mutually",
        ),
        ({"batch_size": None, "drop_last": True}, "disables auto-batching"),
        ({"num_workers": -1}, "num_workers option should be non-negative"),
        ({"timeout": -1}, "timeout option should be non-negative"),
        ({"prefetch_factor": 2}, "prefetch_factor option could only be specified"),
        ({"persistent_workers": True}, "persistent_workers option needs"),
        ({"num_workers": 1, "prefetch_factor": 0}, "prefetch_factor option should be"),
    ]
    for kwargs, message in cases:
        with raises(tg.ArgumentError, message):
            DataLoader(data, **kwargs)
    with raises(tg.ArgumentError, "expected unspecified shuffle option"):
        DataLoader(Stream(3), shuffle=True)
    with raises(tg.ArgumentError, "expected unspecified sampler option"):
        DataLoader(Stream(3), sampler=np.array([0, 1]))
    loader = DataLoader(data, batch_size=2)
    with raises(tg.ArgumentError, "should not be set after DataLoader is initialized"):
        loader.batch_size = 3
    loader.num_workers = 0  # others stay settable, as in PyTorch
    DataLoader(data, pin_memory=True, multiprocessing_context="spawn")  # accepted


# ---- DataLoader with worker threads


def test_workers_return_batches_in_order():
    serial = ys(DataLoader(Squares(23), batch_size=3))
    threaded = DataLoader(Squares(23, delay=0.002), batch_size=3, num_workers=3)
    assert ys(threaded) == serial
    unbatched = DataLoader(Squares(5), batch_size=None, num_workers=2)
    assert [sample["y"] for sample in unbatched] == list(range(5))
    expected = ys(DataLoader(Squares(20), batch_size=4, shuffle=True, generator=9))
    again = DataLoader(Squares(20), batch_size=4, shuffle=True, generator=9)
    again_threaded = DataLoader(
        Squares(20), batch_size=4, shuffle=True, generator=9, num_workers=2
    )
    assert ys(again) == expected
    assert sorted(flat(ys(again_threaded))) == list(range(20))
    gc.collect()
    assert worker_threads() == []  # exhausted iterators stop their workers


def test_in_order_false_hands_out_batches_as_they_are_ready():
    class FirstWaitsForSecond(Dataset):
        """Batch 0 (sample 0) cannot finish before batch 1 (sample 1) has loaded."""

        def __init__(self):
            self.second_loaded = threading.Event()

        def __len__(self):
            return 4

        def __getitem__(self, i):
            if i == 0:
                assert self.second_loaded.wait(30)
            if i == 1:
                self.second_loaded.set()
            return float(i)

    def first_batches(in_order):
        loader = DataLoader(
            FirstWaitsForSecond(), batch_size=1, num_workers=2, in_order=in_order
        )
        return [values(b).tolist()[0] for b in loader]

    assert first_batches(True) == [0.0, 1.0, 2.0, 3.0]
    unordered = first_batches(False)
    assert unordered[0] == 1.0 and sorted(unordered) == [0.0, 1.0, 2.0, 3.0]


def test_workers_prefetch_ahead_of_the_consumer():
    loaded = []

    class Recording(Squares):
        def __getitem__(self, i):
            loaded.append(i)
            return super().__getitem__(i)

    loader = DataLoader(Recording(40), batch_size=2, num_workers=2, prefetch_factor=3)
    it = iter(loader)
    next(it)
    deadline = time.monotonic() + 10
    while len(loaded) < 12 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    # 2 workers x 3 batches in flight, plus the one refill after the first batch.
    assert 12 <= len(loaded) <= 14
    del it


def test_worker_info_seeds_and_init_fn():
    seen = []

    def init(worker_id):
        info = get_worker_info()
        seen.append((worker_id, info.id, info.num_workers))

    class WhoLoads(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            info = get_worker_info()
            return info.id, info.seed, info.dataset is self

    loader = DataLoader(WhoLoads(), batch_size=1, num_workers=2, worker_init_fn=init)
    batches = list(loader)
    assert sorted(seen) == [(0, 0, 2), (1, 1, 2)]
    ids = [int(values(b[0])[0]) for b in batches]
    assert ids == [0, 1] * 4  # batches go round-robin to the workers
    seeds = {i: values(b[1])[0] for i, b in zip(ids, batches)}
    assert seeds[1] == seeds[0] + 1  # base_seed + id
    assert all(values(b[2])[0] == 1.0 for b in batches)
    assert get_worker_info() is None  # in the main thread


def test_iterable_dataset_with_workers_interleaves_their_batches():
    loader = DataLoader(Stream(9), batch_size=2, num_workers=2)
    batches = [values(b).tolist() for b in loader]
    # worker 0 streams 0,2,4,6,8 and worker 1 streams 1,3,5,7; batches alternate
    assert batches == [[0, 2], [1, 3], [4, 6], [5, 7], [8]]
    uneven = DataLoader(Stream(9), batch_size=2, num_workers=3, drop_last=True)
    assert sorted(flat(values(b).tolist() for b in uneven)) == [0, 1, 2, 3, 4, 5]


def test_errors_in_workers_reach_the_loop_with_their_type():
    class Broken(Squares):
        def __getitem__(self, i):
            if i == 5:
                raise KeyError(f"sample {i} is missing")
            return super().__getitem__(i)

    loader = DataLoader(Broken(8), batch_size=2, num_workers=2)
    it = iter(loader)
    assert values(next(it)["y"]).tolist() == [0, 1]
    assert values(next(it)["y"]).tolist() == [2, 3]
    with pytest.raises(KeyError, match="sample 5 is missing"):
        next(it)
    assert values(next(it)["y"]).tolist() == [6, 7]  # the loop may go on
    del it

    def failing_init(worker_id):
        raise RuntimeError(f"worker {worker_id} cannot start")

    loader = DataLoader(Squares(4), num_workers=1, worker_init_fn=failing_init)
    with pytest.raises(RuntimeError, match="worker_init_fn raised.*worker 0 cannot"):
        next(iter(loader))
    gc.collect()
    assert worker_threads() == []


def test_a_timeout_raises_instead_of_waiting_forever():
    loader = DataLoader(Squares(4, delay=0.5), batch_size=2, num_workers=1, timeout=0.1)
    with pytest.raises(RuntimeError, match="timed out after 0.1 seconds"):
        list(loader)


def test_breaking_out_of_the_loop_stops_the_workers():
    loader = DataLoader(Squares(100, delay=0.001), batch_size=2, num_workers=3)
    for i, _ in enumerate(loader):
        if i == 2:
            break
    gc.collect()
    deadline = time.monotonic() + 10
    while worker_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker_threads() == []


def test_persistent_workers_serve_every_epoch():
    loader = DataLoader(
        Squares(7), batch_size=3, num_workers=2, persistent_workers=True
    )
    assert ys(loader) == [[0, 1, 2], [3, 4, 5], [6]]
    threads = worker_threads()
    assert len(threads) == 2
    assert ys(loader) == [[0, 1, 2], [3, 4, 5], [6]]
    it = iter(loader)
    next(it)  # an epoch left early...
    assert ys(loader) == [[0, 1, 2], [3, 4, 5], [6]]  # ...does not leak into the next
    assert worker_threads() == threads  # the same threads all along
    streaming = DataLoader(
        Stream(5), batch_size=2, num_workers=2, persistent_workers=True
    )
    assert [values(b).tolist() for b in streaming] == [[0, 2], [1, 3], [4]]
    assert [values(b).tolist() for b in streaming] == [[0, 2], [1, 3], [4]]
    del loader, it, streaming
    gc.collect()
    assert worker_threads() == []


def test_the_interpreter_exits_with_a_loop_left_open():
    """Neither an abandoned iterator nor busy workers keep Python from exiting."""
    code = textwrap.dedent(
        """
        import time
        import tapegrad as tg
        from tapegrad.utils.data import DataLoader, Dataset

        class Slow(Dataset):
            def __len__(self):
                return 1000
            def __getitem__(self, i):
                time.sleep(0.01 if i < 8 else 600)  # then a worker hangs
                return float(i)

        loader = DataLoader(Slow(), batch_size=4, num_workers=2, persistent_workers=True)
        it = iter(loader)
        print(tg.utils.data.default_collate([next(it).sum()]).shape)
        next(it)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tapegrad.Size([1])"  # as torch.Size prints


def test_a_training_loop_with_a_loader():
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(np.int64)
    loader = DataLoader(
        TensorDataset(tg.tensor(x), labels), batch_size=16, shuffle=True, num_workers=2
    )
    model = tg.nn.Linear(3, 2)
    optimizer = tg.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(20):
        for features, target in loader:
            optimizer.zero_grad()
            tg.nn.functional.cross_entropy(model(features), target).backward()
            optimizer.step()
    with tg.no_grad():
        predicted = np.argmax(values(model(tg.tensor(x))), axis=1)
    assert (predicted == labels).mean() > 0.9


def test_the_data_page_examples_run():
    import doctest
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "data.md"
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(page), module_relative=False, optionflags=flags)
    assert result.attempted > 10 and result.failed == 0


def test_collation_splits_and_batches_match_torch():
    torch = pytest.importorskip("torch")
    tdata = pytest.importorskip("torch.utils.data")
    Point = collections.namedtuple("Point", "x y")
    samples = [
        {
            "a": np.array([i, 2.0 * i]),
            "b": (float(i), "s" + str(i)),
            "c": [np.float32(i), Point(1.0 * i, np.ones(2, np.float32) * i)],
        }
        for i in range(4)
    ]

    def compare(ours, theirs):
        if isinstance(theirs, torch.Tensor):
            assert isinstance(ours, tg.Tensor) and ours.shape == tuple(theirs.shape)
            assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
            np.testing.assert_array_equal(values(ours), theirs.numpy())
        elif isinstance(theirs, dict):
            assert type(ours) is type(theirs) and list(ours) == list(theirs)
            for key in theirs:
                compare(ours[key], theirs[key])
        elif isinstance(theirs, (list, tuple)):
            assert type(ours) is type(theirs) and len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                compare(a, b)
        else:
            assert ours == theirs

    compare(default_collate(samples), tdata.default_collate(samples))
    compare(default_convert(samples[0]), tdata.default_convert(samples[0]))
    for n, fractions in ((10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (11, [0.1] * 10)):
        ours = [len(s) for s in random_split(range(n), fractions, generator=0)]
        theirs = [len(s) for s in tdata.random_split(range(n), fractions)]
        assert ours == theirs
    for size, drop in ((3, False), (3, True), (7, False), (8, True)):
        assert list(BatchSampler(range(7), size, drop)) == list(
            tdata.BatchSampler(range(7), size, drop)
        )
        assert len(BatchSampler(range(7), size, drop)) == len(
            tdata.BatchSampler(range(7), size, drop)
        )
    ours = DataLoader(Stream(5), batch_size=2, drop_last=True)

    class TorchStream(tdata.IterableDataset):
        __iter__ = Stream.__iter__
        __len__ = Stream.__len__

        def __init__(self, n):
            self.n = n

    theirs = tdata.DataLoader(TorchStream(5), batch_size=2, drop_last=True)
    assert len(ours) == len(theirs)
    assert [values(b).tolist() for b in ours] == [b.tolist() for b in theirs]

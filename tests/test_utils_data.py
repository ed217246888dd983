"""convnet.utils.data against torch.utils.data: the same script on both libraries gives the
same batches (values, dtypes, shapes, structure) and the same errors; workers give the
batches of a single process, seeded apart, and always go away."""

from __future__ import annotations

import collections
import gc
import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest

import convnet
from convnet.utils import data as cdata

torch = pytest.importorskip("torch")
import torch.utils.data as tdata  # noqa: E402

Point = collections.namedtuple("Point", "x y")
LIBRARIES = [(convnet, cdata), (torch, tdata)]


def plain(value):
    """A batch of either library as plain Python: tensors become (dtype, shape, values)."""
    if isinstance(value, torch.Tensor):
        return ("tensor", str(value.numpy().dtype), tuple(value.shape), value.tolist())
    if isinstance(value, convnet.Tensor):
        return ("tensor", str(value.data.dtype), tuple(value.shape), value.tolist())
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, [plain(item) for item in value])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [plain(item) for item in value])
    return value


def both(make_loader):
    """make_loader(lib, data) -> loader, run on convnet and torch: the two epochs, plain."""
    return [[plain(batch) for batch in make_loader(lib, data)] for lib, data in LIBRARIES]


def assert_no_children():
    deadline = time.monotonic() + 3
    while multiprocessing.active_children() and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    assert multiprocessing.active_children() == []


# ---- single process: batches equal torch's ------------------------------------------------

IMAGES = np.random.default_rng(0).random((7, 1, 2, 3), dtype=np.float32)
LABELS = np.arange(7) % 3


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (7, True)])
def test_tensor_dataset_batches_match_torch(batch_size, drop_last):
    def loader(lib, data):
        dataset = data.TensorDataset(lib.tensor(IMAGES), lib.tensor(LABELS))
        return data.DataLoader(dataset, batch_size=batch_size, drop_last=drop_last)
    ours, theirs = both(loader)
    assert ours == theirs and len(ours) == (7 // batch_size if drop_last else -(-7 // batch_size))
    assert ours[0][1][0][1] == "float32" and ours[0][1][1][1] == "int64"


SAMPLES = {
    "tuple": [(i, i / 2, f"s{i}") for i in range(5)],
    "dict": [{"x": np.full(2, i, np.int32), "y": {"flag": i % 2 == 0, "w": [i, 0.5]}}
             for i in range(5)],
    "namedtuple": [Point(np.float32(i), np.arange(3.0) + i) for i in range(5)],
    "numbers": [i * 1.5 for i in range(5)],
    "ints": list(range(5)),
    "bools": [i % 2 == 0 for i in range(5)],
    "strings": [f"name{i}" for i in range(5)],
    "bytes": [bytes([65 + i]) for i in range(5)],
    "arrays": [np.arange(4, dtype=np.float64).reshape(2, 2) * i for i in range(5)],
    "list": [[i, float(i)] for i in range(5)],
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("batch_size", [2, None])
def test_sample_structures_collate_as_torch(kind, batch_size):
    ours, theirs = both(lambda lib, data: data.DataLoader(SAMPLES[kind], batch_size=batch_size))
    assert ours == theirs


@pytest.mark.parametrize("kind", ["tuple", "dict", "namedtuple", "arrays", "bools"])
def test_default_collate_and_convert_match_torch(kind):
    for ours_fn, theirs_fn in [(cdata.default_collate, tdata.default_collate),
                               (cdata.default_convert, tdata.default_convert)]:
        assert plain(ours_fn(SAMPLES[kind])) == plain(theirs_fn(SAMPLES[kind]))


def test_collate_stacks_tensors_and_rejects_what_torch_rejects():
    stacked = cdata.default_collate([convnet.ones(2, 3), convnet.zeros(2, 3)])
    assert stacked.shape == (2, 2, 3) and stacked.dtype == convnet.float32
    for bad, error in [([object(), object()], TypeError), ([[1, 2], [3]], RuntimeError),
                       ([np.array(["a"]), np.array(["b"])], TypeError)]:
        for data in (tdata, cdata):
            with pytest.raises(error):
                data.default_collate(bad)
    with pytest.raises(RuntimeError):
        cdata.default_collate([convnet.ones(2), convnet.ones(3)])


def test_custom_collate_fn_and_batch_sampler_match_torch():
    batches = [[4, 0], [2], [1, 3, 5]]
    ours, theirs = both(lambda lib, data: data.DataLoader(
        data.TensorDataset(lib.tensor(IMAGES), lib.tensor(LABELS)), batch_sampler=batches))
    assert ours == theirs and [len(batch[1][1][3]) for batch in ours] == [2, 1, 3]
    summed = both(lambda lib, data: data.DataLoader(
        list(range(10)), batch_size=4, collate_fn=lambda batch: (sum(batch), len(batch))))
    assert summed[0] == summed[1] == [("tuple", [6, 4]), ("tuple", [22, 4]), ("tuple", [17, 2])]
    sampled = both(lambda lib, data: data.DataLoader(
        SAMPLES["ints"], sampler=[4, 3, 1], batch_size=2))
    assert sampled[0] == sampled[1]
    assert len(cdata.DataLoader(range(10), batch_sampler=batches)) == 3


def stream_class(data):
    """An IterableDataset of 0 .. end - 1, each worker reading every num_workers-th."""
    class Stream(data.IterableDataset):
        def __init__(self, end):
            self.end = end

        def __iter__(self):
            info = data.get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(start, self.end, step))

        def __len__(self):
            return self.end
    return Stream


Stream, TorchStream = stream_class(cdata), stream_class(tdata)


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("batch_size, drop_last", [(2, False), (3, True), (None, False)])
def test_iterable_dataset_matches_torch(workers, batch_size, drop_last):
    def run(lib, data):
        dataset = Stream(9) if data is cdata else TorchStream(9)
        return data.DataLoader(dataset, batch_size=batch_size, drop_last=drop_last,
                               num_workers=workers)
    ours, theirs = both(run)
    assert ours == theirs
    assert len(cdata.DataLoader(Stream(9), batch_size=batch_size, drop_last=drop_last)) == len(
        tdata.DataLoader(TorchStream(9), batch_size=batch_size, drop_last=drop_last))
    assert_no_children()


# ---- randomness -----------------------------------------------------------------------------

def labels_per_batch(loader):
    return [labels.tolist() for _, labels in loader]


def test_shuffle_covers_the_dataset_and_repeats_with_the_same_seed():
    dataset = cdata.TensorDataset(convnet.tensor(np.arange(23.0)), convnet.arange(23))
    runs = []
    for seed in (5, 5, 6):
        loader = cdata.DataLoader(dataset, batch_size=4, shuffle=True,
                                  generator=convnet.Generator().manual_seed(seed))
        runs.append([labels_per_batch(loader) for _ in range(2)])
    assert runs[0] == runs[1] and runs[0] != runs[2] and runs[0][0] != runs[0][1]
    for epoch in runs[0] + runs[2]:
        assert sorted(sum(epoch, [])) == list(range(23))
    globally = []
    for _ in range(2):
        convnet.manual_seed(3)
        globally.append(labels_per_batch(cdata.DataLoader(dataset, batch_size=5, shuffle=True)))
    assert globally[0] == globally[1] and sorted(sum(globally[0], [])) == list(range(23))


def test_samplers():
    generator = convnet.Generator().manual_seed(0)
    drawn = list(cdata.RandomSampler(range(5), replacement=True, num_samples=70,
                                     generator=generator))
    assert len(drawn) == 70 and set(drawn) <= set(range(5))
    long_epoch = list(cdata.RandomSampler(range(4), num_samples=10, generator=generator))
    assert sorted(long_epoch[:8]) == sorted(list(range(4)) * 2) and len(long_epoch) == 10
    assert sorted(cdata.SubsetRandomSampler([9, 4, 7], generator=generator)) == [4, 7, 9]
    weighted = list(cdata.WeightedRandomSampler([0, 1, 0, 3], 50, generator=generator))
    assert set(weighted) == {1, 3} and weighted.count(3) > weighted.count(1)
    distinct = list(cdata.WeightedRandomSampler([1, 2, 3, 4], 4, replacement=False,
                                                generator=generator))
    assert sorted(distinct) == [0, 1, 2, 3]
    assert list(cdata.WeightedRandomSampler([0, 1, 0], 2, replacement=False))[0] == 1
    for weights, count, replace in [([0, 1, 0], 4, False), ([1, -1], 1, True), ([0, 0], 1, True)]:
        for lib_data in (cdata, tdata):
            with pytest.raises(RuntimeError):
                list(lib_data.WeightedRandomSampler(weights, count, replacement=replace))
    for drop_last in (False, True):
        ours = cdata.BatchSampler(cdata.SequentialSampler(range(10)), 4, drop_last)
        theirs = tdata.BatchSampler(tdata.SequentialSampler(range(10)), 4, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("size, lengths", [(10, [3, 7]), (10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]),
                                           (7, [0.1, 0.2, 0.7]), (30, [0.25, 0.25, 0.25, 0.25]),
                                           (5, [1.0])])
def test_random_split_sizes_match_torch_and_partition(size, lengths):
    ours = cdata.random_split(range(size), lengths, generator=convnet.Generator().manual_seed(0))
    theirs = tdata.random_split(range(size), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(part) for part in ours] == [len(part) for part in theirs]
    indices = [i for part in ours for i in part.indices]
    assert sorted(indices) == list(range(size))
    again = cdata.random_split(range(size), lengths, generator=convnet.Generator().manual_seed(0))
    assert [part.indices for part in again] == [part.indices for part in ours]


def test_concat_and_subset_index_as_torch():
    pieces = [list(range(3)), list(range(10, 12)), [], list(range(20, 24))]
    ours, theirs = cdata.ConcatDataset(pieces), tdata.ConcatDataset(pieces)
    assert ours.cumulative_sizes == theirs.cumulative_sizes and len(ours) == len(theirs)
    assert [ours[i] for i in range(-9, 9)] == [theirs[i] for i in range(-9, 9)]
    for dataset in (ours, theirs):
        with pytest.raises(ValueError):
            dataset[-10]
        with pytest.raises(IndexError):
            dataset[9]
    ours_sub, theirs_sub = cdata.Subset(ours, [8, 0, 3, 3]), tdata.Subset(theirs, [8, 0, 3, 3])
    assert [ours_sub[i] for i in range(4)] == [theirs_sub[i] for i in range(4)]
    assert ours_sub.__getitems__([1, 2]) == theirs_sub.__getitems__([1, 2]) == [0, 10]
    tensors = cdata.TensorDataset(convnet.arange(4), convnet.arange(4) * 3) + cdata.Subset(
        cdata.TensorDataset(convnet.arange(2), convnet.arange(2)), [1])
    assert len(tensors) == 5 and [int(v) for v in tensors[-1]] == [1, 1]


# ---- bad arguments: same exception types as torch ------------------------------------------

BAD_LOADERS = [
    dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
    dict(num_workers=1, prefetch_factor=-1), dict(persistent_workers=True),
    dict(shuffle=True, sampler=[0, 1]), dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], shuffle=True), dict(batch_sampler=[[0]], drop_last=True),
    dict(batch_sampler=[[0]], sampler=[0]), dict(batch_size=None, drop_last=True),
    dict(batch_size=0), dict(batch_size=2, drop_last=1),
    dict(multiprocessing_context="fork"), dict(num_workers=1, multiprocessing_context="nope"),
    dict(num_workers=1, multiprocessing_context=3),
]


@pytest.mark.parametrize("kwargs", BAD_LOADERS, ids=lambda kwargs: ",".join(kwargs))
def test_bad_loader_arguments_raise_as_torch(kwargs):
    with pytest.raises(Exception) as theirs:
        tdata.DataLoader(list(range(4)), **kwargs)
    with pytest.raises(theirs.type):
        cdata.DataLoader(list(range(4)), **kwargs)


def test_bad_arguments_elsewhere_raise_as_torch():
    cases = [
        lambda lib, data: data.DataLoader(Stream(3) if data is cdata else TorchStream(3),
                                          shuffle=True),
        lambda lib, data: data.DataLoader(Stream(3) if data is cdata else TorchStream(3),
                                          sampler=[0]),
        lambda lib, data: data.TensorDataset(lib.zeros(3), lib.zeros(4)),
        lambda lib, data: data.random_split(range(5), [2, 2]),
        lambda lib, data: data.random_split(range(5), [0.5, -0.5, 1.0]),
        lambda lib, data: data.ConcatDataset([]),
        lambda lib, data: data.RandomSampler(range(3), replacement=1),
        lambda lib, data: data.RandomSampler(range(3), num_samples=0),
        lambda lib, data: data.WeightedRandomSampler([[1.0]], 2),
        lambda lib, data: data.WeightedRandomSampler([1.0], 0),
        lambda lib, data: data.BatchSampler(range(3), -1, False),
        lambda lib, data: data.Dataset()[0],
        lambda lib, data: setattr(data.DataLoader(range(3)), "batch_size", 2),
        lambda lib, data: len(data.DataLoader(  # an IterableDataset without __len__
            type("Bare", (data.IterableDataset,), {"__iter__": lambda self: iter([1])})())),
        lambda lib, data: iter(data.DataLoader(range(3), timeout=1)),
    ]
    for case in cases:
        with pytest.raises(Exception) as theirs:
            case(torch, tdata)
        with pytest.raises(theirs.type):
            case(convnet, cdata)


# ---- worker processes ----------------------------------------------------------------------

_INITIALISED_AS = -1


def record_init(worker_id):
    global _INITIALISED_AS
    _INITIALISED_AS = worker_id


class WhoAmI(cdata.Dataset):
    """Each sample says which worker read it and what its generators gave."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        info = cdata.get_worker_info()
        return {"index": index, "worker": -1 if info is None else info.id,
                "seed": -1 if info is None else info.seed, "init": _INITIALISED_AS,
                "workers": -1 if info is None else info.num_workers,
                "numpy": float(np.random.random()), "random": random.random(),
                "convnet": float(convnet.rand(1)[0]), "pid": os.getpid()}


def test_two_workers_give_the_batches_of_one_process():
    dataset = cdata.TensorDataset(convnet.tensor(IMAGES), convnet.tensor(LABELS))
    epochs = []
    for workers in (0, 2):
        loader = cdata.DataLoader(dataset, batch_size=2, shuffle=True, num_workers=workers,
                                  generator=convnet.Generator().manual_seed(1))
        epochs.append([[plain(batch) for batch in loader] for _ in range(2)])
    assert epochs[0] == epochs[1] and epochs[0][0] != epochs[0][1]
    batch = next(iter(cdata.DataLoader(dataset, batch_size=3, num_workers=2)))
    assert isinstance(batch[0], convnet.Tensor) and batch[0].dtype == convnet.float32
    assert_no_children()


def test_workers_are_seeded_apart_and_initialised():
    loader = cdata.DataLoader(WhoAmI(), batch_size=None, num_workers=2,
                              worker_init_fn=record_init)
    samples = list(loader)
    assert [sample["index"] for sample in samples] == list(range(8))
    assert [sample["worker"] for sample in samples] == [0, 1] * 4
    assert all(sample["init"] == sample["worker"] for sample in samples)
    assert {sample["workers"] for sample in samples} == {2}
    by_worker = [[s for s in samples if s["worker"] == w] for w in (0, 1)]
    assert by_worker[1][0]["seed"] == by_worker[0][0]["seed"] + 1
    for key in ("numpy", "random", "convnet"):
        assert by_worker[0][0][key] != by_worker[1][0][key]
    assert {s["pid"] for s in samples} .isdisjoint({os.getpid()})
    main = next(iter(cdata.DataLoader(WhoAmI(), batch_size=None)))
    assert main["worker"] == -1 and cdata.get_worker_info() is None
    assert_no_children()


def fail_on_three(index):
    if index == 3:
        raise ValueError("the dataset refuses index 3")
    return index


class Failing(cdata.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, index):
        if index == 4:
            return {}["no such key"]
        return fail_on_three(index)


def test_worker_exception_surfaces_with_its_traceback():
    iterator = iter(cdata.DataLoader(Failing(), batch_size=2, num_workers=2))
    assert next(iterator).tolist() == [0, 1]
    with pytest.raises(ValueError) as error:
        next(iterator)
    message = str(error.value)
    assert "Caught ValueError in DataLoader worker process 1" in message
    assert "the dataset refuses index 3" in message and "fail_on_three" in message
    with pytest.raises(KeyError, match="no such key"):
        next(iterator)
    del iterator, error
    assert_no_children()


def test_breaking_early_or_deleting_the_iterator_leaves_no_children():
    loader = cdata.DataLoader(WhoAmI(), batch_size=2, num_workers=2, prefetch_factor=1)
    for batch in loader:
        break
    del batch
    iterator = iter(loader)
    next(iterator)
    del iterator
    gc.collect()
    time.sleep(0.1)
    assert_no_children()


def test_persistent_workers_serve_every_epoch():
    loader = cdata.DataLoader(WhoAmI(), batch_size=3, num_workers=2, persistent_workers=True)
    epochs = [[batch["pid"].tolist() for batch in loader] for _ in range(3)]
    half = iter(loader)
    next(half)  # an epoch left half way: the next one still starts from the beginning
    epochs.append([batch["pid"].tolist() for batch in loader])
    pids = [set(sum(epoch, [])) for epoch in epochs]
    assert all(len(found) == 2 and found == pids[0] for found in pids)
    assert [len(batch) for batch in epochs[-1]] == [3, 3, 2]
    streamed = cdata.DataLoader(Stream(7), batch_size=2, num_workers=2, persistent_workers=True)
    assert [[b.tolist() for b in streamed] for _ in range(2)] == [[[0, 2], [1, 3], [4, 6], [5]]] * 2
    del loader, streamed, half
    assert_no_children()


class Slow(cdata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        time.sleep(0.5)
        return index


def test_timeout_raises_runtime_error():
    iterator = iter(cdata.DataLoader(Slow(), num_workers=1, timeout=0.1))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="timed out after 0.1 seconds"):
        next(iterator)
    assert time.monotonic() - started < 0.4
    del iterator
    assert_no_children()


def test_keyboard_interrupt_stops_the_workers():
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(KeyboardInterrupt):
            list(cdata.DataLoader(Slow(), num_workers=2))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert multiprocessing.active_children() == []


class Dies(cdata.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, index):
        os._exit(3)


def test_a_worker_that_dies_is_reported():
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(cdata.DataLoader(Dies(), num_workers=1))
    assert_no_children()

"""DataLoader, random_split, normalisation and augmentation."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnet
from convnet.data import (Augment, DataLoader, Dataset, channel_stats, random_crop, random_hflip,
                          random_split)


def toy(count=10, channels=1, size=4, seed=0):
    rng = np.random.default_rng(seed)
    return Dataset(rng.random((count, channels, size, size), dtype=np.float32),
                   np.arange(count), [str(i) for i in range(count)])


def epoch(loader):
    return [(images.copy(), labels.copy()) for images, labels in loader]


def labels_of(batches):
    return [labels.tolist() for _, labels in batches]


# ---- batching and shuffling --------------------------------------------------------------

@pytest.mark.parametrize("drop_last, sizes", [(False, [4, 4, 2]), (True, [4, 4])])
def test_batches_in_order_with_and_without_drop_last(drop_last, sizes):
    data = toy(10)
    loader = DataLoader(data, batch_size=4, drop_last=drop_last)
    batches = epoch(loader)
    assert len(loader) == len(sizes) and [len(y) for _, y in batches] == sizes
    assert np.concatenate([y for _, y in batches]).tolist() == list(range(sum(sizes)))
    images, labels = batches[0]
    assert images.dtype == np.float32 and labels.dtype == np.int64
    np.testing.assert_array_equal(images, data.images[:4])


def test_array_pair_accepted_and_exact_multiple():
    loader = DataLoader((np.zeros((8, 1, 2, 2), np.float32), np.zeros(8, np.int64)), batch_size=4)
    assert len(loader) == 2 and len(epoch(loader)) == 2


def test_seeded_shuffle_is_reproducible_and_changes_per_epoch():
    first, second = (DataLoader(toy(20), batch_size=6, shuffle=True, rng=7) for _ in range(2))
    epochs_a = [labels_of(epoch(first)) for _ in range(3)]
    epochs_b = [labels_of(epoch(second)) for _ in range(3)]
    assert epochs_a == epochs_b
    assert epochs_a[0] != epochs_a[1]
    for labels in epochs_a:
        assert sorted(sum(labels, [])) == list(range(20))
    other = DataLoader(toy(20), batch_size=6, shuffle=True, rng=8)
    assert labels_of(epoch(other)) != epochs_a[0]
    assert first.epoch == 3


def test_default_rng_follows_manual_seed():
    convnet.manual_seed(11)
    a = labels_of(epoch(DataLoader(toy(12), batch_size=5, shuffle=True)))
    convnet.manual_seed(11)
    b = labels_of(epoch(DataLoader(toy(12), batch_size=5, shuffle=True)))
    assert a == b


# ---- exact resume ------------------------------------------------------------------------

def make_loader(rng):
    return DataLoader(toy(23, channels=3, size=6), batch_size=5, shuffle=True, rng=rng,
                      augment=Augment(crop_padding=2, hflip=True), normalize=True)


@pytest.mark.parametrize("stop_after", [0, 2, 5, 7, 13])
def test_state_round_trip_resumes_the_same_batches(stop_after):
    uninterrupted = make_loader(3)
    reference = [batch for _ in range(3) for batch in epoch(uninterrupted)]  # 3 epochs of 5

    interrupted = make_loader(3)
    seen, state = [], None
    while len(seen) < stop_after:
        for images, labels in interrupted:
            seen.append((images.copy(), labels.copy()))
            if len(seen) == stop_after:
                state = json.loads(json.dumps(interrupted.state_dict()))  # plain data
                break
    if state is None:
        state = json.loads(json.dumps(interrupted.state_dict()))
    resumed = make_loader(999)  # a different seed: everything comes from the state
    resumed.load_state_dict(state)
    while len(seen) < len(reference):
        seen += epoch(resumed)
    assert len(seen) == len(reference)
    for (images, labels), (expected_images, expected_labels) in zip(seen, reference):
        np.testing.assert_array_equal(labels, expected_labels)
        np.testing.assert_array_equal(images, expected_images)
    assert resumed.epoch == 3


def test_unfinished_iteration_is_continued():
    loader = DataLoader(toy(10), batch_size=3, shuffle=True, rng=1)
    reference = labels_of(epoch(DataLoader(toy(10), batch_size=3, shuffle=True, rng=1)))
    iterator = iter(loader)
    first = next(iterator)[1].tolist()
    assert loader.state_dict()["batch"] == 1 and loader.epoch == 0
    assert [first] + labels_of(epoch(loader)) == reference
    assert loader.epoch == 1


def test_state_from_another_dataset_is_refused():
    state = DataLoader(toy(10), batch_size=3, rng=0).state_dict()
    with pytest.raises(ValueError, match="num_samples"):
        DataLoader(toy(11), batch_size=3, rng=0).load_state_dict(state)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(toy(10), batch_size=4, rng=0).load_state_dict(state)


# ---- normalisation -----------------------------------------------------------------------

def test_normalize_computed_on_the_training_set_and_given_to_validation():
    rng = np.random.default_rng(0)
    images = rng.random((40, 3, 5, 5), dtype=np.float32) * np.float32([[[2]], [[5]], [[9]]]) + 1
    train, valid = random_split(Dataset(images, np.arange(40) % 2), [30, 10], rng=0)
    loader = DataLoader(train, batch_size=7, normalize=True)
    out = np.concatenate([x for x, _ in loader])
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)
    valid_loader = DataLoader(valid, batch_size=10, normalize=(loader.mean, loader.std))
    mean = train.images.astype(np.float64).mean(axis=(0, 2, 3))
    std = train.images.astype(np.float64).std(axis=(0, 2, 3))
    expected = (valid.images - mean[:, None, None]) / std[:, None, None]
    np.testing.assert_allclose(next(iter(valid_loader))[0], expected, rtol=1e-5, atol=1e-5)


def test_normalize_given_values_and_errors():
    data = toy(4, channels=2)
    out = next(iter(DataLoader(data, batch_size=4, normalize=([0.5, 0.25], [2.0, 0.5]))))[0]
    np.testing.assert_allclose(out[:, 0], (data.images[:, 0] - 0.5) / 2.0, rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], (data.images[:, 1] - 0.25) / 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="normalize"):
        DataLoader(data, normalize=([0.5, 0.1, 0.2], [1, 1, 1]))
    mean, std = channel_stats(np.ones((2, 1, 2, 2)))
    assert mean.tolist() == [1.0] and std.tolist() == [0.0]


# ---- random_split ------------------------------------------------------------------------

def test_random_split_is_a_seeded_partition():
    data = toy(25)
    parts = random_split(data, [20, 5], rng=4)
    assert [len(p) for p in parts] == [20, 5]
    assert sorted(np.concatenate([p.labels for p in parts]).tolist()) == list(range(25))
    again = random_split(data, [20, 5], rng=4)
    assert all(np.array_equal(a.labels, b.labels) for a, b in zip(parts, again))
    assert not np.array_equal(random_split(data, [20, 5], rng=5)[1].labels, parts[1].labels)
    np.testing.assert_array_equal(parts[1].images, data.images[parts[1].labels])
    # floors 12, 7, 5 (25 * 0.3 = 7.5), the remaining 1 goes to the first part
    assert [len(p) for p in random_split(data, [0.5, 0.3, 0.2], rng=0)] == [13, 7, 5]
    for bad in ([20, 4], [0.5, 0.4], [-1, 26], []):
        with pytest.raises(ValueError, match="lengths"):
            random_split(data, bad)


# ---- augmentation ------------------------------------------------------------------------

def test_hflip_mirrors_exactly_the_chosen_images():
    images = np.random.default_rng(0).random((64, 2, 3, 5), dtype=np.float32)
    np.testing.assert_array_equal(random_hflip(images, np.random.default_rng(0), p=1.0),
                                  images[:, :, :, ::-1])
    np.testing.assert_array_equal(random_hflip(images, np.random.default_rng(0), p=0.0), images)
    out = random_hflip(images, np.random.default_rng(1), p=0.5)
    flipped = [np.array_equal(o, i[:, :, ::-1]) for o, i in zip(out, images)]
    kept = [np.array_equal(o, i) for o, i in zip(out, images)]
    assert all(f != k for f, k in zip(flipped, kept)) and 10 < sum(flipped) < 54


def test_random_crop_is_a_shifted_window_of_the_zero_padded_image():
    images = np.random.default_rng(0).random((200, 2, 5, 6), dtype=np.float32) + 1
    padding = 2
    out = random_crop(images, padding, np.random.default_rng(3))
    assert out.shape == images.shape and out.dtype == images.dtype
    offsets = set()
    for crop, image in zip(out, images):
        padded = np.zeros((2, 5 + 2 * padding, 6 + 2 * padding), np.float32)
        padded[:, padding:padding + 5, padding:padding + 6] = image
        matches = [(dy, dx) for dy in range(2 * padding + 1) for dx in range(2 * padding + 1)
                   if np.array_equal(padded[:, dy:dy + 5, dx:dx + 6], crop)]
        assert len(matches) == 1
        offsets.add(matches[0])
    assert len(offsets) == (2 * padding + 1) ** 2  # every offset occurs
    np.testing.assert_array_equal(random_crop(images, 0, np.random.default_rng(0)), images)


def test_random_crop_padding_modes():
    image = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    many = np.repeat(image, 100, axis=0)
    out = random_crop(many, 1, np.random.default_rng(0), padding_mode="replicate")
    top_left = out[:, 0, 0, 0]
    assert set(top_left.tolist()) <= {0.0, 1.0, 3.0, 4.0}  # no zeros: edges are repeated
    with pytest.raises(ValueError, match="padding_mode"):
        random_crop(many, 1, np.random.default_rng(0), padding_mode="mirror")


def test_loader_augments_once_per_batch_before_normalising():
    calls = []

    def record(images, rng):
        calls.append(images.shape)
        return images[:, :, :, ::-1]
    data = toy(10)
    loader = DataLoader(data, batch_size=4, augment=record, normalize=([0.5], [0.5]), rng=0)
    images, _ = next(iter(loader))
    assert calls == [(4, 1, 4, 4)]  # the whole batch in one call
    np.testing.assert_allclose(images, (data.images[:4, :, :, ::-1] - 0.5) / 0.5, rtol=1e-6)


def test_augment_validation_and_repr():
    assert repr(Augment(2, 0.25)) == "Augment(crop_padding=2, hflip=0.25, padding_mode='zeros')"
    for bad in ({"crop_padding": -1}, {"hflip": 2.0}, {"padding_mode": "nope"}):
        with pytest.raises(ValueError):
            Augment(**bad)

"""core.training.inputs.make_dataset: batches of float32 images and one-hot labels, optional
per-example weights, a shuffle that the seed repeats."""

from __future__ import annotations

import numpy as np

from core.training.inputs import make_dataset


def arrays(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """n tiny uint8 images whose pixels all equal their index, and labels 0, 1, 2, 0, ..."""
    x = np.stack([np.full((4, 4, 3), i, np.uint8) for i in range(n)])
    return x, np.arange(n, dtype=np.int64) % 3


def order(ds) -> list[int]:  # the image indices in the order the pipeline gives them
    return [int(v) for xb, *_ in ds for v in xb.numpy()[:, 0, 0, 0]]


def test_batches_are_float32_images_and_one_hot_labels() -> None:
    x, y = arrays(10)
    batches = list(make_dataset(x, y, 3, 4))
    assert [int(b[0].shape[0]) for b in batches] == [4, 4, 2]  # the last batch is kept, smaller
    assert all(len(b) == 2 for b in batches)
    images, labels = batches[0]
    assert images.dtype.name == "float32" and tuple(images.shape) == (4, 4, 4, 3)
    np.testing.assert_array_equal(images.numpy()[:, 0, 0, 0], [0.0, 1.0, 2.0, 3.0])
    assert labels.dtype.name == "float32"
    np.testing.assert_array_equal(labels.numpy(), np.eye(3)[[0, 1, 2, 0]])


def test_weights_come_as_a_third_float32_element() -> None:
    x, y = arrays(5)
    w = np.array([1, 2, 3, 4, 5], dtype=np.int64)
    (batch,) = list(make_dataset(x, y, 3, 8, weights=w))
    images, labels, weights = batch
    assert weights.dtype.name == "float32"
    np.testing.assert_array_equal(weights.numpy(), [1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(labels.numpy().argmax(axis=1), y)


def test_features_pass_through_as_float32() -> None:
    feats = np.arange(12, dtype=np.float64).reshape(6, 2)
    (batch,) = list(make_dataset(feats, np.zeros(6, np.int64), 2, 6))
    assert batch[0].dtype.name == "float32" and tuple(batch[0].shape) == (6, 2)
    np.testing.assert_array_equal(batch[1].numpy(), np.tile([1.0, 0.0], (6, 1)))


def test_no_shuffle_keeps_the_order() -> None:
    x, y = arrays(10)
    assert order(make_dataset(x, y, 3, 3)) == list(range(10))


def test_shuffle_is_repeated_by_the_seed_and_reshuffles_each_epoch() -> None:
    x, y = arrays(32)
    ds = make_dataset(x, y, 3, 8, shuffle=True, seed=5)
    first, second = order(ds), order(ds)
    assert sorted(first) == list(range(32)), "every example once per epoch"
    assert first != list(range(32))
    assert first != second, "each epoch is shuffled again"
    again = make_dataset(x, y, 3, 8, shuffle=True, seed=5)
    assert (order(again), order(again)) == (first, second), "the same seed, the same epochs"
    assert order(make_dataset(x, y, 3, 8, shuffle=True, seed=6)) != first


def test_shuffled_weights_stay_with_their_examples() -> None:
    x, y = arrays(12)
    w = np.arange(12, dtype=np.float32) * 10
    for images, labels, weights in make_dataset(x, y, 3, 5, shuffle=True, seed=1, weights=w):
        idx = images.numpy()[:, 0, 0, 0].astype(int)
        np.testing.assert_array_equal(weights.numpy(), idx * 10)
        np.testing.assert_array_equal(labels.numpy().argmax(axis=1), idx % 3)


def test_an_empty_split_gives_no_batches() -> None:
    x = np.zeros((0, 4, 4, 3), np.uint8)
    assert list(make_dataset(x, np.zeros(0, np.int64), 2, 4, shuffle=True)) == []

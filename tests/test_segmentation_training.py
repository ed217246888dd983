"""Segmentation through the data pipeline and the Trainer: masks in a Dataset, crops and
flips that move image and mask together, per-pixel metrics in ``Trainer.evaluate`` checked
against scikit-learn and loops, resume, and the warning for a collapse to one class."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.nn as nn
from convnet.data import Augment, DataLoader, Dataset, load_dataset
from convnet.data.fashion_seg import compose_scenes
from convnet.segmentation_metrics import confusion_matrices, per_image_ious
from convnet.train import Trainer

sklearn_metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is the IoU oracle")


def test_dataset_takes_masks_and_refuses_other_shapes():
    images = np.zeros((3, 1, 4, 5), np.float32)
    data = Dataset(images, np.full((3, 4, 5), 255), ["a", "b"])
    assert data.is_segmentation and data.ignore_index == 255
    assert data.subset([0, 2]).labels.shape == (2, 4, 5)
    with pytest.raises(ValueError, match=r"\(3, 4, 5\) \(masks\)"):
        Dataset(images, np.zeros((3, 5, 4), int))
    # the class count ignores the ignore label
    assert Dataset(images, np.array([[[0, 2, 255, 0, 0]] * 4] * 3)).classes == ["0", "1", "2"]


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate"])
def test_augment_moves_image_and_mask_together(padding_mode):
    """The image is its own mask's values: after a crop and a flip they still agree at every
    labelled pixel, and the pixels a zeros crop pads in are the ignore label."""
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 5, (16, 7, 9))
    images = masks[:, None].astype(np.float32)
    augment = Augment(crop_padding=3, hflip=True, padding_mode=padding_mode)
    out_images, out_masks = augment(images, np.random.default_rng(1), masks=masks)
    labelled = out_masks != 255
    np.testing.assert_array_equal(out_images[:, 0][labelled], out_masks[labelled])
    if padding_mode == "zeros":
        assert (~labelled).any() and (out_images[:, 0][~labelled] == 0).all()
    else:
        assert labelled.all()
    # the same draws as the image-only path: the images agree with it
    alone = augment(images, np.random.default_rng(1))
    np.testing.assert_array_equal(alone, out_images)


def test_loader_augments_masks_with_their_images():
    masks = np.random.default_rng(0).integers(0, 3, (10, 6, 6))
    data = Dataset(masks[:, None].astype(np.float32), masks)
    loader = DataLoader(data, 4, shuffle=True, rng=0, augment=Augment(2, hflip=True))
    for images, labels in loader:
        keep = labels != 255
        np.testing.assert_array_equal(images[:, 0][keep], labels[keep])


def loop_confusion(predicted, truth, classes, ignore):
    matrix = np.zeros((len(predicted), classes, classes), np.int64)
    for image in range(len(predicted)):
        for t, p in zip(truth[image].ravel(), predicted[image].ravel()):
            if t != ignore:
                matrix[image, t, p] += 1
    return matrix


def test_confusion_matrices_equal_a_loop_and_sklearn():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, (5, 6, 7))
    truth[rng.random(truth.shape) < 0.2] = 255
    truth[1][truth[1] == 2] = 0  # class 2 absent from image 1's truth
    predicted = rng.integers(0, 4, truth.shape)
    matrices = confusion_matrices(predicted, truth, 4)
    np.testing.assert_array_equal(matrices, loop_confusion(predicted, truth, 4, 255))
    for image in range(5):
        keep = truth[image] != 255
        t, p = truth[image][keep], predicted[image][keep]
        present = np.union1d(t, p)
        expected = sklearn_metrics.jaccard_score(t, p, labels=present, average=None).mean()
        assert per_image_ious(matrices[image]) == pytest.approx(expected, rel=1e-12)


class ConstantScores(nn.Module):
    """Scores that favour one class everywhere, whatever the image: a collapsed model."""

    def __init__(self, classes, winner):
        super().__init__()
        self.conv = nn.Conv2d(1, classes, 1, dtype=np.float64, rng=0)
        self.conv.weight.data[:] = 0
        self.conv.bias.data[:] = 0
        self.conv.bias.data[winner] = 5

    def forward(self, x):
        return self.conv(x)


def small_segmentation(count=24, size=12, seed=0):
    from convnet.data.shapes_seg import make_shapes_seg
    images, masks, classes = make_shapes_seg(count, size=size, seed=seed)
    masks[:, 0, :] = 255  # an unlabelled row in every mask
    return Dataset(images.astype(np.float64), masks, classes)


def test_trainer_metrics_are_one_confusion_matrix_over_the_split():
    data = small_segmentation()
    model = nn.FCN(1, 4, width=4, depth=2, batch_norm=False, dtype=np.float64, rng=0)
    trainer = Trainer(model, None, None, progress=False, num_classes=4)
    metrics = trainer.evaluate(DataLoader(data, 5))
    with convnet.no_grad():
        predicted = model(convnet.tensor(data.images)).data.argmax(axis=1)
    keep = data.labels != 255
    truth, guess = data.labels[keep], predicted[keep]
    expected = sklearn_metrics.confusion_matrix(truth, guess, labels=range(4))
    np.testing.assert_array_equal(metrics.confusion, expected)
    assert metrics.accuracy == pytest.approx(sklearn_metrics.accuracy_score(truth, guess))
    present = np.union1d(truth, guess)
    ious = sklearn_metrics.jaccard_score(truth, guess, labels=present, average=None)
    assert metrics.mean_iou == pytest.approx(ious.mean(), rel=1e-12)
    per_image = [per_image_ious(m) for m in loop_confusion(predicted, data.labels, 4, 255)]
    assert metrics.per_image_mean_iou == pytest.approx(np.nanmean(per_image), rel=1e-12)
    # the loss is the per-pixel cross-entropy without the ignored pixels, image-weighted
    import torch
    logits = torch.tensor(model(convnet.tensor(data.images)).data)
    losses = [torch.nn.functional.cross_entropy(logits[i:i + 5], torch.tensor(data.labels[i:i + 5]),
                                                ignore_index=255).item() * len(logits[i:i + 5])
              for i in range(0, len(data), 5)]
    assert metrics.loss == pytest.approx(sum(losses) / len(data), rel=1e-10)
    record = metrics.to_dict(data.classes)
    assert record["pixel_accuracy"] == record["accuracy"] and record["pixels"] == keep.sum()
    assert set(record["iou_per_class"]) == set(data.classes)


def test_fit_reports_mean_iou_and_a_collapse_to_one_class():
    data = small_segmentation()
    lines = []
    trainer = Trainer(ConstantScores(4, winner=0), convnet.optim.SGD(
        ConstantScores(4, 0).parameters(), lr=0.0), DataLoader(data, 8), DataLoader(data, 8),
        progress=False, num_classes=4, log=lines.append)
    history = trainer.fit(1)
    assert len(history["val_mean_iou"]) == 1
    assert "mIoU" in lines[0] and "pixel acc" in lines[0]
    assert any("predicts class 0 for every validation pixel" in line for line in lines)


def test_segmentation_training_learns_and_resumes_exactly(tmp_path):
    data = small_segmentation(count=32)

    def trainer(run_dir):
        convnet.manual_seed(0)
        model = nn.UNet(1, 4, depth=1, width=4, batch_norm=False, dtype=np.float64, rng=0)
        loader = DataLoader(data, 8, shuffle=True, rng=0, augment=Augment(1, hflip=True))
        return Trainer(model, convnet.optim.Adam(model.parameters(), lr=1e-2), loader,
                       DataLoader(data, 16), run_dir=str(run_dir), progress=False,
                       num_classes=4, log=lambda line: None)

    straight = trainer(tmp_path / "a")
    history = straight.fit(3)
    assert history["train_loss"][-1] < history["train_loss"][0]
    first = trainer(tmp_path / "b")
    first.fit(2)
    resumed = trainer(tmp_path / "b")
    resumed.fit(3, resume=True)
    for (name, a), (_, b) in zip(straight.model.state_dict().items(),
                                 resumed.model.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert resumed.history["val_mean_iou"] == straight.history["val_mean_iou"]


def test_fashion_scenes_label_each_garment_pixel():
    garments = np.zeros((3, 28, 28), np.float32)
    garments[0, 2:10, 2:10], garments[1, 5:25, 8:12], garments[2, 0:28, 0:28] = 0.9, 0.5, 0.05
    images, masks, classes = compose_scenes(garments, np.array([4, 9, 1]), list("abcdefghij"),
                                            30, size=40, max_items=2, seed=0)
    assert classes[0] == "background" and len(classes) == 11
    labelled = masks > 0
    assert (images[:, 0][labelled] >= 0.1).all() and (images[:, 0][~labelled] == 0).all()
    assert set(np.unique(masks)) <= {0, 5, 10}      # garment 2 is below the threshold
    values = {5: np.float32(0.9), 10: np.float32(0.5)}
    for label, value in values.items():
        np.testing.assert_array_equal(images[:, 0][masks == label], value)


def test_builtin_segmentation_sets_load_by_name():
    train = load_dataset("shapes-seg", num_samples=10, image_size=20)
    assert train.is_segmentation and train.labels.shape == (10, 20, 20)
    assert train.classes == ["background", "square", "diamond", "disc"]
    test = load_dataset("shapes-seg", "test", num_samples=10, image_size=20)
    assert not np.array_equal(train.images, test.images)  # the splits are different draws

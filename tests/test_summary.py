"""convnet.summary: parameter counts (seeds 002, 003), multiply-adds and receptive fields.

Every expectation is a number worked out by hand from the seeds or the recurrences of
Araujo et al. (distill 2019), a PyTorch parameter count, or a brute-force gradient
support measured with convnet autograd.
"""

import json

import numpy as np
import pytest
import torch

import convnet
import convnet.nn as nn
from convnet.summary import Field, summary

F64 = np.float64


def cifar_homework_net():
    layers = []
    for c_in, c_out in [(3, 8), (8, 16), (16, 32), (32, 64)]:
        layers += [nn.Conv2d(c_in, c_out, 3, padding="same"), nn.ReLU(),
                   nn.MaxPool2d(3, 2, padding="same")]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(256, 10))


# ---------------------------------------------------------------- seeds' parameter counts
def test_seed_002_ten_5x5_filters_on_32x32x3_have_760_parameters():
    info = summary(nn.Conv2d(3, 10, 5), (3, 32, 32))
    assert info.total_params == 760 == info.trainable_params
    assert info.rows[0].output_shape == (1, 10, 28, 28)


def test_seed_003_fully_connected_784_100_10():
    no_bias = nn.Sequential(nn.Flatten(), nn.Linear(784, 100, bias=False), nn.ReLU(),
                            nn.Linear(100, 10, bias=False))
    assert summary(no_bias, (1, 28, 28)).total_params == 79_400
    with_bias = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    info = summary(with_bias, (1, 28, 28))
    assert info.total_params == 79_510
    assert [r.params for r in info.rows] == [0, 78_500, 0, 1_010]
    assert info.total_mult_adds == 784 * 100 + 100 * 10


def test_seed_003_conv_then_linear_27296_weights():
    model = nn.Sequential(nn.Conv2d(1, 16, 4, stride=2, bias=False), nn.Flatten(),
                          nn.Linear(2704, 10, bias=False))
    info = summary(model, (1, 28, 28))
    conv, flat, linear = info.rows
    assert conv.output_shape == (1, 16, 13, 13) and conv.params == 256
    assert conv.notation == "[16 | 4x4 s 2]"
    assert flat.output_shape == (1, 2704)
    assert linear.params == 27_040
    assert info.total_params == 27_296


def test_lenet5_parameter_count_matches_torch():
    ours = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                         nn.Linear(84, 10))
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.Tanh(), torch.nn.AvgPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.Tanh(), torch.nn.AvgPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.Tanh(), torch.nn.Linear(120, 84), torch.nn.Tanh(),
        torch.nn.Linear(84, 10))
    info = summary(ours, (1, 28, 28))
    assert info.total_params == sum(p.numel() for p in theirs.parameters()) == 61_706
    assert info.rows[5].output_shape == (1, 16, 5, 5)


def test_frozen_parameters_are_not_trainable():
    model = nn.Sequential(nn.Conv2d(3, 10, 5), nn.Flatten(), nn.Linear(10 * 28 * 28, 2))
    model[0].requires_grad_(False)
    info = summary(model, (3, 32, 32))
    assert info.total_params == 760 + 15_682
    assert info.trainable_params == 15_682
    assert info.rows[0].params == 0


# ---------------------------------------------------------------- multiply-adds
def test_conv_multiply_adds_by_hand():
    # 28*28 positions * 10 filters, each a 5x5x3 dot product
    assert summary(nn.Conv2d(3, 10, 5), (3, 32, 32)).total_mult_adds == 588_000
    # groups=2: each of 6*6*6 outputs sees 2 of the 4 input channels through a 3x3 window
    assert summary(nn.Conv2d(4, 6, 3, groups=2), (2, 4, 8, 8)).total_mult_adds == 2 * 216 * 18


def test_linear_multiply_adds_scale_with_batch():
    info = summary(nn.Sequential(nn.Flatten(), nn.Linear(784, 100)), (3, 1, 28, 28))
    assert info.total_mult_adds == 3 * 78_400


# ---------------------------------------------------------------- receptive fields
def test_receptive_fields_by_hand():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3),     # r 3, 5; start 1, 2
        nn.MaxPool2d(2, 2),                                     # r 6, j 2, start 2.5
        nn.Conv2d(2, 2, 3, dilation=2),                         # k_eff 5: r 14, start 6.5
        nn.Conv2d(2, 2, 4, stride=2, padding="same"),           # pad before 1: r 20, j 4, 7.5
        nn.AdaptiveAvgPool2d(1), nn.Flatten())
    info = summary(model, (1, 32, 32))
    expected = [(3, 1, 1.0), (3, 1, 1.0), (5, 1, 2.0), (6, 2, 2.5), (14, 2, 6.5), (20, 4, 7.5)]
    for row, (size, jump, start) in zip(info.rows, expected):
        assert row.receptive_field == (Field(size, jump, start),) * 2, row.name
    assert info.rows[3].notation == "maxpool[2x2 s 2]"
    assert info.rows[5].output_shape == (1, 2, 5, 5)
    assert info.rows[6].receptive_field == "all" and info.rows[7].receptive_field == "all"


def test_receptive_field_per_dim_and_padding_pairs():
    model = nn.Sequential(nn.Conv2d(1, 1, (3, 5), stride=(1, 2), padding=((2, 0), (1, 1))),
                          nn.AvgPool2d((2, 3), stride=(2, 1), padding=(0, 1)))
    rf = summary(model, (1, 12, 12)).rows[1].receptive_field
    # rows: conv r 3, j 1, start 1 - 2 = -1; pool r 4, j 2, start -0.5
    # cols: conv r 5, j 2, start 2 - 1 = 1; pool r 5 + 2*2 = 9, j 2, start 1 + (1 - 1)*2 = 1
    assert rf == (Field(4, 2, -0.5), Field(9, 2, 1.0))


def test_cifar_homework_net_table():
    info = summary(cifar_homework_net(), (3, 32, 32))
    sizes = [r.receptive_field[0].size for r in info.rows[:12]]
    assert sizes == [3, 3, 5, 9, 9, 13, 21, 21, 29, 45, 45, 61]
    assert info.rows[11].receptive_field[0] == Field(61, 16, 0.0)
    assert [r.output_shape[-1] for r in info.rows[:12:3]] == [32, 16, 8, 4]
    assert info.rows[11].output_shape == (1, 64, 2, 2)
    assert info.total_params == 224 + 1_168 + 4_640 + 18_496 + 2_570
    assert info.total_mult_adds == (32 * 32 * 8 * 27 + 16 * 16 * 16 * 72 + 8 * 8 * 32 * 144
                                    + 4 * 4 * 64 * 288 + 2_560)
    text = str(info)
    print(text)
    assert "maxpool[3x3 s 2]" in text and "[64 | 3x3 s 1]" in text
    assert "Total params: 27,098" in text and "11 (MaxPool2d)" in text
    json.dumps(info.to_dict())


def _support_extent(model, in_size, unit):
    """Rows and columns of input pixels whose perturbation changes output ``unit``."""
    rng = np.random.default_rng(0)
    x = convnet.tensor(rng.standard_normal((1, 1, in_size, in_size)), requires_grad=True)
    y = model(x)
    y[(0, 0) + unit].backward()
    rows, cols = np.nonzero(np.abs(x.grad[0, 0]) > 0)
    return (rows.min(), rows.max()), (cols.min(), cols.max())


# Tanh and average pooling (not ReLU or max) so that no path has a zero derivative.
@pytest.mark.parametrize("layers, in_size, unit", [
    (lambda: [nn.Conv2d(1, 2, 3, rng=1, dtype=F64), nn.Tanh(), nn.AvgPool2d(2),
              nn.Conv2d(2, 2, 3, dilation=2, rng=2, dtype=F64),
              nn.Conv2d(2, 1, 4, stride=2, padding="same", rng=3, dtype=F64)], 40, (2, 3)),
    (lambda: [nn.Conv2d(1, 2, (3, 5), stride=(2, 1), padding="same", rng=4, dtype=F64),
              nn.Tanh(), nn.AvgPool2d(3, 2, padding=1),
              nn.Conv2d(2, 1, 2, dilation=(1, 3), rng=5, dtype=F64)], 40, (3, 4)),
], ids=["dilated-then-strided-same-even", "per-dim-strides-and-dilation"])
def test_receptive_field_equals_gradient_support(layers, in_size, unit):
    model = nn.Sequential(*layers())
    rf = summary(model, (1, in_size, in_size), dtype=np.float64).rows[-1].receptive_field
    for (low, high), f, i in zip(_support_extent(model, in_size, unit), rf, unit):
        centre = f.start + i * f.jump
        # the unit is chosen away from the border, so its whole field lies in the image
        assert 0 <= centre - (f.size - 1) / 2 and centre + (f.size - 1) / 2 <= in_size - 1
        assert high - low + 1 == f.size
        assert (low + high) / 2 == centre


# ---------------------------------------------------------------- bookkeeping
def test_nested_names_and_call_restoration():
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Dropout(0.5),
                                               nn.BatchNorm2d(2)))
    model.add_module("head", nn.Sequential(nn.Flatten(), nn.Linear(2 * 6 * 6, 3)))
    model.train()
    running_mean = model.features[3].running_mean.copy()
    info = summary(model, (1, 8, 8))
    assert [r.name for r in info.rows] == ["features.0", "features.1", "features.2",
                                           "features.3", "head.0", "head.1"]
    assert info.rows[3].type == "BatchNorm2d"
    assert info.rows[3].receptive_field == (Field(3, 1, 1.0),) * 2
    assert all(m.training for m in model.modules())
    assert all("forward" not in m.__dict__ for m in model.modules())
    np.testing.assert_array_equal(model.features[3].running_mean, running_mean)
    assert int(model.features[3].num_batches_tracked) == 0


def test_forward_restored_after_error():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(5, 3))
    model.eval()
    with pytest.raises(ValueError):
        summary(model, (1, 8, 8))
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert not any(m.training for m in model.modules())


def test_input_shape_validation():
    with pytest.raises(ValueError, match="input_shape"):
        summary(nn.ReLU(), (3, 0, 4))

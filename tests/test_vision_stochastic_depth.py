"""Stochastic depth (EfficientNet's residual branches) against torchvision.ops'
stochastic_depth: the same results where the draw does not matter (eval, p = 0, p = 1), the
same law where it does (a kept fraction of 1 - p, kept values scaled by 1 / (1 - p), one draw
per sample in 'row' mode and one per batch in 'batch' mode), and the gradient of the mask."""

import numpy as np
import pytest

from torchvision_oracle import import_torchvision

torchvision = import_torchvision()
import torch  # noqa: E402
from torchvision.ops import stochastic_depth as their_stochastic_depth  # noqa: E402

import convnet  # noqa: E402
from convnet.vision.models.efficientnet import StochasticDepth, stochastic_depth  # noqa: E402

X = np.random.default_rng(0).standard_normal((4000, 3, 2, 2)).astype(np.float32)


@pytest.mark.parametrize("p, training", [(0.3, False), (0.0, True), (1.0, True)])
def test_cases_without_randomness_equal_torchvision(p, training):
    for mode in ("row", "batch"):
        expected = their_stochastic_depth(torch.from_numpy(X), p, mode, training).numpy()
        actual = stochastic_depth(convnet.tensor(X), p, mode, training)
        np.testing.assert_array_equal(np.asarray(actual.numpy()), expected)


def test_row_mode_drops_whole_samples_at_rate_p_and_rescales():
    convnet.manual_seed(0)
    out = stochastic_depth(convnet.tensor(X), 0.25, "row").numpy()
    ratio = out.reshape(len(X), -1) / X.reshape(len(X), -1)
    per_sample = ratio[:, 0]
    np.testing.assert_allclose(ratio, per_sample[:, None] * np.ones_like(ratio), rtol=1e-6)
    assert set(np.round(per_sample.astype(float), 5).tolist()) == {0.0, round(1 / 0.75, 5)}
    dropped = np.mean(per_sample == 0)
    assert abs(dropped - 0.25) < 4 * np.sqrt(0.25 * 0.75 / len(X))   # 4 standard errors


def test_batch_mode_draws_once_and_the_gradient_is_the_mask():
    convnet.manual_seed(1)
    outcomes = set()
    for _ in range(40):
        x = convnet.tensor(X[:5], requires_grad=True)
        out = stochastic_depth(x, 0.5, "batch")
        out.sum().backward()
        scale = float(out.detach().numpy()[0, 0, 0, 0] / X[0, 0, 0, 0])
        np.testing.assert_allclose(out.detach().numpy(), scale * X[:5], rtol=1e-6)
        np.testing.assert_allclose(np.asarray(x.grad), np.full_like(X[:5], scale))
        outcomes.add(round(scale, 5))
    assert outcomes == {0.0, 2.0}


def test_bad_arguments_and_the_layer():
    with pytest.raises(ValueError, match="between 0 and 1"):
        stochastic_depth(convnet.tensor(X), 1.5, "row")
    with pytest.raises(ValueError, match="'batch' or 'row'"):
        stochastic_depth(convnet.tensor(X), 0.5, "column")
    layer = StochasticDepth(0.2, "row").eval()
    assert repr(layer) == "StochasticDepth(p=0.2, mode=row)"
    x = convnet.tensor(X)
    assert layer(x) is x

"""torchvision's mobile networks, EfficientNets, RegNets, GoogLeNet and Inception v3, exported
by torch.onnx.export, import through convnet.onnx.load and give torchvision's outputs: the
operators they need beyond the CNN core (Clip for ReLU6, HardSwish, HardSigmoid, ReduceMean,
the Transpose/Reshape of a channel shuffle, Sigmoid-gated SiLU, grouped convolutions, ceil-mode
pooling, concatenated branches)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from convnet.onnx import load
from torchvision_oracle import import_torchvision

torch = pytest.importorskip("torch", reason="PyTorch exports the models")
pytest.importorskip("onnx", reason="onnx reads the files")

MODELS = ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "shufflenet_v2_x0_5",
          "mnasnet0_5", "efficientnet_b0", "efficientnet_b1", "regnet_x_400mf", "regnet_y_400mf",
          "googlenet", "inception_v3"]
INCEPTIONS = {"googlenet", "inception_v3"}   # their auxiliary heads only run in training


@pytest.mark.parametrize("name", MODELS)
def test_torchvision_model_through_onnx_matches_torchvision(name):
    torchvision = import_torchvision()
    torch.manual_seed(0)
    options = {"init_weights": True, "aux_logits": False} if name in INCEPTIONS else {}
    module = getattr(torchvision.models, name)(num_classes=10, **options).eval()
    for layer in module.modules():           # running statistics away from 0 and 1
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 2)
    size = 80 if name == "inception_v3" else 64
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.from_numpy(x), buffer, dynamo=False,
                          input_names=["input"], output_names=["output"])
    model = load(io.BytesIO(buffer.getvalue()))
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-4,
                               atol=1e-4 * np.abs(expected).max())

"""The ONNX commands: ``convnet train`` writes model.onnx beside model.safetensors,
``convnet export`` writes and checks one, and evaluate, predict, summary and show accept an
``.onnx`` file and give what they give for the safetensors model; a model ONNX cannot hold
exactly is one line on stderr and exit status 2, with nothing written."""

from __future__ import annotations

import numpy as np
import pytest

import convnet.nn as nn
from convnet.cli import main
from convnet.io import save

onnx = pytest.importorskip("onnx", reason="onnx writes the files")
pytest.importorskip("onnxruntime", reason="ONNX Runtime checks the export")
from PIL import Image  # noqa: E402


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "--epochs", "1", "--runs-dir", str(runs), "--no-progress",
                 "--no-plots"]) == 0
    return runs / "digits"


def test_train_writes_a_checked_onnx_file_with_metadata(trained):
    proto = onnx.load(str(trained / "model.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    props = {entry.key for entry in proto.metadata_props}
    assert "convnet" in props and proto.opset_import[0].version == 17


def test_onnx_file_evaluates_and_predicts_as_the_model(trained, capsys, tmp_path):
    code, from_safetensors, err = run(capsys, "evaluate", trained / "model.safetensors")
    assert code == 0, err
    code, from_onnx, err = run(capsys, "evaluate", trained / "model.onnx")
    assert code == 0, err
    assert from_onnx.split(":", 1)[1] == from_safetensors.split(":", 1)[1]  # same figures
    image = tmp_path / "digit.png"
    Image.fromarray((np.random.default_rng(0).random((8, 8)) * 255).astype(np.uint8)).save(image)
    answers = [run(capsys, "predict", trained / name, image)[1] for name in
               ("model.safetensors", "model.onnx")]
    assert answers[0] == answers[1]
    code, out, err = run(capsys, "summary", trained / "model.onnx")
    assert code == 0 and "Conv" in out and "Total params: 23,946" in out
    code, out, err = run(capsys, "show", trained / "model.onnx", image, "--layer", "0/Conv",
                         "-o", tmp_path / "show.png")
    assert code == 0, err
    assert "16 maps of 8x8" in out


def test_export_command_reports_the_check(trained, capsys, tmp_path):
    target = tmp_path / "digits.onnx"
    code, out, err = run(capsys, "export", trained / "model.safetensors", "-o", target)
    assert code == 0, err
    assert "opset 17" in out and "ONNX Runtime differs from convnet by at most" in out
    assert target.stat().st_size > 0


def test_a_model_onnx_cannot_hold_is_refused(tmp_path, capsys):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, net_input="product", rng=0))
    path = tmp_path / "product.safetensors"
    save(model, str(path), metadata={"input_shape": [1, 6, 6], "arch": "custom"})
    code, out, err = run(capsys, "export", path, "-o", tmp_path / "product.onnx")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "product net input" in err
    assert not (tmp_path / "product.onnx").exists()

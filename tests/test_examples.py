"""Every script in examples/ runs with --quick on small inputs and writes valid PNGs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_example(name, *args, cwd):
    result = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *map(str, args)],
                            capture_output=True, text=True, cwd=cwd, timeout=120,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def pngs(folder):
    names = sorted(name for name in os.listdir(folder) if name.endswith(".png"))
    for name in names:
        with open(os.path.join(folder, name), "rb") as handle:
            assert handle.read(8) == PNG_SIGNATURE, name
    return names


def test_filters_on_a_photo(tmp_path):
    out = run_example("filters_on_a_photo.py", "--quick", "--out", tmp_path / "out", cwd=tmp_path)
    assert pngs(tmp_path / "out") == ["box7.png", "high_pass.png", "orientation.png", "photo.png",
                                      "photo_gray.png", "sobel_x.png", "sobel_y.png"]
    assert "strongest edge" in out


def test_filters_on_a_given_photo(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image
    Image.new("RGB", (20, 12), (10, 200, 30)).save(tmp_path / "flat.png")
    run_example("filters_on_a_photo.py", tmp_path / "flat.png", "--out", tmp_path / "out",
                cwd=tmp_path)
    assert "photo.png" not in pngs(tmp_path / "out")
    with Image.open(tmp_path / "out" / "sobel_x.png") as picture:
        assert picture.size == (20, 12)


def test_template_matching(tmp_path):
    out = run_example("template_matching.py", "--quick", "--out", tmp_path, cwd=tmp_path)
    assert {"template.png", "match_ncc.png", "match_ssd.png", "match_correlation.png"} <= \
        set(pngs(tmp_path))
    assert "ncc: best at" in out and "found" in out


def test_designed_vs_trained(tmp_path):
    out = run_example("designed_vs_trained.py", "--quick", "--out", tmp_path, cwd=tmp_path)
    assert pngs(tmp_path) == ["feature_maps.png", "kernels.png"]
    assert "designed (no training):          test accuracy 100.00%" in out
    assert "learned first-layer kernels" in out


def test_inside_a_network(tmp_path):
    pytest.importorskip("matplotlib")
    run_example("inside_a_network.py", "--quick", "--out", tmp_path, cwd=tmp_path)
    assert pngs(tmp_path) == ["feature_maps_0.png", "feature_maps_1.png", "feature_maps_3.png",
                              "filters.png", "saliency.png"]


def test_exercises_of_seed001(tmp_path):
    out = run_example("exercises_seed001.py", cwd=tmp_path)
    assert "E8.2 2x2 max pooling of it" in out and "P8.4 dw" in out
    differences = [float(line.rsplit(" ", 1)[-1]) for line in out.splitlines()
                   if "largest difference to finite differences" in line]
    assert differences and max(differences) < 1e-6


def test_features_vs_cnn_on_digits(tmp_path):
    out = run_example("features_vs_cnn.py", cwd=tmp_path)
    rows = [line for line in out.splitlines() if line.strip().endswith(" s")]
    assert len(rows) == 5 and "CNN digits-cnn" in rows[-1]

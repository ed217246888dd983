"""Template matching (seed 001's matched filter): find a patch of a photo in the photo.

    python examples/template_matching.py [PHOTO] [--out OUT_DIR] [--quick]

Cuts a template out of the photo (a synthetic scene when none is given), adds noise to
the photo so the match is not trivially exact, and scores every position with the three
methods of convnet.filters.match_template: 'correlation' (the plain inner product of the
notes' matched filter), 'ssd' (sum of squared differences, lower is better) and 'ncc'
(normalised cross-correlation). The plain inner product is largest wherever the image is
bright, which is why the normalised score is the one used in practice. Writes one
heat map per method (min-max scaled, brighter = better match, the best position marked)
beside the photo with the best window outlined.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from convnet import filters
from convnet.viz import save_image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthetic_photo import make_photo  # noqa: E402


def heat(values: np.ndarray) -> np.ndarray:
    """Min-max scaled values as black -> red -> yellow -> white."""
    low, high = values.min(), values.max()
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return np.clip(np.stack([3 * scaled, 3 * scaled - 1, 3 * scaled - 2], -1), 0, 1)


def picture(gray, scores, best, template_shape, method) -> np.ndarray:
    """The photo with the best window in red, beside the score heat map (cyan dot = best)."""
    height, width = template_shape
    row, col = best
    left = np.repeat(gray[..., None], 3, axis=-1)
    left[row, col:col + width] = left[row + height - 1, col:col + width] = (1, 0, 0)
    left[row:row + height, col] = left[row:row + height, col + width - 1] = (1, 0, 0)
    right = np.zeros_like(left)
    top, offset = (height - 1) // 2, (width - 1) // 2  # each score drawn at its window's centre
    right[top:top + scores.shape[0], offset:offset + scores.shape[1]] = heat(
        -scores if method == "ssd" else scores)
    y, x = row + top, col + offset
    right[max(0, y - 2):y + 3, max(0, x - 2):x + 3] = (0, 1, 1)
    return np.concatenate([left, np.full((gray.shape[0], 4, 3), 0.5), right], axis=1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photo", nargs="?", help="an image file (default: a synthetic scene)")
    parser.add_argument("--out", default="out/template_matching", help="output folder")
    parser.add_argument("--quick", action="store_true", help="a small synthetic scene")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.photo is None:
        args.photo = os.path.join(args.out, "photo.png")
        make_photo(*((96, 72) if args.quick else (320, 240))).save(args.photo)
    image = filters.read_image(args.photo).astype(np.float64)
    gray = np.tensordot([0.299, 0.587, 0.114], image, axes=1) if image.ndim == 3 else image
    height, width = gray.shape

    # the template: a fixed patch (in the synthetic scene: the roof's edge and the wall)
    top, left = int(0.25 * height), int(0.1 * width)
    patch_h, patch_w = max(8, height // 5), max(8, width // 6)
    template = gray[top:top + patch_h, left:left + patch_w].copy()
    noisy = np.clip(gray + np.random.default_rng(0).normal(0, 0.05, gray.shape), 0, 1)
    save_image(template, os.path.join(args.out, "template.png"))
    print(f"template: {patch_w}x{patch_h} pixels cut at row {top}, column {left} of the "
          f"{width}x{height} photo; searching a noisier copy of the photo")

    for method in filters.match.METHODS:
        scores = filters.match_template(noisy, template, method=method)
        best = filters.best_match(noisy, template, method=method)
        found = "found" if best == (top, left) else "missed"
        print(f"{method:>11}: best at row {best[0]:3d}, column {best[1]:3d} "
              f"(score {scores[best]:.4g}) -- {found}")
        path = os.path.join(args.out, f"match_{method}.png")
        save_image(picture(noisy, scores, best, template.shape, method), path)
    print(f"wrote {args.out}/template.png and match_<method>.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Seed 000's classic filters on a photograph: high-pass, box blur, Sobel x/y, orientation.

    python examples/filters_on_a_photo.py [PHOTO] [--out OUT_DIR] [--quick]

Without PHOTO a synthetic scene is drawn with Pillow (examples/synthetic_photo.py).
Writes OUT_DIR/photo_gray.png and one PNG per filter. Signed results (high-pass, Sobel)
are shown as |value| / max |value|, so flat regions are black and edges of either sign
are white, as in the notes' pictures; the box blur is shown as is (it keeps the range).
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


def abs_scaled(values: np.ndarray) -> np.ndarray:
    magnitude = np.abs(values)
    return magnitude / magnitude.max() if magnitude.max() > 0 else magnitude


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photo", nargs="?", help="an image file (default: a synthetic scene)")
    parser.add_argument("--out", default="out/filters_on_a_photo", help="output folder")
    parser.add_argument("--quick", action="store_true", help="a small synthetic scene")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.photo is None:
        args.photo = os.path.join(args.out, "photo.png")
        width, height = (96, 72) if args.quick else (320, 240)
        make_photo(width, height).save(args.photo)
    image = filters.read_image(args.photo).astype(np.float64)
    gray = np.tensordot([0.299, 0.587, 0.114], image, axes=1) if image.ndim == 3 else image
    print(f"{args.photo}: {gray.shape[1]}x{gray.shape[0]}")

    k = filters.kernels
    results = {
        "photo_gray": gray,
        # 'clamp' (repeat the edge pixel) so the image border is not mistaken for an edge
        "high_pass": abs_scaled(filters.correlate(gray, k.HIGH_PASS, boundary="clamp")),
        "box7": filters.correlate(gray, k.box(7), boundary="clamp"),
        "sobel_x": abs_scaled(filters.correlate(gray, k.SOBEL_X, boundary="clamp")),
        "sobel_y": abs_scaled(filters.correlate(gray, k.SOBEL_Y, boundary="clamp")),
        "orientation": filters.orientation_image(image, boundary="clamp"),
    }
    for name, picture in results.items():
        path = save_image(np.clip(picture, 0, 1), os.path.join(args.out, f"{name}.png"))
        print(f"wrote {path}")
    gx, gy = filters.gradient(gray, boundary="clamp")
    strongest = np.unravel_index(np.argmax(np.hypot(gx, gy)), gx.shape)
    angle = np.degrees(np.arctan2(gy[strongest], gx[strongest]))
    print(f"strongest edge at row {strongest[0]}, column {strongest[1]}: gradient angle "
          f"{angle:.0f} degrees (0 = brighter to the right, 90 = brighter downwards)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

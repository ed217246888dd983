"""A synthetic "photograph" drawn with Pillow, for the examples when no photo is given.

A sky that darkens upwards, a sun, a house with a roof, a window and a door, a tree,
a road and grass, slightly blurred and with camera noise: smooth gradients, straight
edges at many angles, curves and texture, which is what the filters respond to.

    python examples/synthetic_photo.py OUT.png [--width 240 --height 180 --seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np


def make_photo(width: int = 240, height: int = 180, seed: int = 0):
    """A PIL RGB image of a small scene (see the module docstring)."""
    from PIL import Image, ImageDraw, ImageFilter
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height)[:, None, None]
    sky = (1 - rows) * np.array([40, 90, 170]) + rows * np.array([170, 205, 235])
    canvas = np.broadcast_to(sky, (height, width, 3)).copy()
    picture = Image.fromarray(canvas.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(picture)
    w, h = width, height
    horizon = int(0.62 * h)
    draw.rectangle([0, horizon, w, h], fill=(70, 130, 60))                      # grass
    draw.polygon([(0.45 * w, h), (0.6 * w, h), (0.53 * w, horizon), (0.5 * w, horizon)],
                 fill=(120, 115, 110))                                           # road
    draw.ellipse([0.78 * w, 0.08 * h, 0.92 * w, 0.08 * h + 0.14 * w], fill=(250, 220, 90))  # sun
    left, right, top = int(0.12 * w), int(0.42 * w), int(0.42 * h)
    draw.rectangle([left, top, right, horizon + 0.1 * h], fill=(200, 170, 130))  # house
    draw.polygon([(left - 0.03 * w, top), (right + 0.03 * w, top),
                  ((left + right) / 2, top - 0.2 * h)], fill=(150, 50, 40))      # roof
    draw.rectangle([left + 0.05 * w, top + 0.06 * h, left + 0.12 * w, top + 0.16 * h],
                   fill=(60, 80, 120), outline=(240, 240, 240), width=2)         # window
    draw.rectangle([right - 0.1 * w, top + 0.12 * h, right - 0.04 * w, horizon + 0.1 * h],
                   fill=(90, 60, 40))                                            # door
    draw.rectangle([0.7 * w, 0.45 * h, 0.73 * w, 0.75 * h], fill=(90, 60, 30))  # trunk
    draw.ellipse([0.62 * w, 0.25 * h, 0.81 * w, 0.52 * h], fill=(40, 100, 40))  # crown
    picture = picture.filter(ImageFilter.GaussianBlur(0.8))
    pixels = np.asarray(picture, dtype=np.float64) + rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="write a synthetic photograph as a PNG")
    parser.add_argument("output")
    parser.add_argument("--width", type=int, default=240)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    make_photo(args.width, args.height, args.seed).save(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""torchvision.io's image readers: ``read_image`` and ``decode_image`` give a uint8 (C, H, W)
tensor, through the library's one image reader and its guards (regular files only, Pillow's
decompression-bomb limit, one-line errors naming the file).

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), 'dot.png')
    >>> Image.fromarray(np.full((2, 3, 3), 200, np.uint8)).save(path)
    >>> read_image(path).shape, read_image(path, ImageReadMode.GRAY).shape
    ((3, 2, 3), (1, 2, 3))
"""

from __future__ import annotations

import enum
import io as _io
import os

import numpy as np

from ..data.image_file import open_image
from ..tensor import Tensor

__all__ = ["ImageReadMode", "read_image", "decode_image", "read_file"]


class ImageReadMode(enum.Enum):
    """The channels to read: as stored, grey, grey and alpha, RGB, RGB and alpha."""
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = 4


_PIL_MODES = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA",
              ImageReadMode.RGB: "RGB", ImageReadMode.RGB_ALPHA: "RGBA"}


def _to_tensor(picture, mode: ImageReadMode) -> Tensor:
    if mode != ImageReadMode.UNCHANGED:
        picture = picture.convert(_PIL_MODES[mode])
    elif picture.mode not in ("L", "LA", "RGB", "RGBA"):
        picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    pixels = np.asarray(picture, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return Tensor(np.ascontiguousarray(pixels.transpose(2, 0, 1)))


def read_image(path, mode: ImageReadMode = ImageReadMode.UNCHANGED) -> Tensor:
    """The image file at ``path`` as a uint8 tensor (C, H, W)."""
    picture = open_image(str(path))
    try:
        picture.load()
    except OSError as error:
        from ..data.download import DatasetError
        raise DatasetError(f"{path}: not a readable image ({error})") from None
    return _to_tensor(picture, mode)


def read_file(path) -> Tensor:
    """The bytes of the file at ``path`` as a uint8 tensor (what decode_image takes)."""
    with open(path, "rb") as handle:
        return Tensor(np.frombuffer(handle.read(), dtype=np.uint8).copy())


def decode_image(input, mode: ImageReadMode = ImageReadMode.UNCHANGED) -> Tensor:  # noqa: A002
    """Decode encoded image bytes (a uint8 tensor, bytes, or a path) to a uint8 (C, H, W)."""
    if isinstance(input, (str, os.PathLike)):
        return read_image(input, mode)
    data = bytes(np.asarray(getattr(input, "data", input), dtype=np.uint8).tobytes()) \
        if not isinstance(input, bytes) else input
    from PIL import Image, UnidentifiedImageError
    try:
        picture = Image.open(_io.BytesIO(data))
        picture.load()
    except Image.DecompressionBombError as error:
        raise ValueError(f"decode_image: refused, the image is too large to decode safely "
                         f"({error})") from None
    except (OSError, UnidentifiedImageError) as error:
        raise ValueError(f"decode_image: not a readable image ({error})") from None
    return _to_tensor(picture, mode)

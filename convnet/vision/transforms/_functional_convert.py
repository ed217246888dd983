"""The conversions of :mod:`.functional` (re-exported there): image size queries, PIL image
or array <-> tensor, dtype rescaling and normalisation.

Example:
    >>> import numpy as np
    >>> to_pil_image(to_tensor(np.full((2, 3, 1), 7, np.uint8))).getpixel((0, 0))
    7
"""

from __future__ import annotations

import sys

import numpy as np

from ... import dtypes
from ...tensor import Tensor
from . import _functional_pil as F_pil, _functional_tensor as F_t


def get_dimensions(img) -> list[int]:
    """[channels, height, width] of a PIL image or a tensor image.

    Example:
        >>> import convnet
        >>> get_dimensions(convnet.zeros(3, 4, 5))
        [3, 4, 5]
    """
    if isinstance(img, Tensor):
        return F_t.get_dimensions(img.data)
    return F_pil.get_dimensions(img)


def get_image_size(img) -> list[int]:
    """[width, height] of a PIL image or a tensor image.

    Example:
        >>> import convnet
        >>> get_image_size(convnet.zeros(3, 4, 5))
        [5, 4]
    """
    _, height, width = get_dimensions(img)
    return [width, height]


def get_image_num_channels(img) -> int:
    """The number of channels (bands) of an image.

    Example:
        >>> from PIL import Image
        >>> get_image_num_channels(Image.new("RGBA", (2, 2)))
        4
    """
    return get_dimensions(img)[0]


def to_tensor(pic) -> Tensor:
    """A PIL image or an (H, W[, C]) array as a (C, H, W) tensor; uint8 becomes the default
    float dtype in [0, 1], other dtypes keep their values (modes I, I;16, F).

    Example:
        >>> import numpy as np
        >>> image = to_tensor(np.full((1, 2, 3), 255, np.uint8))
        >>> image.shape, image.dtype, image.max().item()
        ((3, 1, 2), dtype('float32'), 1.0)
    """
    if not (F_pil.is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = np.ascontiguousarray((pic[:, :, None] if pic.ndim == 2 else pic).transpose(2, 0, 1))
    else:
        little = "I;16" if sys.byteorder == "little" else "I;16B"
        dtype = {"I": np.int32, little: np.int16, "F": np.float32}.get(pic.mode, np.uint8)
        array = np.array(pic, dtype)
        if pic.mode == "1":
            array = array * np.uint8(255)
        array = np.ascontiguousarray(array.reshape(pic.height, pic.width, -1).transpose(2, 0, 1))
    if array.dtype == np.uint8:
        default = dtypes.get_default_dtype()
        return Tensor(array.astype(default) / default.type(255))
    return Tensor(array)


def pil_to_tensor(pic) -> Tensor:
    """A PIL image as a (C, H, W) tensor of its own dtype, values unscaled.

    Example:
        >>> from PIL import Image
        >>> t = pil_to_tensor(Image.new("RGB", (4, 2), (9, 8, 7)))
        >>> t.shape, t.dtype, t[:, 0, 0].tolist()
        ((3, 2, 4), dtype('uint8'), [9, 8, 7])
    """
    if not F_pil.is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    array = np.array(pic, copy=True)
    return Tensor(array.reshape(pic.height, pic.width, -1).transpose(2, 0, 1))


def convert_image_dtype(image: Tensor, dtype=dtypes.float32) -> Tensor:
    """``image`` in ``dtype``, its values rescaled between [0, 1] and integer ranges.

    Example:
        >>> import convnet
        >>> convert_image_dtype(convnet.tensor([[[0.0, 0.5, 1.0]]]), convnet.uint8).tolist()
        [[[0, 127, 255]]]
    """
    if not isinstance(image, Tensor):
        raise TypeError("Input img should be Tensor Image")
    return Tensor(F_t.convert_image_dtype(image.data, dtypes.as_dtype(dtype)))


def to_pil_image(pic, mode=None):
    """A (C, H, W) tensor or an (H, W[, C]) array as a PIL image; floats are scaled by 255
    (unless ``mode`` is 'F'); the mode follows from channels and dtype when not given.

    Example:
        >>> import convnet
        >>> to_pil_image(convnet.ones(3, 2, 5)).mode, to_pil_image(convnet.ones(1, 2, 5)).size
        ('RGB', (5, 2))
    """
    if isinstance(pic, Tensor):
        pic = pic.data.transpose(1, 2, 0) if pic.ndim == 3 else pic.data
    elif not isinstance(pic, np.ndarray):
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if pic.ndim == 2:
        pic = pic[:, :, None]
    if pic.ndim != 3:
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    if pic.shape[-1] > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[-1]} channels.")
    if np.issubdtype(pic.dtype, np.floating) and mode != "F":
        pic = (pic * 255).astype(np.uint8)
    channels, is_byte = pic.shape[2], pic.dtype == np.uint8
    if channels == 1:
        pic = pic[:, :, 0]
        little = "I;16" if sys.byteorder == "little" else "I;16B"
        expected = {np.dtype(np.uint8): "L", np.dtype(np.int16): little,
                    np.dtype(np.int32): "I", np.dtype(np.float32): "F"}.get(pic.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {pic.dtype}. "
                             f"Should be {expected}")
        mode = expected
    else:
        permitted, default = {2: (["LA"], "LA"), 4: (["RGBA", "CMYK", "RGBX"], "RGBA"),
                              3: (["RGB", "YCbCr", "HSV"], "RGB")}[channels]
        if mode is not None and mode not in permitted:
            dims = "2D" if channels == 2 else f"{channels}D"
            raise ValueError(f"Only modes {permitted} are supported for {dims} inputs")
        if mode is None and is_byte:
            mode = default
    if mode is None:
        raise TypeError(f"Input type {pic.dtype} is not supported")
    return F_pil.fromarray(pic, mode)


def normalize(tensor: Tensor, mean, std, inplace: bool = False) -> Tensor:
    """``(tensor - mean) / std`` per channel of a float (..., C, H, W) tensor (differentiable;
    ``inplace=True`` writes into ``tensor``).

    Example:
        >>> import convnet
        >>> normalize(convnet.ones(2, 1, 1), [0.5, 0.0], [0.5, 2.0]).flatten().tolist()
        [1.0, 0.5]
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    F_t.check_image(tensor.data)
    if not F_t.is_float(tensor.data):
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tuple(tensor.shape)}")
    mean, std = (np.asarray(v.data if isinstance(v, Tensor) else v, tensor.dtype)
                 for v in (mean, std))
    if (std == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to "
                         f"division by zero.")
    mean = Tensor(mean.reshape(-1, 1, 1) if mean.ndim == 1 else mean)
    std = Tensor(std.reshape(-1, 1, 1) if std.ndim == 1 else std)
    if inplace:
        return tensor.sub_(mean).div_(std)
    return (tensor - mean) / std

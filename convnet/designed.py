"""A network designed by hand, not trained: squares vs diamonds (seed 001, exercise E8.10).

E8.10 asks for a convolution layer with the line kernels of Figure 8.5, a max pooling
layer and a fully connected layer with a softmax, telling 15x15 outlines of squares
(Figure 8.4, left) from diamonds (right), "with all of the weights and biases
specified... designed, not trained". :func:`squares_vs_diamonds_network` builds it::

    Conv2d(1, 4, 3x3, padding='same', zero padding)   4 maps of 15x15: line detectors
    ReLU                                              keep only complete 3-pixel lines
    MaxPool2d(15)                                     global max: "is there such a line?"
    Flatten                                           4 features, each 0 or 1
    Linear(4, 2)                                      square vote vs diamond vote
    softmax (in predict_proba)                        class probabilities

Classes are numbered as :func:`convnet.data.shapes.make_shapes` numbers them:
0 = square, 1 = diamond.

The weights
===========

**Layer 0, Conv2d weight (4, 1, 3, 3)** -- the four line kernels of Figure 8.5, each a
3-pixel line of ones in a 3x3 of zeros (the layer computes a cross-correlation, as
every conv layer of the notes does; these kernels are symmetric under the 180-degree
flip, so convolution and correlation agree)::

    0 horizontal    1 vertical     2 diagonal "\\"   3 antidiagonal "/"
    0 0 0           0 1 0           1 0 0            0 0 1
    1 1 1           0 1 0           0 1 0            0 1 0
    0 0 0           0 1 0           0 0 1            1 0 0

On a binary image the response of a kernel at a pixel counts the outline pixels
lying on the kernel's 3-pixel segment centred there: 3 when a whole segment of that
orientation is present.

**Layer 0, Conv2d bias (4,)** = ``[-2, -2, -2, -2]``, a threshold: with the ReLU
after it a map is ``relu(count - 2)``, 1 where a complete 3-pixel line of its
orientation lies and 0 elsewhere. Why 2 is the right threshold (for every size and
position the generator draws, ``r >= 2``):

- A square outline (``max(|dy|, |dx|) == r``) has horizontal and vertical sides of
  ``2r + 1 >= 5`` pixels, so the horizontal and vertical counts reach 3. No diagonal
  segment of 3 pixels lies on it: if the middle pixel is on the top side
  (``dy == -r``), the pixel above-left is outside the outline (``dy == -r - 1``), and
  likewise for the other sides, so diagonal counts are at most 2 (2 at a corner).
- A diamond outline (``|dy| + |dx| == r``) has four diagonal sides of ``r + 1 >= 3``
  pixels, so both diagonal counts reach 3. No row holds three neighbouring diamond
  pixels (``|x - 1|, |x|, |x + 1|`` are never all equal) and no column either, so
  horizontal and vertical counts are at most 2 (2 next to a vertex).

The padding is 'same' with zeros, so an outline touching the border (a 15x15 square,
``r = 7``) still gives full counts along its sides, and the zeros outside add nothing.

**Layer 2, MaxPool2d(15)** -- one 15x15 window over each whole map: the global
maximum, 1 if the line orientation occurs anywhere, else 0. It has no weights; this
is what makes the answer independent of the shape's position and size. The four
pooled features are exactly ``(1, 1, 0, 0)`` for every square and ``(0, 0, 1, 1)``
for every diamond.

**Layer 4, Linear weight (2, 4)** = ``[[1, 1, -1, -1], [-1, -1, 1, 1]]``: the square
score adds the horizontal and vertical features and subtracts the diagonal ones; the
diamond score is its negative. **Linear bias (2,)** = ``[0, 0]``: the problem is
symmetric, neither class is favoured. The scores are ``(2, -2)`` for a square and
``(-2, 2)`` for a diamond, so the softmax gives the right class the probability
``1 / (1 + exp(-4)) = 0.98201`` (scale the linear weights up for more confidence:
the decisions do not change).

Without the bias and ReLU the design would still separate the two classes (pooled
counts ``(3, 3, <=2, <=2)`` vs ``(<=2, <=2, 3, 3)`` give scores of at least +2 for
the right class), but the threshold turns the features into clean yes/no answers,
so the probabilities are the same for every image of a class.

Example:
    >>> from convnet.data.shapes import make_shapes
    >>> model = squares_vs_diamonds_network()
    >>> images, labels, names = make_shapes(200, seed=1)
    >>> bool((predict(model, images) == labels).all())
    True
    >>> probabilities = predict_proba(model, images)
    >>> sorted({round(float(p), 5) for p in probabilities.max(axis=1)})
    [0.98201]
"""

from __future__ import annotations

import numpy as np

from . import functional as F
from . import nn
from .filters.kernels import LINE_KERNELS as _FIGURE_8_5
from .tensor import Tensor, no_grad

__all__ = ["LINE_KERNELS", "CLASSES", "squares_vs_diamonds_network", "squares_vs_diamonds_layers",
           "predict_proba", "predict"]

CLASSES = ("square", "diamond")

#: Figure 8.5's line kernels (``convnet.filters.kernels.LINE_KERNELS``: horizontal,
#: vertical, diagonal, antidiagonal), in the order of the conv layer's output channels.
LINE_KERNELS = {name: np.array(kernel, dtype=np.float32) for name, kernel in _FIGURE_8_5.items()}

#: relu(count - 2): 1 only where all three pixels of a kernel's line are set.
LINE_THRESHOLD = 2.0

#: square score = horizontal + vertical - diagonals; diamond score = its negative.
VOTES = np.array([[1, 1, -1, -1],
                  [-1, -1, 1, 1]], dtype=np.float32)


def squares_vs_diamonds_layers(image_size: int = 15) -> nn.Sequential:
    """The architecture of :func:`squares_vs_diamonds_network` with untouched (random) weights.

    ``Conv2d(1, 4, 3, padding='same') -> ReLU -> MaxPool2d(image_size) -> Flatten ->
    Linear(4, 2)``; the same layers the designed network has, for training from scratch.

    Example:
        >>> squares_vs_diamonds_layers()[2]
        MaxPool2d([15x15 s 15])
    """
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) \
            or image_size < 3:
        raise ValueError(f"image_size: expected an int >= 3, got {image_size!r}")
    return nn.Sequential(
        nn.Conv2d(1, len(LINE_KERNELS), 3, padding="same"),
        nn.ReLU(),
        nn.MaxPool2d(int(image_size)),
        nn.Flatten(),
        nn.Linear(len(LINE_KERNELS), len(CLASSES)),
    )


def squares_vs_diamonds_network(image_size: int = 15) -> nn.Sequential:
    """The hand-designed square/diamond classifier of E8.10 (see the module docstring).

    Args:
        image_size: height and width of the (square) input images; the pooling window
            covers the whole map. The notes' images are 15x15.

    Returns:
        a :class:`convnet.nn.Sequential` mapping (N, 1, S, S) images with outlines of 1 on
        0 to class scores (N, 2) (0 = square, 1 = diamond); :func:`predict_proba` applies
        the softmax.

    Example:
        >>> model = squares_vs_diamonds_network()
        >>> model[0].weight.data[2, 0].tolist()  # the "\\\\" diagonal kernel
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        >>> model[0].bias.data.tolist(), model[4].weight.data.tolist(), model[4].bias.data.tolist()
        ([-2.0, -2.0, -2.0, -2.0], [[1.0, 1.0, -1.0, -1.0], [-1.0, -1.0, 1.0, 1.0]], [0.0, 0.0])
    """
    model = squares_vs_diamonds_layers(image_size)
    model.load_state_dict({
        "0.weight": np.stack(list(LINE_KERNELS.values()))[:, None],
        "0.bias": np.full(len(LINE_KERNELS), -LINE_THRESHOLD, dtype=np.float32),
        "4.weight": VOTES.copy(),
        "4.bias": np.zeros(len(CLASSES), dtype=np.float32),
    })
    return model


def _batch(images) -> np.ndarray:
    array = np.asarray(images.data if isinstance(images, Tensor) else images, dtype=np.float32)
    if array.ndim == 2:
        array = array[None, None]
    elif array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[1] != 1:
        raise ValueError(f"images: expected (N, 1, H, W), (N, H, W) or (H, W) grayscale images, "
                         f"got shape {array.shape}")
    return array


def predict_proba(model, images) -> np.ndarray:
    """Softmax of the model's class scores: (N, classes) probabilities, rows summing to 1.

    Args:
        model: the network (any Module returning class scores).
        images: (N, 1, H, W), (N, H, W) or one (H, W) image.

    Example:
        >>> import numpy as np
        >>> square = np.zeros((15, 15), np.float32); square[3:9, 3] = square[3:9, 8] = 1
        >>> square[3, 3:9] = square[8, 3:9] = 1
        >>> [round(float(p), 4) for p in predict_proba(squares_vs_diamonds_network(), square)[0]]
        [0.982, 0.018]
    """
    with no_grad():
        return np.asarray(F.softmax(model(_batch(images)), dim=1).data)


def predict(model, images) -> np.ndarray:
    """(N,) int64 class indices (0 = square, 1 = diamond): the most probable class."""
    return predict_proba(model, images).argmax(axis=1).astype(np.int64)

"""Classic image filters: correlation vs true convolution, named kernels, gradients,
template matching and HOG (seeds 000, 001 and 004).

- :func:`correlate`, :func:`convolve` -- 1-D/2-D, per channel or multi-channel kernels,
  ``mode`` 'valid' | 'same' | 'full', ``boundary`` 'zero' | 'clamp' | 'wrap' | 'mirror' |
  'mirror-edge' (the table of scipy/OpenCV names is in :mod:`convnet.filters.correlation`).
- :mod:`~convnet.filters.kernels` -- high/low-pass, Gaussian, Sobel, sharpen, Laplacian,
  P8.2's shift, seed 004's vertical edges, Fig. 8.5's lines, seed 000's RGB filter.
- :func:`gradient`, :func:`gradient_magnitude`, :func:`gradient_orientation`,
  :func:`orientation_image` -- Sobel gradients and the coloured edge picture.
- :func:`match_template`, :func:`best_match` -- NCC / SSD / plain correlation
  (OpenCV's TM_CCOEFF_NORMED / TM_SQDIFF / TM_CCORR).
- :func:`hog` -- histograms of oriented gradients, as ``skimage.feature.hog``.

Images are (H, W) or (C, H, W) arrays, or paths read with Pillow as float32 in [0, 1].

Example:
    >>> import numpy as np
    >>> from convnet import filters
    >>> image = np.zeros((6, 6)); image[:, 3:] = 1
    >>> filters.correlate(image, filters.kernels.SOBEL_X, mode='valid')[0].tolist()
    [0.0, 4.0, 4.0, 0.0]
"""

from . import kernels
from .correlation import BOUNDARIES, MODES, as_image, convolve, correlate, read_image
from .gradient import gradient, gradient_magnitude, gradient_orientation, orientation_image
from .hog import cell_histograms, hog
from .match import best_match, match_template

__all__ = ["kernels", "correlate", "convolve", "read_image", "as_image", "BOUNDARIES", "MODES",
           "gradient", "gradient_magnitude", "gradient_orientation", "orientation_image",
           "hog", "cell_histograms", "match_template", "best_match"]

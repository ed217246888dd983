"""``convnet explore MODEL``: a local web page to look inside a trained network.

- :mod:`.session` computes everything the page shows (layer maps, one unit's window, kernel,
  products and sum, filters, saliency and Grad-CAM, the padding playground) with the library
  itself, as plain JSON values; it needs no web stack and is tested on its own.
- :mod:`.app` serves the page (static files shipped in ``static/``, no CDN) and that JSON
  API with Starlette; ``convnet explore`` runs it with uvicorn on 127.0.0.1.

API (all JSON; images are ``{"sample": i}``, or ``{"pixels": (C, H, W) in [0, 1]}``)::

    GET  /api/model                   layers, classes, input shape, samples available
    GET  /api/sample/{i}              test image i as pixels in [0, 1]
    POST /api/upload                  an image file (PNG, JPEG; at most 5 MB) -> pixels
    POST /api/forward   {image}       class probabilities (or the mask) and every layer's maps
    POST /api/unit      {image, layer, channel, y, x}   one unit: window, kernel, products, sum
    POST /api/filters   {layer}       a convolution's filters
    POST /api/saliency  {image, target}                 saliency map and Grad-CAM
    POST /api/playground {size, kernel, stride, padding, padding_mode, dilation}
"""

from .session import ExploreError, ExploreSession

__all__ = ["ExploreSession", "ExploreError"]

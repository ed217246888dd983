"""Differentiable operations on Tensors, named and shaped like ``torch.nn.functional``.

Each function validates its arguments once, runs a pure-NumPy kernel from
:mod:`convnet.ops` and records the matching backward kernel on the autograd tape.
Inputs may be Tensors or NumPy arrays. One module per family:

- :mod:`convnet.functional.conv`: convolution
- :mod:`convnet.functional.conv_transpose`: transposed convolution
- :mod:`convnet.functional.local`: locally connected and tiled convolution
- :mod:`convnet.functional.pool`: max, average, Lp, adaptive and channel (maxout) pooling
- :mod:`convnet.functional.activation`: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax
- :mod:`convnet.functional.loss`: cross_entropy, nll_loss, mse_loss, binary_cross_entropy_with_logits
- :mod:`convnet.functional.layers`: linear, flatten, dropout, batch_norm
- :mod:`convnet.functional.shape`: pad, interpolate, cat, stack
- :mod:`convnet.functional.weighted_pool`: weighted_sum_pool2d (trainable LeNet subsampling)
- :mod:`convnet.functional.net_input`: product_net_input, conv2d_product_bias
- :mod:`convnet.functional.lecun_tanh`: scaled_tanh (LeCun's 1.7159 tanh(2x/3))
- :mod:`convnet.functional.smooth_activation`, :mod:`~convnet.functional.piecewise_activation`:
  silu, gelu, mish, softplus, elu, selu, relu6, hardswish, prelu, ...
- :mod:`convnet.functional.normalization`: layer_norm, group_norm, instance_norm, normalize
- :mod:`convnet.functional.pointwise_loss`: l1, smooth L1, Huber, binary cross-entropy, KL
- :mod:`convnet.functional.embedding_ops`: one_hot, embedding, cosine_similarity
- :mod:`convnet.functional.rearrange`: pixel_shuffle, channel_shuffle, unfold, fold
- :mod:`convnet.functional.channel_dropout`: dropout1d/2d/3d, alpha_dropout

Example:
    >>> import numpy as np, convnet
    >>> import convnet.functional as F
    >>> x = convnet.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    >>> w = convnet.tensor(np.ones((2, 1, 3, 3)))
    >>> F.conv2d(x, w, padding='same').shape
    (1, 2, 4, 4)
"""

from . import activation, conv, conv_transpose, layers, local, loss, pool, shape
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .conv_transpose import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .local import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from . import lecun_tanh, net_input, segmentation, weighted_pool
from .net_input import *  # noqa: F401,F403
from .lecun_tanh import *  # noqa: F401,F403
from .weighted_pool import *  # noqa: F401,F403
from .segmentation import *  # noqa: F401,F403

from . import (embedding_ops, channel_dropout, normalization, piecewise_activation,
               pointwise_loss, rearrange, smooth_activation)
from .embedding_ops import *  # noqa: F401,F403
from .channel_dropout import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .piecewise_activation import *  # noqa: F401,F403
from .pointwise_loss import *  # noqa: F401,F403
from .rearrange import *  # noqa: F401,F403
from .smooth_activation import *  # noqa: F401,F403

__all__ = (activation.__all__ + conv.__all__ + conv_transpose.__all__ + layers.__all__
           + local.__all__ + loss.__all__ + pool.__all__ + shape.__all__)
__all__ += net_input.__all__ + lecun_tanh.__all__ + weighted_pool.__all__ + segmentation.__all__
__all__ += (embedding_ops.__all__ + channel_dropout.__all__ + normalization.__all__
            + piecewise_activation.__all__ + pointwise_loss.__all__ + rearrange.__all__
            + smooth_activation.__all__)

"""The autograd graph holds nodes, not arrays (convnet/tensor.py): what it frees and when.

An intermediate result lives only while the caller or a backward closure that saved it holds
it, as in PyTorch; a leaf the caller dropped is skipped, the other leaves get their gradients.
"""

import numpy as np

import convnet


def test_an_intermediate_result_is_freed_when_only_the_graph_would_hold_it():
    """The graph keeps nodes, not data (as torch): an array no backward closure saved is
    released as soon as the caller drops it, and the gradient is unchanged."""
    import weakref

    import convnet.functional as F
    x = convnet.tensor([[-1.0, 2.0, 3.0]], requires_grad=True)
    hidden = x * 2.0
    data = weakref.ref(hidden.data)
    out = F.relu(hidden).sum()               # ReLU saves its mask, not its input
    del hidden
    assert data() is None
    out.backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 2.0, 2.0]])


def test_backward_runs_when_a_leaf_was_dropped():
    w = convnet.tensor([3.0], requires_grad=True)
    loss = (w * convnet.tensor([2.0], requires_grad=True)).sum()   # that leaf is gone
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0])
    assert w.is_leaf and not loss.is_leaf

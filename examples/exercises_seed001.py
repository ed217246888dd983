"""Seed 001's exercises, computed step by step with convnet.

    python examples/exercises_seed001.py

E8.1 and E8.2 (convolution with zero padding, then 2x2 max pooling), E8.5 (the averaging
kernel on E8.1's image), E8.6 (convolution against correlation), E8.8, P8.3 and P8.4 (the
backpropagation paths of max and average pooling, checked against finite differences).
Figures the text lost are read as convnet/filters/exercise_images.py documents.
"""

import numpy as np

import convnet
import convnet.functional as F
from convnet.filters import convolve, correlate
from convnet.filters.exercise_images import E8_1_IMAGE, E8_1_KERNEL, E8_6_KERNEL


def show(title, array):
    print(f"{title}:")
    for row in np.atleast_2d(array):
        print("   " + " ".join(f"{value:5.2f}" for value in row))


def numerical(loss, array, eps=1e-6):
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        plus = loss()
        array[index] = saved - eps
        minus = loss()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def main():
    show("E8.1 image (documented reading: an X and a bar)", E8_1_IMAGE)
    show("E8.1 kernel (a '\\' line)", E8_1_KERNEL)
    z = convolve(E8_1_IMAGE, E8_1_KERNEL, mode="same")
    show("E8.1 convolution with zero padding (3 = the whole '\\' seen)", z)
    pooled = F.max_pool2d(z[None, None], 2, 2).data[0, 0]
    show("E8.2 2x2 max pooling of it", pooled)
    box = np.full((3, 3), 1 / 9)
    show("E8.5 the 3x3 averaging kernel on E8.1's image", convolve(E8_1_IMAGE, box, mode="same"))
    image = np.arange(16.0).reshape(4, 4)
    show("E8.6 kernel", E8_6_KERNEL)
    show("E8.6 convolution of 0..15 (4x4), valid", convolve(image, E8_6_KERNEL, mode="valid"))
    show("E8.6 correlation of the same, valid", correlate(image, E8_6_KERNEL, mode="valid"))

    rng = np.random.default_rng(0)
    a = rng.standard_normal((1, 1, 4, 4))
    upstream = rng.standard_normal((1, 1, 2, 2))
    x = convnet.tensor(a, requires_grad=True)
    F.max_pool2d(x, 2, 2).backward(upstream)
    check = numerical(lambda: float((F.max_pool2d(a, 2, 2).data * upstream).sum()), a)
    show("E8.8 max pooling: dA (the gradient goes to each window's winner)", x.grad[0, 0])
    print(f"   largest difference to finite differences: {np.abs(x.grad - check).max():.1e}")
    weight = np.array([0.5])
    x = convnet.tensor(a, requires_grad=True)
    w = convnet.tensor(weight, requires_grad=True)
    F.weighted_sum_pool2d(x, w).backward(upstream)
    show("P8.3 trainable sum pooling: dA = w expanded over each window", x.grad[0, 0])
    check_a = numerical(lambda: float((F.weighted_sum_pool2d(a, weight).data * upstream).sum()), a)
    check_w = numerical(lambda: float((F.weighted_sum_pool2d(a, weight).data * upstream).sum()),
                        weight)
    print(f"P8.4 dw = sum dZ * window sums = {float(w.grad[0]):.6f} (finite differences "
          f"{float(check_w[0]):.6f}); dA difference {np.abs(x.grad - check_a).max():.1e}")


if __name__ == "__main__":
    main()

# expect: leaky_relu_backward kink-only
import numpy as np


def leaky_relu_backward(dA, cache):
    Z = cache
    dZ = dA * np.where(Z >= 0, 1, 0.01)
    return dZ

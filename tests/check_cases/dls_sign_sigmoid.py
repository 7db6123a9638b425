# expect: sigmoid_backward sign dZ
import numpy as np


def sigmoid_backward(dA, cache):
    Z = cache
    s = 1 / (1 + np.exp(-Z))
    dZ = dA * s * (s - 1)
    return dZ

# expect: sigmoid_backward wrong-value dZ
import numpy as np


def sigmoid_backward(dA, cache):
    Z = cache
    s = 1 / (1 + np.exp(-Z))
    dZ = dA * s
    return dZ

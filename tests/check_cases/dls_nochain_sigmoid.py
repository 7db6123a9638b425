# expect: sigmoid_backward no-chain-rule dZ
import numpy as np


def sigmoid_backward(dA, cache):
    Z = cache
    s = 1 / (1 + np.exp(-Z))
    dZ = s * (1 - s)  # the derivative of sigmoid
    return dZ

# expect: relu_backward mutates-input
import numpy as np


def relu_backward(dA, cache):
    Z = cache
    dZ = dA  # no copy: the next line writes into dA itself
    dZ[Z <= 0] = 0
    return dZ

# expect: relu_backward wrong-variable dZ
# Seed 000: the derivative tested on A = relu(Z), which is never negative.
import numpy as np


def relu_backward(dA, cache):
    Z = cache
    A = np.maximum(0, Z)
    dZ = dA * (np.ones(A.shape) * (A >= 0))
    return dZ

# expect: relu_backward kink-only
import numpy as np


def relu_backward(dA, cache):
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z < 0] = 0  # relu'(0) = 1, as the lecture's "1 if Z >= 0"
    return dZ

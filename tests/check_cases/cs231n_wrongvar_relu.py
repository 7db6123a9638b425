# expect: relu_backward wrong-variable dx
import numpy as np


def relu_backward(dout, cache):
    x = cache
    out = np.maximum(0, x)
    dx = dout * (out >= 0)
    return dx

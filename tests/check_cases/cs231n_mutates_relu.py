# expect: relu_backward mutates-input
import numpy as np


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    dx, x = dout, cache
    dx[x <= 0] = 0
    return dx

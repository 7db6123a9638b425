# expect: relu_backward no-chain-rule dx
import numpy as np


def relu_backward(dout, cache):
    x = cache
    dx = (x > 0).astype(float)
    return dx

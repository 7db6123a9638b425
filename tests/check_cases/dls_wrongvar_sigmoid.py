# expect: sigmoid_backward wrong-variable dZ
import numpy as np


def sigmoid_backward(dA, cache):
    A = cache
    dZ = dA * A * (1 - A)
    return dZ

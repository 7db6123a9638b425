# expect: affine_relu_backward wrong-variable dx
import numpy as np


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    out = np.maximum(0, relu_cache)
    da = dout * (out >= 0)
    return affine_backward(da, fc_cache)

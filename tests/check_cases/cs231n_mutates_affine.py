# expect: affine_backward mutates-input
import numpy as np


def affine_backward(dout, cache):
    x, w, b = cache
    shape = x.shape
    x.shape = (x.shape[0], -1)
    dx = dout.dot(w.T).reshape(shape)
    dw = x.T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db

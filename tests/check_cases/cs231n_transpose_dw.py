# expect: affine_backward transpose dw
import numpy as np


def affine_backward(dout, cache):
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx = dout.dot(w.T).reshape(x.shape)
    dw = dout.T.dot(x_rows)
    db = np.sum(dout, axis=0)
    return dx, dw, db

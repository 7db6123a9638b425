# expect: affine_relu_backward transpose dw
import numpy as np


def affine_relu_backward(dout, cache):
    (x, w, b), a = cache
    da = dout * (a > 0)
    x_rows = x.reshape(x.shape[0], -1)
    dx = np.dot(da, w.T).reshape(x.shape)
    dw = np.dot(da.T, x_rows)  # as in the DLS course: dW = dZ · A_prevᵀ
    db = np.sum(da, axis=0)
    return dx, dw, db

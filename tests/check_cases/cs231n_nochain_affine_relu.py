# expect: affine_relu_backward no-chain-rule dx
import numpy as np


def affine_relu_backward(dout, cache):
    (x, w, b), a = cache
    da = np.where(a > 0, dout, 0.0)
    da[a <= 0] = 1e-3  # a small slope where the ReLU is off
    N = x.shape[0]
    dx = da.dot(w.T).reshape(x.shape)
    dw = x.reshape(N, -1).T.dot(da)
    db = da.sum(axis=0)
    return dx, dw, db

# expect: all ok
# Written another way: affine_relu_backward inline, softmax through log-sum-exp, svm with masks.
import numpy as np


def affine_relu_forward(x, w, b):
    a = x.reshape(x.shape[0], -1) @ w + b
    return np.maximum(a, 0), ((x, w, b), a)


def affine_relu_backward(dout, cache):
    (x, w, b), a = cache
    da = np.where(a > 0, dout, 0.0)
    dx = (da @ w.T).reshape(x.shape)
    dw = x.reshape(len(x), -1).T @ da
    return dx, dw, da.sum(axis=0)


def softmax_loss(x, y):
    N = len(y)
    m = x.max(axis=1, keepdims=True)
    log_p = x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(N), y].mean()
    dx = np.exp(log_p)
    dx[np.arange(N), y] -= 1
    return loss, dx / N


def svm_loss(x, y):
    N = len(y)
    margins = x - x[np.arange(N), y][:, None] + 1
    active = (margins > 0) & (np.arange(x.shape[1]) != y[:, None])
    loss = margins[active].sum() / N
    dx = active.astype(float)
    dx[np.arange(N), y] = -active.sum(axis=1)
    return loss, dx / N

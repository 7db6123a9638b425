# expect: softmax_loss scale dx factor=5
import numpy as np


def softmax_loss(x, y):
    N = x.shape[0]
    exp = np.exp(x - x.max(axis=1, keepdims=True))
    probs = exp / exp.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx

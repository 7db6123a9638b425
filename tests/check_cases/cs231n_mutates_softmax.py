# expect: softmax_loss mutates-input
import numpy as np


def softmax_loss(x, y):
    N = x.shape[0]
    x -= np.max(x, axis=1, keepdims=True)  # for numeric stability
    probs = np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx

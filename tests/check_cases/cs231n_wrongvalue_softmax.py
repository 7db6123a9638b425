# expect: softmax_loss wrong-value dx
import numpy as np


def softmax_loss(x, y):
    N = x.shape[0]
    probs = np.exp(x - x.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    dx = probs / N  # forgot the one-hot
    return loss, dx

# expect: svm_loss sign dx
import numpy as np


def svm_loss(x, y):
    N = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(N), y][:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    dx = np.zeros_like(x)
    dx[margins > 0] = -1
    dx[np.arange(N), y] += np.sum(margins > 0, axis=1)
    return loss, dx / N

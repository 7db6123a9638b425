# expect: svm_loss kink-only
import numpy as np


def svm_loss(x, y):
    N = x.shape[0]
    margins = x - x[np.arange(N), y][:, None] + 1
    margins[np.arange(N), y] = -1  # the correct class never counts
    active = margins >= 0
    loss = np.sum(margins[margins > 0]) / N
    dx = active.astype(float)
    dx[np.arange(N), y] = -np.sum(active, axis=1)
    return loss, dx / N

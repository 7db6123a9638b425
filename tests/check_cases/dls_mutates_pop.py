# expect: L_model_backward mutates-input
import numpy as np


def linear_activation_backward(dA, cache, activation):
    (A_prev, W, b), Z = cache
    if activation == "relu":
        dZ = np.array(dA, copy=True)
        dZ[Z <= 0] = 0
    else:
        s = 1 / (1 + np.exp(-Z))
        dZ = dA * s * (1 - s)
    m = A_prev.shape[1]
    return np.dot(W.T, dZ), np.dot(dZ, A_prev.T) / m, np.sum(dZ, axis=1, keepdims=True) / m


def L_model_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    dA = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    activation = "sigmoid"
    for l in range(L, 0, -1):
        current_cache = caches.pop()
        dA, grads["dW" + str(l)], grads["db" + str(l)] = linear_activation_backward(
            dA, current_cache, activation)
        grads["dA" + str(l - 1)] = dA
        activation = "relu"
    return grads

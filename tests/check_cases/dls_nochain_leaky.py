# expect: leaky_relu_backward no-chain-rule dZ
# Seed 003: dZ is set to 0.01 where Z <= 0 instead of multiplied by it.
import numpy as np


def leaky_relu_backward(dA, cache):
    """
    The backward propagation for a single leaky RELU unit.
    """
    Z = cache
    # just converting dz to a correct object.
    dZ = np.array(dA, copy=True)
    # When z <= 0, we should set dz to .01
    dZ[Z <= 0] = .01
    return dZ

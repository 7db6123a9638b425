"""autograd_lite: a small autodiff engine that shows the chain rule.

>>> import autograd_lite as ag
>>> w, x = ag.Value(2.0, "w"), ag.Value(3.0, "x")
>>> L = (w * x).relu()
>>> L.backward()
>>> w.grad
3.0
"""

from . import (
    datasets,
    kernels,  # noqa: E402,F401,I001 -- attaches the hand-tuned forms (kernels.py)
    nn,
    numpy_api,  # noqa: F401 -- np.sum(v), np.exp(v), ... on Values (numpy_api.py)
)
from .check import check
from .explain import Kink, explain, kinks
from .functions import (
    avg_pool2d,
    concatenate,
    conv2d,
    expand_dims,
    is_grad_enabled,
    log_softmax,
    logsumexp,
    max_pool2d,
    maximum,
    minimum,
    no_grad,
    softmax,
    stack,
    where,
)
from .gradcheck import GradcheckError, gradcheck
from .gradients import grad
from .growing import GrowingGraphWarning
from .losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .ops import custom_op
from .policy import get_relu_subgradient, relu_subgradient
from .replay import replay
from .sensitivity import subgradient_sensitivity
from .value import Value, abs, clip, exp, leaky_relu, log, relu, sigmoid, sqrt, tanh
from .viz import draw, render

__version__ = "0.1.0"

__all__ = [
    "GradcheckError", "GrowingGraphWarning", "Kink", "Value", "abs", "avg_pool2d",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "check", "clip", "concatenate",
    "conv2d", "cross_entropy", "custom_op", "datasets", "draw", "exp", "expand_dims", "explain",
    "get_relu_subgradient", "grad", "gradcheck", "is_grad_enabled", "kinks", "leaky_relu", "log",
    "log_softmax", "logsumexp", "max_pool2d", "maximum", "minimum", "mse_loss", "nn", "no_grad",
    "relu", "relu_subgradient", "render", "replay", "sigmoid", "softmax", "sqrt", "stack",
    "subgradient_sensitivity", "tanh", "where",
]

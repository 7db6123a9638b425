"""Networks and optimisers: ``Module``, ``Linear``, ``MLP``, ``SGD``, ``Adam``.

A layer is called on a batch, one sample per row: ``Z = X @ W + b`` with ``W`` of shape
``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``. ``X`` may be a NumPy array (a constant:
no dL/dX is computed) or a ``Value``. Parameters are labelled ``W1, b1, W2, ...`` and the
layer outputs ``Z1, A1, Z2, ...`` (Andrew Ng's notation), so pictures of the graph read
like the formulas.

Initialisation (weights ~ N(0, std²), biases 0), chosen by ``init``:

* ``"he"``     -- std = sqrt(2 / n_in) (He et al., 2015), for ReLU and leaky ReLU;
* ``"glorot"`` -- std = sqrt(2 / (n_in + n_out)) (Glorot and Bengio, 2010), for tanh and
  sigmoid;
* ``"lecun"``  -- std = sqrt(1 / n_in) (LeCun et al., 1998).

Draws come from ``numpy.random.default_rng(seed)``: the same seed gives the same network.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .policy import check_real
from .shapes import FLOAT_DTYPES, as_data
from .value import Value

__all__ = ["Adam", "Linear", "MLP", "Module", "SGD", "ACTIVATIONS", "INITS"]

INITS: dict[str, Callable[[int, int], float]] = {
    "he": lambda n_in, n_out: math.sqrt(2.0 / n_in),
    "glorot": lambda n_in, n_out: math.sqrt(2.0 / (n_in + n_out)),
    "lecun": lambda n_in, n_out: math.sqrt(1.0 / n_in),
}

#: The hidden activations an :class:`MLP` accepts by name, and the initialisation each gets.
ACTIVATIONS: dict[str, str] = {"relu": "he", "leaky_relu": "he", "tanh": "glorot",
                               "sigmoid": "glorot"}


def _size(n: object, what: str) -> int:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def _rng(seed: object) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
                        and seed >= 0):
        return np.random.default_rng(seed)  # type: ignore[arg-type]
    raise ValueError(f"seed must be None, a non-negative integer or a numpy Generator, "
                     f"got {seed!r}")


def _dtype(dtype: object) -> np.dtype:
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        dt = None
    if dt is None or dt not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be float16, float32 or float64, got {dtype!r}")
    return dt


def _init(init: object) -> str:
    if init not in INITS:
        raise ValueError(f"init must be one of {sorted(INITS)}, got {init!r}")
    return init  # type: ignore[return-value]


class Module:
    """Base class of layers and networks: finds its parameters, resets their gradients.

    ``parameters()`` collects, in the order they were assigned, every ``Value`` attribute
    and the parameters of every ``Module`` attribute (also inside lists and tuples), so a
    subclass only assigns its pieces and defines ``forward``.

    Examples
    --------
    >>> import numpy as np, autograd_lite as ag
    >>> class Affine(ag.nn.Module):
    ...     def __init__(self):
    ...         self.w, self.b = ag.Value(2.0, "w"), ag.Value(1.0, "b")
    ...     def forward(self, x):
    ...         return self.w * x + self.b
    >>> f = Affine()
    >>> [p.label for p in f.parameters()]
    ['w', 'b']
    >>> f(3.0).data
    7.0
    """

    def forward(self, x: Any) -> Value:
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")

    def __call__(self, x: Any) -> Value:
        return self.forward(x)

    def parameters(self) -> list[Value]:
        """Every trainable ``Value`` of this module and its sub-modules, each once."""
        found: list[Value] = []
        seen: set[int] = set()
        stack: list[Any] = [iter(vars(self).values())]
        while stack:  # an explicit stack: no recursion, however deep the nesting
            item = next(stack[-1], _DONE)
            if item is _DONE:
                stack.pop()
            elif isinstance(item, Value):
                if id(item) not in seen:
                    seen.add(id(item))
                    found.append(item)
            elif isinstance(item, Module):
                stack.append(iter(vars(item).values()))
            elif isinstance(item, list | tuple):
                stack.append(iter(item))
        return found

    def zero_grad(self) -> None:
        """Reset ``.grad`` of every parameter to zero."""
        for p in self.parameters():
            p.zero_grad()


_DONE = object()


class Linear(Module):
    """A fully connected layer ``Z = X @ W + b`` on a batch ``X`` of shape ``(batch, n_in)``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output features. ``W`` has shape ``(n_in, n_out)``, ``b`` ``(n_out,)``.
    seed : int, numpy.random.Generator or None
        Seeds the weight draw (see the module docstring for ``init``).
    init : {"he", "glorot", "lecun"}
        The weight scale; biases start at 0.
    name : str
        Suffix of the labels: ``W{name}``, ``b{name}`` and the output ``Z{name}``.
    dtype : float16, float32 or float64
        The parameters' dtype. An array batch is converted to it; a ``Value`` batch is used
        as it is.

    Examples
    --------
    >>> import numpy as np, autograd_lite as ag
    >>> layer = ag.nn.Linear(3, 2, seed=0, name="1")
    >>> Z = layer(np.ones((4, 3)))
    >>> Z.shape, Z.label, [p.label for p in layer.parameters()]
    ((4, 2), 'Z1', ['W1', 'b1'])
    >>> Z.sum().backward()
    >>> layer.b.grad
    array([4., 4.])
    """

    def __init__(self, n_in: int, n_out: int, seed: Any = None, *, init: str = "he",
                 name: str = "", dtype: Any = np.float64) -> None:
        self.n_in, self.n_out = _size(n_in, "n_in"), _size(n_out, "n_out")
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        self.init, self.name, self.dtype = _init(init), name, _dtype(dtype)
        std = INITS[self.init](self.n_in, self.n_out)
        w = _rng(seed).normal(0.0, std, (self.n_in, self.n_out))
        self.W = Value(w.astype(self.dtype), f"W{name}")
        self.b = Value(np.zeros(self.n_out, dtype=self.dtype), f"b{name}")

    def forward(self, x: Any) -> Value:
        if isinstance(x, Value):
            shape = x.shape
        else:
            try:
                x = np.asarray(as_data(x, "the input of a Linear layer"), dtype=self.dtype)
            except TypeError as e:
                raise TypeError(f"{e}; a Linear layer takes an array or a Value of shape "
                                f"(batch, {self.n_in})") from None
            shape = x.shape
        if len(shape) not in (1, 2) or shape[-1] != self.n_in:
            raise ValueError(f"a Linear({self.n_in}, {self.n_out}) layer takes a batch of shape "
                             f"(batch, {self.n_in}) or one sample of shape ({self.n_in},), "
                             f"got shape {shape}")
        z = x @ self.W + self.b
        z.label = f"Z{self.name}"
        return z

    def __repr__(self) -> str:
        return f"Linear({self.n_in}, {self.n_out}, init={self.init!r}, name={self.name!r})"


class MLP(Module):
    """A multilayer perceptron: Linear layers with an activation between them, linear last.

    ``MLP([2, 16, 1])`` computes ``Z1 = X @ W1 + b1``, ``A1 = relu(Z1)``,
    ``Z2 = A1 @ W2 + b2`` and returns ``Z2`` (logits or regression outputs: put the output
    activation or the loss on top yourself).

    Parameters
    ----------
    sizes : sequence of int
        Widths from the input to the output, at least two.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid"} or callable
        The hidden activation. A callable ``Value -> Value`` (e.g. a custom op) is used as
        it is.
    seed : int, numpy.random.Generator or None
        One generator draws every layer in order: the same seed, the same network.
    relu_subgradient : float in [0, 1] or None
        relu'(0) for the hidden ReLUs. ``None`` takes :func:`autograd_lite.relu_subgradient`'s
        setting when the network is *called* (0 unless a ``with`` block says otherwise).
    slope : float
        The negative slope of ``"leaky_relu"``.
    init : {"he", "glorot", "lecun"} or None
        ``None`` picks He for ReLU, leaky ReLU and callables, Glorot for tanh and sigmoid.
    dtype : float16, float32 or float64
        The parameters' dtype.

    Examples
    --------
    >>> import numpy as np, autograd_lite as ag
    >>> net = ag.nn.MLP([2, 3, 1], seed=0)
    >>> out = net(np.zeros((5, 2)))
    >>> out.shape, out.label, [p.label for p in net.parameters()]
    ((5, 1), 'Z2', ['W1', 'b1', 'W2', 'b2'])
    >>> with ag.relu_subgradient(1.0):
    ...     out = net(np.zeros((5, 2)))     # every hidden Z is exactly 0 here
    >>> [str(k) for k in ag.kinks(out)]
    ["relu 'A1': 15 of 15 inputs exactly 0 (relu'(0) = 1)"]
    """

    def __init__(self, sizes: Sequence[int], activation: str | Callable[[Value], Value] = "relu",
                 seed: Any = None, *, relu_subgradient: float | None = None,
                 slope: float = 0.01, init: str | None = None, dtype: Any = np.float64) -> None:
        try:
            widths = None if isinstance(sizes, str | bytes) else list(sizes)
        except TypeError:
            widths = None
        if widths is None or len(widths) < 2:
            raise ValueError(f"sizes must be a list of at least two layer widths, e.g. "
                             f"[2, 16, 1], got {sizes!r}")
        self.sizes = [_size(n, f"sizes[{i}]") for i, n in enumerate(widths)]
        if callable(activation):
            self.activation = getattr(activation, "__name__", "custom")
            self._act = activation
        elif activation in ACTIVATIONS:
            self.activation, self._act = activation, None
        else:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or a function "
                             f"Value -> Value, got {activation!r}")
        if relu_subgradient is not None:
            if activation != "relu":
                raise ValueError(f"relu_subgradient applies to activation='relu', not "
                                 f"{activation!r}")
            relu_subgradient = check_real(relu_subgradient, "relu_subgradient (relu'(0))", 0, 1)
        self.relu_subgradient = relu_subgradient
        self.slope = check_real(slope, "slope")
        if init is None:
            init = ACTIVATIONS.get(activation, "he") if isinstance(activation, str) else "he"
        rng = _rng(seed)
        self.layers = [Linear(a, b, rng, init=init, name=str(i + 1), dtype=dtype)
                       for i, (a, b) in enumerate(zip(self.sizes, self.sizes[1:]))]

    def _activate(self, z: Value) -> Value:
        if self._act is not None:
            a = self._act(z)
            if not isinstance(a, Value):
                raise TypeError(f"the activation must return a Value, got {type(a).__name__}")
            return a
        if self.activation == "relu":
            return z.relu(self.relu_subgradient)
        if self.activation == "leaky_relu":
            return z.leaky_relu(self.slope)
        return z.tanh() if self.activation == "tanh" else z.sigmoid()

    def forward(self, x: Any) -> Value:
        *hidden, last = self.layers
        for layer in hidden:
            a = self._activate(layer(x))
            a.label = f"A{layer.name}"
            x = a
        return last(x)

    def __iter__(self) -> Iterator[Linear]:
        return iter(self.layers)

    def __repr__(self) -> str:
        return f"MLP({self.sizes}, activation={self.activation!r})"


def _params(params: Iterable[Value]) -> list[Value]:
    if isinstance(params, Module):
        params = params.parameters()
    try:
        ps = list(params)
    except TypeError:
        raise TypeError("params must be an iterable of Values, e.g. net.parameters()") from None
    if not ps:
        raise ValueError("params is empty: there is nothing to optimise")
    for i, p in enumerate(ps):
        if not isinstance(p, Value):
            raise TypeError(f"params[{i}] is a {type(p).__name__}, not a Value")
    if len({id(p) for p in ps}) != len(ps):
        raise ValueError("params lists a Value twice; it would be updated twice per step")
    return ps


def _lr(lr: object) -> float:
    v = check_real(lr, "lr (the learning rate)")
    if v <= 0:
        raise ValueError(f"lr (the learning rate) must be > 0, got {lr!r}")
    return v


class _Optimizer:
    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params, self.lr = _params(params), _lr(lr)

    def zero_grad(self) -> None:
        """Reset ``.grad`` of every parameter to zero (call it before each backward)."""
        for p in self.params:
            p.zero_grad()

    @staticmethod
    def _update(p: Value, delta: Any) -> None:
        if type(p.data) is float:
            p.data = p.data - float(delta)
        else:
            p.data -= np.asarray(delta, dtype=p.data.dtype)  # in place: keeps the dtype


class SGD(_Optimizer):
    """Plain gradient descent: ``W ← W − lr · dL/dW`` for every parameter.

    ``params`` is a list of Values or a Module. Gradients add up across backward calls, so
    call ``zero_grad()`` before each one.

    Examples
    --------
    >>> import autograd_lite as ag
    >>> w = ag.Value(3.0, "w")
    >>> opt = ag.nn.SGD([w], lr=0.25)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (w * w).backward()     # dL/dw = 2w
    ...     opt.step()             # w ← w − 0.25 · 2w = w / 2
    >>> w.data
    0.375
    """

    def step(self) -> None:
        """Move every parameter against its gradient."""
        lr = self.lr
        for p in self.params:
            self._update(p, lr * p.grad)


class Adam(_Optimizer):
    """Adam (Kingma and Ba, 2015): per-parameter steps from running gradient moments.

    ``m ← β1·m + (1 − β1)·g``, ``v ← β2·v + (1 − β2)·g²``, and
    ``W ← W − lr · m̂ / (sqrt(v̂) + eps)`` with the bias-corrected ``m̂, v̂``. The moments are
    kept in float64 whatever the parameters' dtype.

    Examples
    --------
    >>> import autograd_lite as ag
    >>> w = ag.Value(1.0, "w")
    >>> opt = ag.nn.Adam([w], lr=0.1)
    >>> opt.zero_grad(); (w * w).backward(); opt.step()
    >>> round(w.data, 6)     # the first step has length lr, whatever the gradient's size
    0.9
    """

    def __init__(self, params: Iterable[Value], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        if not (isinstance(betas, tuple | list) and len(betas) == 2):
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(check_real(b, "each of betas", 0.0, 0.999999999) for b in betas)
        self.eps = check_real(eps, "eps")
        if self.eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.t = 0
        self._m = [np.zeros(p.shape) for p in self.params]
        self._v = [np.zeros(p.shape) for p in self.params]

    def step(self) -> None:
        """One Adam update of every parameter."""
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for p, m, v in zip(self.params, self._m, self._v):
            g = np.asarray(p.grad, dtype=np.float64)
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            self._update(p, self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps))

"""Networks and optimisers: ``Module``, ``Linear``, ``MLP``, ``SGD``, ``Adam``, and layers with
PyTorch's names and semantics: ``Sequential``, ``ReLU``, ``Tanh``, ``Sigmoid``, ``Flatten``,
``Dropout``, ``BatchNorm1d``, ``LayerNorm``, ``Conv2d``, ``MaxPool2d``. Every layer is built
from recorded ops, so its picture shows each step (BatchNorm's mean, variance and square root
included) and backward needs no rule of its own. ``.train()`` and ``.eval()`` switch every
module and sub-module; only Dropout and BatchNorm1d behave differently in the two modes.

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

from . import ops
from .functions import _pair, conv2d, max_pool2d
from .policy import check_real
from .shapes import FLOAT_DTYPES, as_data, shape_of
from .value import Value, apply, relu, sigmoid, sqrt, tanh

__all__ = ["Adam", "BatchNorm1d", "Conv2d", "Dropout", "Flatten", "LayerNorm", "Linear",
           "MaxPool2d", "MLP", "Module", "ReLU", "SGD", "Sequential", "Sigmoid", "Tanh",
           "ACTIVATIONS", "INITS"]

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


def _name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    return name


def _positive(value: object, what: str) -> float:
    v = check_real(value, what)
    if v <= 0:
        raise ValueError(f"{what} must be > 0, got {value!r}")
    return v


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

    training: bool = True  #: set by :meth:`train` and :meth:`eval` (a class default: True)

    def forward(self, x: Any) -> Value:
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")

    def __call__(self, x: Any) -> Value:
        return self.forward(x)

    def _walk(self) -> Iterator[Any]:
        """Every Value and sub-Module reachable from this module's attributes, each once, in
        the order they were assigned (also inside lists and tuples)."""
        seen: set[int] = {id(self)}
        stack: list[Any] = [iter(vars(self).values())]
        while stack:  # an explicit stack: no recursion, however deep the nesting
            item = next(stack[-1], _DONE)
            if item is _DONE:
                stack.pop()
            elif isinstance(item, Value | Module):
                if id(item) not in seen:
                    seen.add(id(item))
                    yield item
                    if isinstance(item, Module):
                        stack.append(iter(vars(item).values()))
            elif isinstance(item, list | tuple):
                stack.append(iter(item))

    def parameters(self) -> list[Value]:
        """Every trainable ``Value`` of this module and its sub-modules, each once."""
        return [v for v in self._walk() if isinstance(v, Value)]

    def modules(self) -> list[Module]:
        """This module and every sub-module, each once (PyTorch's ``modules()``)."""
        return [self, *(m for m in self._walk() if isinstance(m, Module))]

    def zero_grad(self) -> None:
        """Reset ``.grad`` of every parameter to zero."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Training mode (``mode=True``) or evaluation mode for this module and every
        sub-module; returns the module. Only :class:`Dropout` and :class:`BatchNorm1d`
        behave differently in the two modes."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) takes True or False, got {mode!r}")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): Dropout is the identity, BatchNorm1d uses its
        running statistics. Returns the module."""
        return self.train(False)

    def extra_repr(self) -> str:
        """What ``repr`` shows inside the parentheses (PyTorch's hook)."""
        return ""

    def _named_children(self) -> list[tuple[str, Module]]:
        kids: list[tuple[str, Module]] = []
        for name, item in vars(self).items():
            if isinstance(item, Module):
                kids.append((name, item))
            elif isinstance(item, list | tuple):
                kids += [(f"{name}.{i}", m) for i, m in enumerate(item) if isinstance(m, Module)]
        return kids

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        kids = self._named_children()
        if not kids:
            return head + ")"
        lines = [f"  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in kids]
        return "\n".join([head, *lines, ")"])


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
        self.init, self.name, self.dtype = _init(init), _name(name), _dtype(dtype)
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


# --- layers with PyTorch's names and semantics (torch.nn) -------------------------------------

def _input(x: Any, layer: Module, expect: str, dtype: Any = None) -> tuple[Any, tuple[int, ...]]:
    """``x`` as a Value or engine data (an array is a constant, converted to the layer's
    ``dtype`` when it has one), with its shape."""
    if isinstance(x, Value):
        return x, x.shape
    try:
        d = as_data(x, f"the input of {type(layer).__name__}")
    except TypeError as e:
        raise TypeError(f"{e}; {layer!r} takes an array or a Value of shape {expect}") from None
    if dtype is not None and type(d) is not float:
        d = d.astype(dtype, copy=False)
    return d, shape_of(d)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Value) else x


class Sequential(Module):
    """The layers applied one after the other: ``Sequential(a, b, c)(x)`` is ``c(b(a(x)))``.

    Indexing gives a layer (a slice: a Sequential of those layers), ``len`` their number;
    ``train()`` and ``eval()`` reach every layer, ``parameters()`` collects theirs in order.

    Examples
    --------
    >>> import numpy as np, autograd_lite as ag
    >>> net = ag.nn.Sequential(ag.nn.Linear(4, 8, seed=0, name="1"), ag.nn.ReLU(),
    ...                        ag.nn.Dropout(0.2, seed=0), ag.nn.Linear(8, 3, seed=1, name="2"))
    >>> net
    Sequential(
      (0): Linear(4, 8, init='he', name='1')
      (1): ReLU()
      (2): Dropout(p=0.2)
      (3): Linear(8, 3, init='he', name='2')
    )
    >>> net(np.ones((5, 4))).shape, [p.label for p in net.parameters()]
    ((5, 3), ['W1', 'b1', 'W2', 'b2'])
    >>> net.eval() is net, net[2].training
    (True, False)
    """

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                hint = (f" (the class itself: write {layer.__name__}())"
                        if isinstance(layer, type) and issubclass(layer, Module) else "")
                raise TypeError(f"Sequential takes Modules (ag.nn.Linear(...), ag.nn.ReLU(), "
                                f"...); layer {i} is a {type(layer).__name__}{hint}")
        self.layers = list(layers)

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i: int | slice) -> Any:
        return Sequential(*self.layers[i]) if isinstance(i, slice) else self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def _named_children(self) -> list[tuple[str, Module]]:
        return [(str(i), m) for i, m in enumerate(self.layers)]


class ReLU(Module):
    """``relu(x)`` elementwise; relu'(0) = ``subgradient`` (default: the context's, 0).

    >>> import numpy as np, autograd_lite as ag
    >>> ag.nn.ReLU()(np.array([-1.0, 0.0, 2.0])).data
    array([0., 0., 2.])
    """

    def __init__(self, subgradient: float | None = None) -> None:
        self.subgradient = None if subgradient is None else check_real(
            subgradient, "subgradient (relu'(0))", 0.0, 1.0)

    def forward(self, x: Any) -> Value:
        return relu(x, self.subgradient)

    def extra_repr(self) -> str:
        return "" if self.subgradient is None else f"subgradient={self.subgradient:g}"


class Tanh(Module):
    """``tanh(x)`` elementwise."""

    def forward(self, x: Any) -> Value:
        return tanh(x)


class Sigmoid(Module):
    """``1 / (1 + exp(−x))`` elementwise."""

    def forward(self, x: Any) -> Value:
        return sigmoid(x)


def _dim(d: object, what: str) -> int:
    if not isinstance(d, numbers.Integral) or isinstance(d, bool):
        raise TypeError(f"{what} must be an integer (an axis), got {d!r}")
    return int(d)


class Flatten(Module):
    """Axes ``start_dim`` to ``end_dim`` merged into one (a reshape): by default every axis
    but the batch axis, so ``(N, C, H, W)`` becomes ``(N, C·H·W)``.

    >>> import numpy as np, autograd_lite as ag
    >>> ag.nn.Flatten()(np.zeros((2, 8, 4, 4))).shape
    (2, 128)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = _dim(start_dim, "start_dim"), _dim(end_dim, "end_dim")

    def forward(self, x: Any) -> Value:
        x, shape = _input(x, self, "(batch, ...)")
        n = len(shape)
        s, e = self.start_dim, self.end_dim
        s, e = s + n if s < 0 else s, e + n if e < 0 else e
        if not (0 <= s < n and 0 <= e < n) or s > e:
            raise ValueError(f"{self!r} cannot flatten an input of shape {shape}: start_dim and "
                             f"end_dim must be axes of it, start_dim <= end_dim")
        new = (*shape[:s], math.prod(shape[s:e + 1]), *shape[e + 1:])
        return apply(ops.RESHAPE, x, shape=new)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Inverted dropout: in training each element is zeroed with probability ``p`` and the
    others are scaled by ``1/(1 − p)``, so the expected output is the input; in evaluation
    mode (``.eval()``) the layer is the identity.

    The mask is drawn anew at each call from ``numpy.random.default_rng(seed)`` (the same
    seed, the same sequence of masks) and enters the graph as a constant: no gradient is
    computed for it; ``dL/dx = mask · dL/dout``. The last mask is kept as ``.mask``; pass
    ``constants={"mask": layer.mask}`` to :func:`autograd_lite.draw` or
    :func:`autograd_lite.explain` to have it named in the picture.

    Parameters
    ----------
    p : float in [0, 1)
        The probability of zeroing an element.
    seed : int, numpy.random.Generator or None
        Seeds the masks.

    Examples
    --------
    >>> import numpy as np, autograd_lite as ag
    >>> drop = ag.nn.Dropout(0.5, seed=0)
    >>> x = ag.Value(np.ones(6), "x")
    >>> out = drop(x); out.data
    array([2., 0., 0., 0., 2., 2.])
    >>> out.sum().backward(); x.grad          # the mask times 1
    array([2., 0., 0., 0., 2., 2.])
    >>> drop.eval()(x) is x
    True
    """

    def __init__(self, p: float = 0.5, seed: Any = None) -> None:
        self.p = check_real(p, "p (the probability of zeroing an element)", 0.0, 1.0)
        if self.p == 1.0:
            raise ValueError("p (the probability of zeroing an element) must be in [0, 1): "
                             "p = 1 zeroes everything and leaves 1/(1 − p) undefined")
        self._rng = _rng(seed)
        self.mask: np.ndarray | None = None

    def forward(self, x: Any) -> Any:
        if not self.training or self.p == 0.0:
            return x
        x, shape = _input(x, self, "(...)")
        dtype = np.result_type(_data(x))
        keep = self._rng.random(shape) >= self.p
        self.mask = keep.astype(dtype) / dtype.type(1.0 - self.p)
        return apply(ops.MUL, x, self.mask)

    def extra_repr(self) -> str:
        return f"p={self.p:g}"


class BatchNorm1d(Module):
    """Batch normalisation (Ioffe and Szegedy, 2015) of ``n`` features, as PyTorch's.

    On a batch of shape ``(N, n)`` (or ``(N, n, L)``) in training mode, each feature is
    normalised by the batch's mean and biased variance, ``x̂ = (x − mean) / sqrt(var + eps)``,
    and ``out = γ·x̂ + β``; the gradient flows through the mean and the variance too. Each
    training call also updates the running statistics: ``running = (1 − momentum)·running +
    momentum·batch``, with the *unbiased* variance for ``running_var`` (``momentum=None``:
    the cumulative average). In evaluation mode (``.eval()``) the running statistics are used
    (constants). ``γ`` (``.weight``, ones) and ``β`` (``.bias``, zeros) are the parameters;
    ``running_mean``, ``running_var`` and ``num_batches_tracked`` are plain arrays.

    Parameters
    ----------
    n : int
        The number of features (``num_features``).
    eps : float
        Added to the variance (1e-5).
    momentum : float in [0, 1] or None
        The weight of the batch in the running statistics (0.1).
    name : str
        Suffix of the labels ``γ{name}``, ``β{name}``.
    dtype : float16, float32 or float64

    Examples
    --------
    >>> import numpy as np, autograd_lite as ag
    >>> bn = ag.nn.BatchNorm1d(2)
    >>> out = bn(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> out.data.round(4)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> bn.running_mean, bn.running_var
    (array([0.2, 2. ]), array([ 1.1, 20.9]))
    """

    def __init__(self, n: int, eps: float = 1e-5, momentum: float | None = 0.1, *,
                 name: str = "", dtype: Any = np.float64) -> None:
        self.num_features = _size(n, "n (the number of features)")
        self.eps = _positive(eps, "eps")
        self.momentum = None if momentum is None else check_real(momentum, "momentum", 0.0, 1.0)
        self.name, self.dtype = _name(name), _dtype(dtype)
        self.weight = Value(np.ones(self.num_features, dtype=self.dtype), f"γ{name}")
        self.bias = Value(np.zeros(self.num_features, dtype=self.dtype), f"β{name}")
        self.running_mean = np.zeros(self.num_features, dtype=self.dtype)
        self.running_var = np.ones(self.num_features, dtype=self.dtype)
        self.num_batches_tracked = 0

    def forward(self, x: Any) -> Value:
        n = self.num_features
        x, shape = _input(x, self, f"(batch, {n}) or (batch, {n}, length)", self.dtype)
        if len(shape) not in (2, 3) or shape[1] != n:
            raise ValueError(f"{self!r} takes a batch of shape (batch, {n}) or "
                             f"(batch, {n}, length), got shape {shape}")
        axes, fit = ((0,), (n,)) if len(shape) == 2 else ((0, 2), (n, 1))
        count = shape[0] * (1 if len(shape) == 2 else shape[2])
        if not self.training:
            mean = self.running_mean.reshape(fit)
            xhat = (x - mean) / np.sqrt(self.running_var + self.eps).reshape(fit)
        elif count < 2:
            raise ValueError(f"{self!r} in training mode needs more than one value per feature "
                             f"for the batch statistics, got shape {shape}; call .eval() to "
                             f"use the running statistics")
        else:
            mean = x.mean(axis=axes, keepdims=True)
            d = x - mean
            var = (d * d).mean(axis=axes, keepdims=True)
            xhat = d / sqrt(var + self.eps)
            self._track(_data(mean).reshape(n), _data(var).reshape(n) * (count / (count - 1)))
        return xhat * self.weight.reshape(fit) + self.bias.reshape(fit)

    def _track(self, mean: np.ndarray, var: np.ndarray) -> None:
        self.num_batches_tracked += 1
        m = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        self.running_mean = (1 - m) * self.running_mean + m * mean.astype(self.dtype)
        self.running_var = (1 - m) * self.running_var + m * var.astype(self.dtype)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum}"


class LayerNorm(Module):
    """Layer normalisation (Ba et al., 2016) over the last axes, as PyTorch's.

    Each sample is normalised over its last ``len(normalized_shape)`` axes (for an int ``n``:
    the last axis, of size ``n``) by its own mean and biased variance, ``out = γ·(x − mean) /
    sqrt(var + eps) + β``, the same in training and evaluation. ``γ`` (``.weight``, ones) and
    ``β`` (``.bias``, zeros) have shape ``normalized_shape``.

    Examples
    --------
    >>> import numpy as np, autograd_lite as ag
    >>> ln = ag.nn.LayerNorm(3)
    >>> ln(np.array([[1.0, 2.0, 3.0]])).data.round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, *,
                 name: str = "", dtype: Any = np.float64) -> None:
        dims = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) \
            else normalized_shape
        if not isinstance(dims, tuple | list) or not dims:
            raise ValueError(f"normalized_shape must be a positive integer or a non-empty "
                             f"tuple of them, got {normalized_shape!r}")
        self.normalized_shape = tuple(_size(d, "normalized_shape") for d in dims)
        self.eps = _positive(eps, "eps")
        self.name, self.dtype = _name(name), _dtype(dtype)
        self.weight = Value(np.ones(self.normalized_shape, dtype=self.dtype), f"γ{name}")
        self.bias = Value(np.zeros(self.normalized_shape, dtype=self.dtype), f"β{name}")

    def forward(self, x: Any) -> Value:
        k, want = len(self.normalized_shape), self.normalized_shape
        x, shape = _input(x, self, f"(..., {', '.join(map(str, want))})", self.dtype)
        if shape[len(shape) - k:] != want:
            raise ValueError(f"{self!r} normalises the last axes of shape {want}, got an input "
                             f"of shape {shape}")
        axes = tuple(range(-k, 0))
        d = x - x.mean(axis=axes, keepdims=True)
        var = (d * d).mean(axis=axes, keepdims=True)
        return d / sqrt(var + self.eps) * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps:g}"


def _show(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else str(pair)


class Conv2d(Module):
    """A 2-D convolution (cross-correlation, as PyTorch's) of a batch of images.

    On ``x`` of shape ``(N, c_in, H, W)`` (NCHW) it computes :func:`autograd_lite.conv2d`
    ``(x, weight, bias, stride, padding)`` of shape ``(N, c_out, H_out, W_out)``, with
    ``H_out = (H + 2·padding − kernel_size) // stride + 1`` (the same for the width).
    ``weight`` has shape ``(c_out, c_in, kh, kw)`` (OIHW) and ``bias`` ``(c_out,)``; both are
    drawn from U(−1/√fan_in, 1/√fan_in) with ``fan_in = c_in·kh·kw``, the bound PyTorch's
    default initialisation gives.

    Parameters
    ----------
    c_in, c_out : int
        Input and output channels.
    kernel_size, stride, padding : int or pair of ints
        ``(height, width)``, or one number for both. ``padding`` adds zeros on every side.
    seed : int, numpy.random.Generator or None
        Seeds the weight and bias draw.
    bias : bool
        Whether the layer has a bias.
    name : str
        Suffix of the labels ``W{name}``, ``b{name}``.
    dtype : float16, float32 or float64
        The parameters' dtype; an array batch is converted to it.

    Examples
    --------
    >>> import numpy as np, autograd_lite as ag
    >>> conv = ag.nn.Conv2d(1, 8, 3, padding=1, seed=0)
    >>> conv
    Conv2d(1, 8, kernel_size=3, stride=1, padding=1)
    >>> conv(np.zeros((2, 1, 8, 8))).shape, conv.weight.shape
    ((2, 8, 8, 8), (8, 1, 3, 3))
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 seed: Any = None, *, bias: bool = True, name: str = "",
                 dtype: Any = np.float64) -> None:
        self.in_channels = _size(c_in, "c_in (the input channels)")
        self.out_channels = _size(c_out, "c_out (the output channels)")
        self.kernel_size = _pair(kernel_size, "Conv2d: kernel_size", 1)
        self.stride = _pair(stride, "Conv2d: stride", 1)
        self.padding = _pair(padding, "Conv2d: padding", 0)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        self.name, self.dtype = _name(name), _dtype(dtype)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)
        rng = _rng(seed)
        w = rng.uniform(-bound, bound, (self.out_channels, self.in_channels, *self.kernel_size))
        self.weight = Value(w.astype(self.dtype), f"W{name}")
        self.bias = Value(rng.uniform(-bound, bound, self.out_channels).astype(self.dtype),
                          f"b{name}") if bias else None

    def forward(self, x: Any) -> Value:
        c = self.in_channels
        x, shape = _input(x, self, f"(batch, {c}, height, width)", self.dtype)
        if len(shape) != 4 or shape[1] != c:
            raise ValueError(f"{self!r} takes a batch of images of shape (batch, {c}, height, "
                             f"width), got shape {shape}")
        return conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={_show(self.kernel_size)}"
                f", stride={_show(self.stride)}, padding={_show(self.padding)}"
                + ("" if self.bias is not None else ", bias=False"))


class MaxPool2d(Module):
    """The largest value of each ``k × k`` window of each channel, windows ``stride`` apart
    (default: ``k``, windows side by side): :func:`autograd_lite.max_pool2d`. On ``(N, C, H,
    W)`` the output is ``(N, C, (H − k) // stride + 1, (W − k) // stride + 1)``. Entries that
    tie for a window's maximum share its gradient (a kink, counted by ``ag.kinks``).

    >>> import numpy as np, autograd_lite as ag
    >>> pool = ag.nn.MaxPool2d(2)
    >>> pool
    MaxPool2d(kernel_size=2, stride=2)
    >>> pool(np.arange(16.0).reshape(1, 1, 4, 4)).data
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """

    def __init__(self, k: int | tuple[int, int], stride: int | tuple[int, int] | None = None
                 ) -> None:
        self.kernel_size = _pair(k, "MaxPool2d: k (the kernel_size)", 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "MaxPool2d: stride",
                                                                    1)

    def forward(self, x: Any) -> Value:
        x, _ = _input(x, self, "(batch, channels, height, width)")
        return max_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={_show(self.kernel_size)}, stride={_show(self.stride)}"


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


class _Optimizer:
    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params, self.lr = _params(params), _positive(lr, "lr (the learning rate)")

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
        self.eps = _positive(eps, "eps")
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

"""kernels.py, the hand-tuned code, against the plain forms it replaces.

Every case of the rules table (tests/cases.py) runs twice: with the kernels attached (as the
package is imported) and with ``kernels.detach()`` (the table's own formulas, ``apply`` for
the operators, the reference sweep). Outputs, gradients and kink counts must agree bit for bit
-- same type, dtype, shape, bits, signs of zeros -- except where BLAS adds up in another order
(matmul through ``np.dot``, a bias summed as ``ones @ g``): there, to rounding.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import operator
from collections.abc import Iterator

import numpy as np
import pytest
from cases import CASES, draw

import autograd_lite as ag
from autograd_lite import Value, backward, kernels, shapes

POINTS = [-2.5, -1.0, -0.3, -0.0, 0.0, 0.4, 1.0, 3.0, math.inf, -math.inf, math.nan]
PARAMS = {"pow": [2.0, 3.0, 1.0, 0.0, 0.5, -1.0, -2.5],
          "relu": [0.0, 0.5, 1.0], "leaky_relu": [0.1, 0.7], "abs": [0.0, -0.5, 1.0]}
BLAS = {"matmul"}  # the kernel adds up in another order than the plain form


@contextlib.contextmanager
def plain() -> Iterator[None]:
    kernels.detach()
    try:
        yield
    finally:
        kernels.attach()


def run(build, xs: list) -> tuple:  # noqa: ANN001
    """Output data, each input's gradient and the kink counts; or the error, as text."""
    try:
        with np.errstate(all="ignore"):  # inf and NaN on purpose
            vs = [Value(x) for x in xs]
            out = build(vs)
            seed = 1.0 if type(out.data) is float else np.linspace(
                -1.5, 2.0, out.size).reshape(out.shape).astype(out.dtype)
            out.backward(seed)
        return out.data, [v.grad for v in vs], [k.count for k in ag.kinks(out)]
    except (ValueError, TypeError, ZeroDivisionError, OverflowError) as e:
        return (f"{type(e).__name__}: {e}",)


def same_bits(a, b) -> bool:  # noqa: ANN001
    if type(a) is not type(b):
        return False
    if type(a) is str:
        return a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_bits(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, np.integer)):
        return a == b
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan], b[~nan])
                and np.array_equal(np.signbit(a[~nan]), np.signbit(b[~nan])))


def close(a, b) -> bool:  # noqa: ANN001
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if type(a) is str or isinstance(a, (int, np.integer)):
        return a == b
    if type(a) is not type(b) or np.shape(a) != np.shape(b):
        return False
    rtol = 1e-12 if np.result_type(a) == np.float64 else 1e-5
    return bool(np.allclose(a, b, rtol=rtol, atol=0, equal_nan=True))


def both(build, xs: list, name: str, blas: bool = False) -> None:  # noqa: ANN001
    """``blas``: a bias's gradient is summed by BLAS, in another order."""
    fast = run(build, xs)
    with plain():
        ref = run(build, xs)
    assert (close if blas or name in BLAS else same_bits)(fast, ref), (name, xs, fast, ref)


def _elementwise(name: str) -> list:
    return [(name, i, c) for i, c in enumerate(CASES[name]) if c.elementwise]


ELEMENTWISE = [t for name in CASES for t in _elementwise(name)]
OTHERS = [(name, i, c) for name in CASES for i, c in enumerate(CASES[name])
          if not c.elementwise]


@pytest.mark.parametrize(("name", "i", "case"), ELEMENTWISE,
                         ids=[f"{n}-{i}" for n, i, _ in ELEMENTWISE])
def test_scalar_forms_equal_the_table_at_every_point(name, i, case) -> None:  # noqa: ANN001
    """Floats at every point, kinks, ±0, ±inf and NaN included: the inlined operators and the
    scalar kernels give the table's bits, its factors and its kink counts."""
    for xs in itertools.product(POINTS, repeat=len(case.domains)):
        both(case.build, list(xs), name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "i", "case"), ELEMENTWISE,
                         ids=[f"{n}-{i}" for n, i, _ in ELEMENTWISE])
def test_array_forms_equal_the_table(name, i, case, dtype) -> None:  # noqa: ANN001
    rng = np.random.default_rng(sum(map(ord, name)) + i)
    shape_sets = [[(2, 3)] * len(case.domains), [()] * len(case.domains)]
    if case.broadcast and len(case.domains) == 2:
        shape_sets += [[(4, 3), (3,)], [(3,), (2, 1)]]
    for k, shapes_ in enumerate(shape_sets):
        xs = [draw(d, s, rng).astype(dtype) for d, s in zip(case.domains, shapes_)]
        both(case.build, xs, name, blas=k >= 2)
        specials = [np.resize(np.array(POINTS, dtype), s) for s in shapes_]  # kinks, inf, nan
        both(case.build, specials, name, blas=k >= 2)


@pytest.mark.parametrize(("name", "i", "case"), OTHERS, ids=[f"{n}-{i}" for n, i, _ in OTHERS])
def test_other_ops_equal_the_table(name, i, case) -> None:  # noqa: ANN001
    rng = np.random.default_rng(i)
    for shapes_ in case.shapes:
        xs = [rng.normal(size=s) for s in shapes_]
        both(case.build, xs, name, blas=name == "conv2d" and len(xs) == 3)  # a bias: by BLAS


def test_relu_kernel_counts_kinks_and_uses_the_subgradient() -> None:
    for s in PARAMS["relu"]:
        xs = [Value(x) for x in (0.0, -0.0, 1.0, 0.0, -2.0)]
        ys = [x.relu(subgradient=s) for x in xs]
        sum(ys, Value(0.0)).backward()
        assert [y.params["kinks"] for y in ys] == [1, 1, 0, 1, 0]
        assert [x.grad for x in xs] == [s, s, 1.0, s, 0.0]


def test_relu_method_on_floats_takes_the_subgradient_of_the_context() -> None:
    """``x.relu()`` on a float builds its node in kernels.py: relu'(0) is still the one of
    ``ag.relu_subgradient``, recorded on the node, and ``ag.no_grad()`` still makes a leaf."""
    for s in PARAMS["relu"]:
        with ag.relu_subgradient(s):
            for x in POINTS:
                both(lambda v: v[0].relu(), [x], "relu")
            y = Value(0.0).relu()
            assert y.params["subgradient"] == s and y.params["kinks"] == 1
    with ag.no_grad():
        for name in kernels.METHODS:
            y = getattr(Value(0.5), name)()
            assert y.rule is None and y.data == kernels._PLAIN[name](Value(0.5)).data


def test_the_operators_are_the_inlined_ones_and_detach_restores_apply() -> None:
    for name in (*kernels.OPERATORS, *kernels.METHODS):
        fast, slow = getattr(Value, name), kernels._PLAIN[name]
        assert fast is not slow and fast.__qualname__ == slow.__qualname__ == f"Value.{name}"
        assert fast.__doc__ == slow.__doc__
    with plain():
        assert Value.__mul__ is kernels._PLAIN["__mul__"] and Value.relu is ag.relu
        assert backward.backward is kernels._PLAIN_BACKWARD
        assert backward.unbroadcast is shapes.unbroadcast
    assert backward.backward is kernels.fast_backward


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(5, 3), (1, 4), (7, 1), (300, 2), (64, 8, 8, 8), (2, 3, 1, 5),
                                   (1, 1, 4, 4)])
def test_bias_unbroadcast_by_blas_equals_a_sum_to_rounding(shape, dtype,  # noqa: ANN001
                                                           monkeypatch) -> None:  # noqa: ANN001
    """A dense layer's bias, (N, k) -> (k,), and a conv2d channel bias, (N, C, H, W) ->
    (C, 1, 1): summed by BLAS, equal to NumPy's sum to rounding."""
    g = np.random.default_rng(0).normal(size=shape).astype(dtype)
    like = np.zeros((shape[1],) + (1,) * (len(shape) - 2), dtype)
    ref = shapes.unbroadcast(g, like)
    monkeypatch.setattr(kernels.shapes, "unbroadcast", None)  # BLAS, not the plain form
    fast = kernels.unbroadcast(g, like)
    monkeypatch.undo()
    assert fast.dtype == ref.dtype and fast.shape == ref.shape
    assert np.allclose(fast, ref, rtol=1e-5 if dtype == np.float32 else 1e-12)
    other = np.zeros((1,) * (len(shape) - 1) + shape[-1:], dtype)  # else: the plain form
    assert same_bits(kernels.unbroadcast(g, other), shapes.unbroadcast(g, other))


def test_sigmoid_and_bce_kernels_at_the_overflow_edge() -> None:
    """The in-place sigmoid is taken only where no exp(-x) overflows: at and past the edge the
    plain form runs, and the bits agree either way."""
    for dtype in (np.float64, np.float32, np.float16):
        edge = float(-np.log(np.finfo(dtype).max))
        x = np.array([edge - 1, edge, edge + 1, -edge, 0.0, -0.0], dtype)
        both(lambda v: v[0].sigmoid(), [x], "sigmoid")
        t = np.resize(np.array([0.0, 1.0, 0.5], dtype), x.shape)
        both(lambda v: ag.binary_cross_entropy_with_logits(v[0], v[1], "none"), [x, t],
             "binary_cross_entropy_with_logits")
        p = np.array([0.0, 1e-30, 0.5, 1 - 1e-7, 1.0, 0.3], dtype)
        both(lambda v: ag.binary_cross_entropy(v[0], v[1], "mean"), [p, t], "bce")


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_max_pool_kernel_on_tiling_windows_equals_the_table(dtype) -> None:  # noqa: ANN001
    """Windows that tile x (stride = kernel, no padding): with ties, −0.0, ±inf and NaN, the
    kernel's pooling, kink count and backward are the table's, bit for bit (a −0.0 share
    becomes 0.0 there); windows that do not tile take the table itself."""
    rng = np.random.default_rng(3)
    for shape, k in [((2, 3, 4, 6), 2), ((1, 2, 6, 6), (3, 2)), ((2, 1, 3, 3), 1),
                     ((1, 1, 4, 4), 4), ((2, 2, 5, 4), 2)]:
        ints = rng.integers(-2, 3, size=shape).astype(dtype)  # many ties
        for x in (ints, np.maximum(ints, 0), np.resize(np.array(POINTS), shape).astype(dtype),
                  rng.normal(size=shape).astype(dtype)):
            both(lambda v, k=k: ag.max_pool2d(v[0], k), [x], "max_pool2d")
            both(lambda v, k=k: ag.max_pool2d(v[0] * 1.0, k, stride=1), [x], "max_pool2d")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_kernel_equals_the_table(dtype) -> None:  # noqa: ANN001
    """(N, C) logits, ±1000, ±inf and NaN among them, every reduction: the kernel's loss and
    factor are the table's bits; 1-D logits and (N, C, K) take the table itself."""
    rng = np.random.default_rng(4)
    z = rng.normal(size=(6, 5)).astype(dtype)
    z[0, 1], z[1, 0], z[2, 3], z[3, :] = 1000.0, -1000.0, np.inf, -np.inf
    z[4, 2] = np.nan
    labels = np.array([1, 0, 3, 2, 4, 0])
    for reduction in ("mean", "none", "sum"):
        both(lambda v, r=reduction: ag.cross_entropy(v[0], labels, r), [z], "cross_entropy")
        both(lambda v, r=reduction: ag.cross_entropy(v[0] * 2.0, labels % 3, r), [z[:, :3]],
             "cross_entropy")  # an op's result
    both(lambda v: ag.cross_entropy(v[0], 2), [z[0]], "cross_entropy")
    both(lambda v: ag.cross_entropy(v[0], labels.reshape(2, 3)), [z.reshape(2, 3, 5)],
         "cross_entropy")


def test_copy_on_write_reuses_only_an_array_no_graph_holds():
    w = Value(np.arange(20000.0))  # large enough for the pool (>= 64 KiB)

    def times(k: float) -> Value:  # a Value: backward reads w for its gradient, so graphs keep w
        return Value(np.full(20000, k))

    L1 = (w * times(2.0)).sum()
    first = w._data
    w.data -= 1.0  # L1 holds `first`: w gets a copy, the pool keeps `first`
    assert w._data is not first and first[1] == 1.0 and w.data[1] == 0.0
    L2 = (w * times(3.0)).sum()
    second = w._data
    w.data += 5.0  # `first` is still held by L1: not reused
    assert w._data is not first and first[1] == 1.0
    first_id = id(first)
    del L1, first
    L3 = (w * times(4.0)).sum()
    w.data *= 2.0  # L1 is gone: its array is free, and w's copy goes into it
    assert id(w._data) == first_id and np.array_equal(w.data, (np.arange(20000.0) + 4.0) * 2)
    L2.backward()  # L2 kept what its forward saw
    assert np.array_equal(w.grad, np.full(20000, 3.0)) and second[1] == 0.0
    assert float(L3.data) == float(np.sum((np.arange(20000.0) + 4.0) * 4.0))
    with plain():
        assert __import__("autograd_lite").value.copy_leaf is kernels._PLAIN_COPY


# --- the array operators and methods: every kind of other input, each as apply builds it ----

OTHERS_OF_ARRAYS = [np.array([[1.5, -2.0, 0.0]]), np.array([[0.5], [-1.0]], np.float32),
                    np.array([1.0, 2.0, -3.0], np.float16), np.array(2.0), np.float32(2.5),
                    2.0, -0.0, 3, 10**400, [1.0, 2.0, 3.0], np.arange(3), np.array([True] * 3),
                    np.ma.masked_array([1.0, 2.0, 3.0]), "a"]
SHAPES_OF_ARRAYS = [(2, 3), (3,), (), (4, 2, 3), (3, 2)]


def built(make, xs: list, leaves: tuple[bool, ...]) -> tuple:  # noqa: ANN001
    """What ``make`` builds from ``xs`` (each a leaf where ``leaves`` says so, else a
    constant), as the node and the leaves keep it: the output, its rule, what its inputs are,
    what it saved, whether each leaf's array is kept for backward -- then each leaf's
    gradient. Or the error, as text."""
    try:
        with np.errstate(all="ignore"):
            vs = [Value(x) if leaf else x for x, leaf in zip(xs, leaves)]
            out = make(*vs)
            saved = [None if type(s) is dict else s for s in out._y or ()]
            kept = [v._y for v in vs if type(v) is Value]
            seed = np.linspace(-1.5, 2.0, out.size).reshape(out.shape).astype(out.dtype)
            out.backward(seed)
            return (out.data, out.rule, [type(p).__name__ for p in out._x], saved, kept,
                    [v.grad for v in vs if type(v) is Value], out.params)
    except (ValueError, TypeError, ZeroDivisionError, OverflowError) as e:
        return (f"{type(e).__name__}: {e}",)


def same(a, b, equal) -> bool:  # noqa: ANN001
    """``equal`` (same_bits or close) on the numbers of two nested records; == on the rest."""
    if isinstance(a, (list, tuple)) and type(a) is type(b):
        return len(a) == len(b) and all(same(x, y, equal) for x, y in zip(a, b))
    if isinstance(a, dict) and type(b) is dict:
        return a.keys() == b.keys() and all(same(a[k], b[k], equal) for k in a)
    if a is None or isinstance(a, (str, bool, ag.ops.Rule)):
        return type(a) is type(b) and a == b
    return equal(a, b)


def same_build(make, xs: list, leaves: tuple[bool, ...] = (True,)) -> None:  # noqa: ANN001
    fast = built(make, xs, leaves)
    with plain():
        ref = built(make, xs, leaves)
    blas = len(ref) > 1 and ref[1] is ag.ops.MATMUL  # np.dot adds up in another order
    assert same(fast, ref, close if blas else same_bits), (xs, fast, ref)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "matmul"])
def test_array_operators_build_what_apply_builds(op) -> None:  # noqa: ANN001
    """``v + c``, ``c + v``, ``v + w`` (and -, *, @) with an array: the kernels' node is
    apply's, bit for bit -- output, inputs, saved data, which leaves are kept, gradients --
    and where apply refuses an input, the same error."""
    rng = np.random.default_rng(len(op))
    forward, reflected = getattr(operator, op), getattr(Value, f"__r{op}__")
    for shape in SHAPES_OF_ARRAYS:
        x = rng.normal(size=shape)
        for c in [*OTHERS_OF_ARRAYS, *(rng.normal(size=s) for s in SHAPES_OF_ARRAYS)]:
            same_build(forward, [x, c], (True, False))  # v op c
            same_build(lambda v, c: reflected(v, c), [x, c], (True, False))  # c op v
            if type(c) is np.ndarray and c.dtype.kind == "f":
                same_build(forward, [c, x], (False, True))  # ndarray op Value: NumPy's ufunc
                same_build(forward, [x, c.astype(x.dtype)], (True, True))  # two Values
        with ag.no_grad():
            v = Value(x)
            c = np.ones(shape[-1:] if op == "matmul" else shape)
            assert shape == () and op == "matmul" or forward(v, c).rule is None is v._y


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_two_input_losses_build_what_apply_builds(loss) -> None:  # noqa: ANN001
    """``ag.binary_cross_entropy(p, t)`` (and with logits) with an array, either input a leaf
    or a constant of every kind: the node kernels.py builds is apply's, bit for bit, and
    where apply refuses an input (or a target off [0, 1]), the same error."""
    rng = np.random.default_rng(len(loss))
    f = getattr(ag, loss)
    for shape in SHAPES_OF_ARRAYS:
        x = rng.uniform(size=shape)
        for c in [*OTHERS_OF_ARRAYS, *(rng.uniform(size=s) for s in SHAPES_OF_ARRAYS)]:
            same_build(lambda v, c: f(v, c, "none"), [x, c], (True, False))
            same_build(lambda c, v: f(c, v, "none"), [c, x], (False, True))
            if type(c) is np.ndarray and c.dtype.kind == "f":
                same_build(lambda v, w: f(v, w, "none"), [x, c.astype(x.dtype)], (True, True))
                same_build(lambda v, w: f(v, w), [x, c], (True, True))  # with the mean
    with ag.no_grad():
        assert f(Value(x), x).rule is None


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "exp", "log", "mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_array_methods_build_what_apply_builds(name, dtype) -> None:  # noqa: ANN001
    """``x.relu()`` ... ``x.mean()`` on an array leaf or an op's result, every shape, kinks,
    inf and NaN included: the node the kernels build is apply's, and its backward too."""
    for shape in [(2, 3), (5,), (), (1, 1), (3, 1, 2)]:
        x = np.resize(np.array(POINTS), shape).astype(dtype)
        same_build(lambda v: getattr(v, name)(), [x])
        same_build(lambda v: getattr(v * 2.0, name)(), [x])
    same_build(lambda v: getattr(v, name)(*(() if name not in ("mean", "sum") else (0,))),
               [np.arange(6.0).reshape(2, 3)])  # with arguments: apply itself


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul_factor_of_a_large_right_input_equals_the_table(dtype) -> None:
    """xᵀ @ g goes through @ from a 256 x 256 result up (np.dot below): both to rounding."""
    rng = np.random.default_rng(1)
    for n in (255, 256, 300):
        xs = [rng.normal(size=(5, n)).astype(dtype), rng.normal(size=(n, 256)).astype(dtype)]
        both(lambda v: v[0] @ v[1], xs, "matmul")

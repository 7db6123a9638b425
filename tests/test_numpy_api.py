"""NumPy functions on Values (numpy_api.py): the listed ones record the ops of their ag
counterparts, with the same gradients; every other one is refused with a TypeError that says
what to use."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value

RNG = np.random.default_rng(0)
A0 = RNG.normal(size=(3, 4))
B0 = RNG.normal(size=(3, 4))
W0 = RNG.normal(size=(2, 3))

# name -> (NumPy on Values, the ag counterpart), each of (a, b), two Values of shape (3, 4)
PAIRS = {
    "sum": (lambda a, b: np.sum(a), lambda a, b: a.sum()),
    "sum_axis": (lambda a, b: np.sum(a, axis=0, keepdims=True), lambda a, b: a.sum(0, True)),
    "mean": (lambda a, b: np.mean(a, axis=1), lambda a, b: a.mean(axis=1)),
    "dot": (lambda a, b: np.dot(a, b.T), lambda a, b: a @ b.T),
    "matmul": (lambda a, b: np.matmul(a.T, b), lambda a, b: a.T @ b),
    "exp": (lambda a, b: np.exp(a), lambda a, b: a.exp()),
    "log": (lambda a, b: np.log(a * a + 1), lambda a, b: (a * a + 1).log()),
    "tanh": (lambda a, b: np.tanh(a), lambda a, b: a.tanh()),
    "maximum": (lambda a, b: np.maximum(a, b), lambda a, b: ag.maximum(a, b)),
    "minimum": (lambda a, b: np.minimum(a, 0.1), lambda a, b: ag.minimum(a, 0.1)),
    "sqrt": (lambda a, b: np.sqrt(a * a + 1), lambda a, b: (a * a + 1).sqrt()),
    "abs": (lambda a, b: np.abs(a), lambda a, b: a.abs()),
    "clip": (lambda a, b: np.clip(a, -0.5, 0.5), lambda a, b: a.clip(-0.5, 0.5)),
    "clip_keywords": (lambda a, b: np.clip(a, min=-0.5), lambda a, b: a.clip(-0.5)),
    "where": (lambda a, b: np.where(a > 0, a, b), lambda a, b: ag.where(a > 0, a, b)),
    "concatenate": (lambda a, b: np.concatenate([a, b], axis=1),
                    lambda a, b: ag.concatenate([a, b], axis=1)),
    "stack": (lambda a, b: np.stack([a, b]), lambda a, b: ag.stack([a, b])),
    "reshape": (lambda a, b: np.reshape(a, (2, 6)), lambda a, b: a.reshape(2, 6)),
    "reshape_int": (lambda a, b: np.reshape(a, -1), lambda a, b: a.reshape(-1)),
    "transpose": (lambda a, b: np.transpose(a), lambda a, b: a.T),
    "max": (lambda a, b: np.max(a, axis=1), lambda a, b: a.max(axis=1)),
    "min": (lambda a, b: np.min(a), lambda a, b: a.min()),
}


@pytest.mark.parametrize("name", PAIRS)
def test_numpy_function_records_the_ag_op(name):
    ours, theirs = PAIRS[name]
    a, b, c, d = Value(A0), Value(B0), Value(A0), Value(B0)
    y, z = ours(a, b), theirs(c, d)
    assert type(y) is Value and y.op == z.op
    np.testing.assert_array_equal(y.data, z.data)
    seed = RNG.normal(size=y.shape)
    (y * seed).sum().backward()
    (z * seed).sum().backward()
    np.testing.assert_array_equal(a.grad, c.grad)
    np.testing.assert_array_equal(b.grad, d.grad)
    assert np.any(a.grad != 0)


def test_numpy_mixed_arrays_and_values():
    A = Value(A0)
    Z = np.dot(W0, A)  # the course's habit: np.dot(W, A)
    assert type(Z) is Value and Z.op == "matmul"
    np.testing.assert_allclose(Z.data, W0 @ A0)
    Z.sum().backward()
    np.testing.assert_allclose(A.grad, W0.T @ np.ones((2, 4)))
    for y, op in [(np.concatenate([A0, A]), "concatenate"), (np.stack([B0, A]), "stack"),
                  (np.where(A0 > 0, A0, A), "where"), (np.maximum(A0, A), "maximum"),
                  (np.dot(2.0, A), "mul")]:
        assert type(y) is Value and y.op == op


@pytest.mark.parametrize("expr,op", [
    (lambda a: A0 + a, "add"), (lambda a: A0 - a, "sub"), (lambda a: A0 * a, "mul"),
    (lambda a: A0 / (a * a + 1), "div"), (lambda a: W0 @ a, "matmul"),
    (lambda a: np.float64(2.0) * a, "mul")])
def test_ndarray_op_value_gives_a_value(expr, op):
    a = Value(A0)
    y = expr(a)
    assert type(y) is Value and y.op == op
    y.sum().backward()
    assert a.grad.shape == A0.shape and np.any(a.grad != 0)


def test_ndarray_compared_with_a_value_is_a_boolean_array():
    a = Value(A0)
    m = B0 < a
    assert type(m) is np.ndarray and m.dtype == bool
    np.testing.assert_array_equal(m, B0 < A0)


@pytest.mark.parametrize("call,words", [
    (lambda a: np.array([a, a]), r"ag\.stack\(values\)"),
    (lambda a: np.asarray(a), r"v\.data"),
    (lambda a: np.sin(a), r"np\.sin .*ag\.custom_op"),
    (lambda a: np.cumsum(a), r"np\.cumsum"),
    (lambda a: np.var(a), r"v\.var\(\)"),
    (lambda a: np.add.reduce(a), r"v\.sum\(\)"),
    (lambda a: np.sum(a, out=np.zeros(())), r"np\.sum on Values takes no out="),
    (lambda a: np.sum(a, dtype=np.float32), r"dtype="),
    (lambda a: np.exp(a, where=A0 > 0), r"where="),
    (lambda a: np.mean(a, 0, np.float32), r"dtype="),
    (lambda a: np.dot(a.reshape(1, 3, 4), a.T), r"np\.dot .*use x @ y"),
    (lambda a: 2.0 ** a, r"\(Value \* log\(c\)\)\.exp\(\)"),
    (lambda a: np.power(A0, a), r"np\.power.*log\(c\)"),
    (lambda a: A0 == a, r"v\.data == w\.data"),
    (lambda a: np.reshape(a, (4, 3), order="F"), r"order="),
])
def test_numpy_refusals_name_what_to_use(call, words):
    with pytest.raises(TypeError, match=words):
        call(Value(A0))


def test_numpy_power_with_a_number_exponent_is_pow():
    a = Value(A0)
    assert np.power(a, 2).op == "pow" and np.positive(a) is a

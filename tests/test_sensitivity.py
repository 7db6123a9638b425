"""ag.subgradient_sensitivity: exact answers on and off the kink, and argument validation."""

import math

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value

DTYPES = (np.float16, np.float32, np.float64)


def _neuron(v):
    """One ReLU neuron on two samples, scaled so that the upstream gradient is 3."""
    x = np.array([[1.0, 2.0], [3.0, -1.0]], dtype=v[0].dtype)
    return ((x @ v[0] + v[1]).relu() * 3.0).sum()


@pytest.mark.parametrize("dtype", DTYPES)
def test_sensitivity_neuron_exactly_on_the_kink_differs(dtype):
    # z = x @ w + b = [1 - 1, 3 + 0.5] = [0, 3.5]: sample 0 sits exactly on the kink
    w = Value(np.array([1.0, -0.5], dtype), "w")
    b = Value(np.zeros((), dtype), "b")
    r = ag.subgradient_sensitivity(_neuron, [w, b])
    assert r.differs and bool(r)
    assert r.subgradients == (0.0, 1.0)
    assert r.kink_count == 1 and len(r.kinks) == 1 and r.kinks[0].op == "relu"
    # dL/dz = 3·[s, 1]; dL/dw = xᵀ dL/dz = [3s + 9, 6s − 3]; dL/db = 3s + 3
    (gw0, gb0), (gw1, gb1) = r.grads
    assert gw0.dtype == gw1.dtype == dtype
    assert np.array_equal(gw0, np.array([9.0, -3.0], dtype))
    assert np.array_equal(gw1, np.array([12.0, 3.0], dtype))
    assert float(gb0) == 3.0 and float(gb1) == 6.0
    dw, db = r.inputs
    assert (dw.index, dw.label, dw.shape, dw.size, dw.differing, dw.max_abs) == (
        0, "w", (2,), 2, 2, 6.0)
    assert (db.label, db.differing, db.max_abs) == ("b", 1, 3.0)
    assert r.differing == (dw, db)
    assert float(r.value) == 10.5
    text = str(r)
    assert "different gradients" in text and "1 ReLU input exactly 0" in text
    assert "input 0 ('w'): 2 of 2" in text and "input 1 ('b'): 1 of 1" in text


def test_sensitivity_scalar_on_the_kink():
    x = Value(0.0, "x")
    r = ag.subgradient_sensitivity(lambda v: v[0].relu() * 2.0, [x])
    assert r.differs and r.kink_count == 1
    assert r.grads == ((0.0,), (2.0,))
    assert r.inputs[0].differing == 1 and r.inputs[0].max_abs == 2.0


def test_sensitivity_leaves_the_callers_values_alone():
    w = Value(np.array([1.0, -0.5]), "w")
    b = Value(0.0, "b")
    w.grad = np.array([7.0, 7.0])
    r = ag.subgradient_sensitivity(_neuron, [w, b])
    assert r.differs
    assert np.array_equal(w.grad, [7.0, 7.0]) and b.grad == 0.0
    assert np.array_equal(w.data, [1.0, -0.5]) and b.data == 0.0
    assert ag.get_relu_subgradient() == 0.0  # the context is restored


@pytest.mark.parametrize("dtype", DTYPES)
def test_sensitivity_batch_without_exact_zero_does_not_differ(dtype):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (16, 4)).astype(dtype)
    W = Value(rng.uniform(-1, 1, (4, 8)).astype(dtype), "W")
    b = Value(rng.uniform(-1, 1, 8).astype(dtype), "b")
    fn = lambda v: ag.cross_entropy((X @ v[0] + v[1]).relu(), np.arange(16) % 8)
    z = X @ W.data + b.data
    assert np.count_nonzero(z == 0) == 0 and np.count_nonzero(z < 0) > 0  # off the kink
    r = ag.subgradient_sensitivity(fn, [W, b])
    assert not r.differs and not bool(r)
    assert r.kinks == () and r.kink_count == 0
    assert [d.differing for d in r.inputs] == [0, 0]
    for g0, g1 in zip(*r.grads):
        assert g0.tobytes() == g1.tobytes()
    assert str(r) == ("relu'(0) = 0 and relu'(0) = 1 give bitwise identical gradients; "
                      "no ReLU input was exactly 0.")


def test_sensitivity_kink_with_zero_upstream_gradient_does_not_differ():
    # relu(0) is multiplied by 0, so relu'(0) meets an upstream gradient of 0
    x = Value(np.array([0.0, 1.0]), "x")
    r = ag.subgradient_sensitivity(lambda v: (v[0].relu() * np.array([0.0, 1.0])).sum(), [x])
    assert r.kink_count == 1 and not r.differs
    assert "identical" in str(r) and "1 ReLU input exactly 0" in str(r)


def test_sensitivity_other_subgradients_and_explicit_ones():
    x = Value(0.0)
    r = ag.subgradient_sensitivity(lambda v: v[0].relu(), [x], subgradients=(0.25, 0.75))
    assert r.subgradients == (0.25, 0.75) and r.grads == ((0.25,), (0.75,))
    # a ReLU built with an explicit subgradient keeps it under both choices
    fixed = ag.subgradient_sensitivity(lambda v: v[0].relu(subgradient=0.5), [x])
    assert not fixed.differs and fixed.grads == ((0.5,), (0.5,))


def test_sensitivity_compares_bits_so_signed_zeros_differ():
    # fn sees the context's relu'(0): the gradient is +0.0 under 0 and −0.0 under 1
    def fn(v):
        return (v[0] * (0.0 if ag.get_relu_subgradient() == 0.0 else -0.0)).sum()

    r = ag.subgradient_sensitivity(fn, [Value(np.ones(3, np.float16))])
    g0, g1 = r.grads[0][0], r.grads[1][0]
    assert np.all(g0 == g1) and not np.signbit(g0).any() and np.signbit(g1).all()
    assert r.differs and r.inputs[0].differing == 3 and r.inputs[0].max_abs == 0.0


@pytest.mark.parametrize("bad", [None, 3, "f"])
def test_sensitivity_rejects_a_non_callable(bad):
    with pytest.raises(TypeError, match="fn must be a function"):
        ag.subgradient_sensitivity(bad, [Value(1.0)])


@pytest.mark.parametrize("bad, match", [
    (Value(1.0), "list or tuple of Values"),
    (np.array([1.0]), "list or tuple of Values"),
    ("x", "list or tuple of Values"),
    ([Value(1.0), 2.0], r"inputs\[1\] must be a Value"),
    ([np.zeros(3)], r"inputs\[0\] must be a Value"),
])
def test_sensitivity_rejects_inputs_that_are_not_values(bad, match):
    with pytest.raises(TypeError, match=match):
        ag.subgradient_sensitivity(lambda v: v[0].relu(), bad)


def test_sensitivity_rejects_empty_inputs():
    with pytest.raises(ValueError, match="inputs is empty"):
        ag.subgradient_sensitivity(lambda v: Value(1.0), [])


@pytest.mark.parametrize("bad", [(0.0,), (0.0, 1.0, 0.5), "01", 1.0, None])
def test_sensitivity_rejects_a_bad_pair(bad):
    with pytest.raises(ValueError, match="pair of numbers in"):
        ag.subgradient_sensitivity(lambda v: v[0].relu(), [Value(0.0)], subgradients=bad)


@pytest.mark.parametrize("bad", [(0.0, 1.5), (-0.1, 1.0), (0.0, math.nan), (True, 0.0),
                                 (0.0, "1")])
def test_sensitivity_rejects_subgradients_outside_the_range(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ag.subgradient_sensitivity(lambda v: v[0].relu(), [Value(0.0)], subgradients=bad)


def test_sensitivity_rejects_a_non_value_output():
    with pytest.raises(TypeError, match="fn must return a Value, got float"):
        ag.subgradient_sensitivity(lambda v: 1.0, [Value(0.0)])


def test_sensitivity_rejects_a_non_scalar_output():
    with pytest.raises(ValueError, match=r"one-element Value.*shape \(2,\)"):
        ag.subgradient_sensitivity(lambda v: v[0].relu(), [Value([0.0, 1.0])])

"""Custom ops join the same table as built-ins."""

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value
from autograd_lite.ops import RULES


def test_custom_op_joins_the_table_and_backward():
    cube = ag.custom_op("cube", lambda x: x ** 3, derivative=lambda x, out: 3 * x ** 2,
                        symbol="3{x}²")
    assert RULES["cube"] is cube.rule and cube.rule.custom
    x = Value(2.0)
    y = cube(x)
    assert y.op == "cube" and y.data == 8.0 and type(y.data) is float
    y.backward()
    assert x.grad == 12.0
    t = Value(np.array([1.0, -2.0]))
    cube(t).sum().backward()
    assert np.array_equal(t.grad, [3.0, 12.0])


def test_custom_op_with_two_inputs_and_a_constant():
    fma = ag.custom_op("scaled_product", lambda x, y: 2 * x * y,
                       derivative=(lambda x, y, out: 2 * y, lambda x, y, out: 2 * x),
                       symbol=("2y", "2x"))
    a = Value(3.0)
    fma(a, 5.0).backward()
    assert a.grad == 10.0
    assert ag.gradcheck(lambda v: fma(v[0], v[1]).sum(), [Value(np.ones(3)), Value(np.ones(3))])


def test_custom_op_with_a_vjp():
    total = ag.custom_op("my_sum", lambda x: np.sum(x),
                         vjp=lambda g, x, out: np.broadcast_to(g, np.shape(x)))
    x = Value(np.arange(4.0))
    out = total(x)
    assert out.shape == ()
    out.backward()
    assert np.array_equal(x.grad, np.ones(4))
    s = Value(3.0)
    total(s).backward()
    assert s.grad == 1.0


def test_leaky_relu_backward_that_assigns_instead_of_multiplying_fails_gradcheck():
    # seed 003: "dZ[Z <= 0] = .01" sets dL/dZ to the slope, dropping dL/dA
    wrong = ag.custom_op("leaky_assign", lambda z: np.where(z > 0, z, 0.01 * z),
                         vjp=lambda g, z, a: np.where(z > 0, g, 0.01))
    right = ag.custom_op("leaky_chain", lambda z: np.where(z > 0, z, 0.01 * z),
                         derivative=lambda z, a: np.where(z > 0, 1.0, 0.01))
    z = Value(np.array([-2.0, -0.5, 1.0]))
    assert ag.gradcheck(lambda v: (right(v[0]) * 3).sum(), [z])
    with pytest.raises(ag.GradcheckError):
        ag.gradcheck(lambda v: (wrong(v[0]) * 3).sum(), [z])


def test_custom_op_validation():
    with pytest.raises(ValueError, match="already exists"):
        ag.custom_op("relu", lambda x: x, derivative=lambda x, out: 1.0)
    with pytest.raises(TypeError, match="exactly one"):
        ag.custom_op("twice", lambda x: x, derivative=lambda x, o: 1.0, vjp=lambda g, x, o: g)
    with pytest.raises(TypeError, match="exactly one"):
        ag.custom_op("nothing", lambda x: x)
    with pytest.raises(ValueError, match="identifier"):
        ag.custom_op("not a name", lambda x: x, derivative=lambda x, o: 1.0)
    with pytest.raises(ValueError, match="symbol"):
        ag.custom_op("two_syms", lambda x: x, derivative=lambda x, o: 1.0, symbol=("a", "b"))
    op = ag.custom_op("one_input", lambda x: x, derivative=lambda x, o: 1.0)
    with pytest.raises(TypeError, match="1 input"):
        op(Value(1.0), Value(2.0))
    bad = ag.custom_op("returns_text", lambda x: np.array(["a"]), derivative=lambda x, o: 1.0)
    with pytest.raises(TypeError, match="numbers"):
        bad(Value(np.ones(1)))


def test_redefining_a_custom_op_replaces_it():
    a = ag.custom_op("redefined", lambda x: x, derivative=lambda x, o: 1.0)
    b = ag.custom_op("redefined", lambda x: 2 * x, derivative=lambda x, o: 2.0)
    assert RULES["redefined"] is b.rule is not a.rule


def test_custom_op_never_differentiates_a_constant_input():
    """No derivative is computed for a plain number or array mixed in, scalar or tensor."""
    calls = []
    op = ag.custom_op("pair_const", lambda x, y: x * y,
                      derivative=(lambda x, y, o: y, lambda x, y, o: calls.append(1) or x))
    x = Value(2.0)
    op(x, 3.0).backward()
    t = Value(np.array([1.0, 2.0]))
    op(t, np.array([3.0, 4.0])).sum().backward()
    assert calls == [] and x.grad == 3.0 and np.array_equal(t.grad, [3.0, 4.0])

"""gradcheck: it passes correct derivatives, and a wrong one is named precisely."""

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value


def test_gradcheck_passes_on_a_correct_composition(rng):
    W, x = Value(rng.normal(size=(3, 2))), Value(rng.normal(size=3))
    assert ag.gradcheck(lambda v: ((v[1] @ v[0]).tanh() ** 2).sum(), [W, x])


def test_gradcheck_handles_non_scalar_outputs_and_low_precision_inputs(rng):
    x = Value(rng.normal(size=(2, 3)).astype(np.float16))
    assert ag.gradcheck(lambda v: v[0].sigmoid() * 3, [x])
    assert ag.gradcheck(lambda v: v[0] * v[1], [2.0, np.array([1.0, -1.0])])


def test_gradcheck_error_names_input_element_and_values():
    wrong = ag.custom_op("times2_wrong", lambda x: 2 * x, derivative=lambda x, out: 3.0 + 0 * x)
    x = Value(np.array([[1.0, 2.0], [3.0, 4.0]]), "x")
    with pytest.raises(ag.GradcheckError) as e:
        ag.gradcheck(lambda v: wrong(v[0]).sum(), [x])
    err = e.value
    assert (err.input, err.label, err.element) == (0, "x", (0, 0))
    assert err.analytic == 3.0 and err.numeric == pytest.approx(2.0)
    assert not err.on_kink
    assert "input 0 ('x'), element (0, 0): analytic 3, numeric 2" in str(err)
    assert isinstance(err, AssertionError)


def test_gradcheck_checks_every_element_of_every_input():
    # wrong only for the second input, and only where it exceeds 0.5: element (1, 2)
    wrong = ag.custom_op("wrong_late", lambda x, y: x * y,
                         derivative=(lambda x, y, out: y, lambda x, y, out: x + 1.0 * (y > 0.5)))
    x, y = Value(np.full((2, 3), 2.0)), Value(np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.9]]), "y")
    with pytest.raises(ag.GradcheckError) as e:
        ag.gradcheck(lambda v: wrong(v[0], v[1]).sum(), [x, y])
    assert (e.value.input, e.value.label, e.value.element) == (1, "y", (1, 2))
    assert e.value.analytic == 3.0 and e.value.numeric == pytest.approx(2.0)
    assert "input 1 ('y'), element (1, 2): analytic 3, numeric 2" in str(e.value)


def test_gradcheck_says_on_kink_only_for_the_element_on_the_kink():
    # element 0 sits on a ReLU kink (s = ½ agrees with finite differences); element 1 is
    # off every kink and wrong: the report must not blame the kink
    wrong = ag.custom_op("wrong_above", lambda x: 2 * x,
                         derivative=lambda x, out: 2 + 1.0 * (x > 0.5))
    z = Value(np.array([0.0, 1.0]))
    with pytest.raises(ag.GradcheckError) as e:
        ag.gradcheck(lambda v: (v[0].relu(subgradient=0.5) + wrong(v[0])).sum(), [z])
    assert e.value.element == (1,) and not e.value.on_kink
    assert "kink" not in str(e.value)


def test_gradcheck_explains_a_failure_on_a_kink():
    # relu'(0) = 0 is a valid choice, but finite differences see (0 + 1)/2 there
    z = Value(np.array([-1.0, 0.0, 1.0]), "z")
    with pytest.raises(ag.GradcheckError) as e:
        ag.gradcheck(lambda v: v[0].relu().sum(), [z])
    assert e.value.element == (1,) and e.value.on_kink
    assert e.value.analytic == 0.0 and e.value.numeric == pytest.approx(0.5)
    assert "sits exactly on a kink" in str(e.value) and "(left + right)/2" in str(e.value)
    assert ag.gradcheck(lambda v: v[0].relu(subgradient=0.5).sum(), [z])  # s = ½ agrees


def test_seed_relu_backward_from_the_output_fails_and_from_the_input_passes():
    # seed 000: "dZ1 = dA1 * (A1 >= 0)" differentiates w.r.t. the output A; A >= 0 always
    relu_from_z = ag.custom_op("relu_from_z", lambda z: np.maximum(z, 0),
                               derivative=lambda z, a: 1.0 * (z > 0), symbol="1[z>0]")
    relu_from_a = ag.custom_op("relu_from_a", lambda z: np.maximum(z, 0),
                               derivative=lambda z, a: 1.0 * (a >= 0), symbol="1[A>=0]")
    z = Value(np.array([-1.5, -0.5, 0.5, 2.0]))
    assert ag.gradcheck(lambda v: relu_from_z(v[0]).sum(), [z])
    with pytest.raises(ag.GradcheckError) as e:
        ag.gradcheck(lambda v: relu_from_a(v[0]).sum(), [z])
    assert e.value.element == (0,) and e.value.analytic == 1.0 and e.value.numeric == 0.0


def test_gradcheck_rejects_a_function_that_returns_no_value():
    with pytest.raises(TypeError, match="must return a Value"):
        ag.gradcheck(lambda v: 3.0, [Value(1.0)])

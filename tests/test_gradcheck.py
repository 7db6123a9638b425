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


# --- a closure over a module's own parameters (issue 12): checked for real, never vacuous ----

RELU_FROM_A = ag.custom_op(  # the seed-000 mistake: A >= 0 always, so the "derivative" is 1
    "relu_wrong_in_a_net", lambda z: np.maximum(z, 0), derivative=lambda z, a: 1.0 * (a >= 0))


def _net_and_data(activation="tanh", dtype=np.float64):  # noqa: ANN001, ANN202
    net = ag.nn.MLP([3, 4, 2], activation, seed=3, dtype=dtype)
    rng = np.random.default_rng(5)
    return net, rng.normal(size=(6, 3)), rng.normal(size=(6, 2))


def test_gradcheck_checks_a_closure_over_the_nets_own_parameters():
    net, X, Y = _net_and_data()
    assert ag.gradcheck(lambda ps: ag.mse_loss(net(X), Y), net.parameters())


def test_gradcheck_catches_a_wrong_custom_relu_inside_a_net_through_the_closure():
    net, X, Y = _net_and_data(RELU_FROM_A)
    with pytest.raises(ag.GradcheckError) as e:
        ag.gradcheck(lambda ps: ag.mse_loss(net(X), Y), net.parameters())
    assert e.value.label in {"W1", "b1"} and e.value.analytic != pytest.approx(e.value.numeric)
    # the same net with the right derivative passes, so it is the derivative that was caught
    right = ag.custom_op("relu_right_in_a_net", lambda z: np.maximum(z, 0),
                         derivative=lambda z, a: 1.0 * (z > 0))
    net2, X, Y = _net_and_data(right)
    assert ag.gradcheck(lambda ps: ag.mse_loss(net2(X), Y), net2.parameters())


def test_gradcheck_leaves_the_parameters_exactly_as_they_were():
    net, X, Y = _net_and_data(dtype=np.float32)
    params = net.parameters()
    Xv = Value(X)  # (X a Value: backward reads W1 for dL/dX, so the graph keeps W1's array)
    Z1 = net.layers[0](Xv)  # Z1 = X @ W1 + b1
    ag.mse_loss(net(X), Y).backward()
    arrays = [p._data for p in params]
    copies, grads = [a.copy() for a in arrays], [p.grad.copy() for p in params]
    assert ag.gradcheck(lambda ps: ag.mse_loss(net(X), Y), params, atol=1e-4)
    assert all(p._data is a for p, a in zip(params, arrays))  # the very arrays, float32
    assert all(np.array_equal(a, c) for a, c in zip(arrays, copies))
    assert all(np.array_equal(p.grad, g) for p, g in zip(params, grads))  # no .grad changed
    params[0].data -= 1.0  # copy-on-write still holds for the graph built before
    assert np.array_equal(Z1.parents[0].factor(0), copies[0])  # the factor W1: the old values
    Z1.backward(np.ones(Z1.shape, np.float32))
    assert np.allclose(Xv.grad, np.ones(Z1.shape) @ copies[0].T)
    assert net.layers[0](X).parents[0].factor(0) is None  # X a constant: no factor for it


def test_gradcheck_restores_the_parameters_when_fn_fails():
    w = Value(np.array([1.0, 2.0]), "w")
    before, calls = w._data, []

    def fn(vs):  # noqa: ANN001, ANN202
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return (vs[0] * vs[0]).sum()

    with pytest.raises(RuntimeError, match="boom"):
        ag.gradcheck(fn, [w])
    assert w._data is before and w.data.tolist() == [1.0, 2.0] and w._grad is None


def test_gradcheck_refuses_a_closure_that_ignores_all_its_inputs():
    net, X, Y = _net_and_data()
    copies = [Value(p.data) for p in net.parameters()]  # the old, vacuous way
    with pytest.raises(ValueError, match=r"fn's output does not depend on input 0: .* pass the "
                       r"Values fn reads \(e.g. net.parameters\(\), not copies of them\)"):
        ag.gradcheck(lambda ps: ag.mse_loss(net(X), Y), copies)


def test_gradcheck_names_an_input_the_output_does_not_depend_on():
    x, y = Value(np.array([1.0, 2.0]), "x"), Value(3.0, "y")
    with pytest.raises(ValueError, match=r"does not depend on input 1 \('y'\)"):
        ag.gradcheck(lambda v: (v[0] * 2.0).sum(), [x, y])
    # an input whose factor is zero is still in the graph: it is checked, and passes
    assert ag.gradcheck(lambda v: (v[0] * 2.0).sum() + 0.0 * v[1], [x, y])


def test_gradcheck_says_when_fn_reads_an_inputs_data_outside_the_graph():
    x = Value(np.array([1.0, 2.0]), "x")
    with pytest.raises(ag.GradcheckError) as e:
        ag.gradcheck(lambda v: (Value(v[0].data) * 3.0).sum(), [x])
    assert e.value.analytic == 0.0 and e.value.numeric == pytest.approx(3.0)
    assert "does not reach this input" in str(e.value)

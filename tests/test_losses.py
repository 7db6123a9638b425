"""Losses: values, reductions, stability at extreme inputs, and clear errors."""

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value


def test_mse_reductions_loss_vs_cost():
    pred, y = Value(np.array([1.0, 2.0, 4.0])), np.array([0.0, 2.0, 2.0])
    per_sample = ag.mse_loss(pred, y, reduction="none")
    assert np.array_equal(per_sample.data, [1.0, 0.0, 4.0])  # the loss L
    assert ag.mse_loss(pred, y).item() == pytest.approx(5 / 3)  # the cost J
    assert ag.mse_loss(pred, y, reduction="sum").item() == 5.0
    J = ag.mse_loss(pred, y)
    J.backward()
    assert np.allclose(pred.grad, 2 * (pred.data - y) / 3)  # dJ/dA = 2(A − Y)/m


def test_mse_on_scalars_and_with_a_number_target():
    a = Value(3.0)
    L = ag.mse_loss(a, 1.0)
    L.backward()
    assert L.item() == 4.0 and a.grad == 4.0


def test_mse_refuses_silent_broadcasting():
    with pytest.raises(ValueError, match="target shape"):
        ag.mse_loss(Value(np.ones((4, 1))), np.ones(4))
    with pytest.raises(ValueError, match="reduction"):
        ag.mse_loss(Value(1.0), 1.0, reduction="avg")


def test_binary_cross_entropy_matches_the_formula():
    p, t = np.array([0.1, 0.5, 0.9]), np.array([0.0, 1.0, 1.0])
    P = Value(p)
    L = ag.binary_cross_entropy(P, t)
    assert L.item() == pytest.approx(np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))))
    L.backward()
    assert np.allclose(P.grad, (p - t) / (p * (1 - p)) / 3)


def test_binary_cross_entropy_is_clipped_at_0_and_1():
    P = Value(np.array([0.0, 1.0, 0.0, 1.0]))
    L = ag.binary_cross_entropy(P, np.array([1.0, 0.0, 0.0, 1.0]), reduction="none")
    assert np.array_equal(L.data, [100.0, 100.0, 0.0, 0.0])
    L.sum().backward()
    assert np.all(np.isfinite(P.grad))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("p", [
    [0.1, 0.5, 0.9, 0.3],          # no log is clipped, no p(1 − p) is floored
    [0.0, 1.0, 0.25, 0.75],        # logs of 0: clipped at −100
    [1e-14, 0.5, 1e-45, 0.999],    # p(1 − p) below 1e-12: floored in the backward
])
def test_binary_cross_entropy_equals_pytorchs_formula_bit_for_bit(p, dtype):
    """The loss −(t·max(log p, −100) + (1 − t)·max(log(1 − p), −100)) and its derivative
    (p − t) / max(p(1 − p), 1e-12), written out in NumPy, whichever shortcut applies."""
    p, t = np.array(p, dtype), np.array([1.0, 0.0, 0.0, 1.0], dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        lp, lq = np.maximum(np.log(p), -100), np.maximum(np.log(1 - p), -100)
        dp = (p - t) / np.maximum(p * (1 - p), 1e-12)  # 1e-12 is 0 in float16: 0/0 at p = t = 0
    P = Value(p)
    L = ag.binary_cross_entropy(P, t, reduction="none")
    assert L.dtype == dtype
    assert np.array_equal(L.data, -(t * lp + (1 - t) * lq))
    with np.errstate(divide="ignore", invalid="ignore"):
        L.backward(np.ones(4, dtype))
    assert P.grad.dtype == dtype
    assert np.array_equal(P.grad, dp, equal_nan=True)
    T = Value(t)  # a target that is a Value gets log(1 − p) − log p
    ag.binary_cross_entropy(p, T, reduction="none").backward(np.ones(4, dtype))
    assert np.array_equal(T.grad, lq - lp)


def test_binary_cross_entropy_rejects_non_probabilities():
    for bad in ([1.5], [-0.1], [np.nan]):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            ag.binary_cross_entropy(Value(np.array(bad)), np.array([1.0]))
    for bad in ([2.0], [-1e-300], [1 + 2**-52], [np.inf], [np.nan]):
        with pytest.raises(ValueError, match=r"target must lie"):
            ag.binary_cross_entropy(Value(np.array([0.5])), np.array(bad))
    for bad in ([-5e-324], [1 + 2**-52], [-np.inf], [np.inf]):
        with pytest.raises(ValueError, match=r"prob must lie"):
            ag.binary_cross_entropy(Value(np.array(bad)), np.array([0.5]))
    with pytest.raises(ValueError, match=r"prob must lie"):  # the prob is named first
        ag.binary_cross_entropy(Value(np.array([1.5])), np.array([2.0]))
    edges = np.array([0.0, -0.0, 1.0, 5e-324, 1 - 2**-53])  # all in [0, 1]
    for p, t in ((edges, np.full(5, 0.5)), (np.full(5, 0.5), edges)):
        assert np.all(np.isfinite(ag.binary_cross_entropy(Value(p), t, "none").data))


def test_bce_with_logits_equals_bce_of_sigmoid_and_is_stable():
    z = np.array([-3.0, -0.5, 0.0, 2.0])
    t = np.array([0.0, 1.0, 1.0, 0.0])
    a = ag.binary_cross_entropy_with_logits(Value(z), t).item()
    b = ag.binary_cross_entropy(Value(1 / (1 + np.exp(-z))), t).item()
    assert a == pytest.approx(b, rel=1e-12)
    Z = Value(np.array([1000.0, -1000.0, 1000.0, -1000.0]))
    L = ag.binary_cross_entropy_with_logits(Z, np.array([0.0, 1.0, 1.0, 0.0]), reduction="none")
    assert np.array_equal(L.data, [1000.0, 1000.0, 0.0, 0.0])
    L.sum().backward()
    assert np.array_equal(Z.grad, [1.0, -1.0, 0.0, 0.0])
    s = Value(-1000.0)
    ag.binary_cross_entropy_with_logits(s, 1.0).backward()
    assert s.grad == -1.0


def test_cross_entropy_matches_log_softmax_and_its_gradient():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 3))
    y = np.array([0, 2, 1, 2])
    Z = Value(z)
    L = ag.cross_entropy(Z, y)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert L.item() == pytest.approx(-logp[np.arange(4), y].mean())
    L.backward()
    p = np.exp(logp)
    p[np.arange(4), y] -= 1
    assert np.allclose(Z.grad, p / 4)


def test_cross_entropy_is_finite_and_correct_at_extreme_logits():
    Z = Value(np.array([[1000.0, -1000.0], [1000.0, -1000.0], [-1000.0, 1000.0]]))
    L = ag.cross_entropy(Z, [1, 0, 1], reduction="none")
    assert np.array_equal(L.data, [2000.0, 0.0, 0.0])
    L.sum().backward()
    assert np.array_equal(Z.grad, [[1.0, -1.0], [0.0, 0.0], [0.0, 0.0]])
    single = ag.cross_entropy(Value(np.array([0.0, 1000.0, 0.0])), 0)
    assert single.item() == pytest.approx(1000.0)


def test_cross_entropy_rejects_bad_labels():
    Z = Value(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="integer"):
        ag.cross_entropy(Z, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        ag.cross_entropy(Z, [0, 3])
    with pytest.raises(ValueError, match="shape"):
        ag.cross_entropy(Z, [0, 1, 2])
    with pytest.raises(ValueError, match="class axis"):
        ag.cross_entropy(Value(1.0), [0])
    with pytest.raises(ValueError, match="reduction"):
        ag.cross_entropy(Z, [0, 1], reduction="mean ")

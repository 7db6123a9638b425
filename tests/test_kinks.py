"""Exact values at kinks: the recorded subgradient, multiplied (never assigned)."""

import asyncio
import math
import threading

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value

S_VALUES = (0.0, 0.5, 1.0)
DTYPES = (np.float16, np.float32, np.float64)


@pytest.mark.parametrize("s", S_VALUES)
@pytest.mark.parametrize("zero", (0.0, -0.0))
def test_relu_derivative_at_zero_is_the_subgradient(s, zero):
    x = Value(zero)
    x.relu(subgradient=s).backward()
    assert x.grad == s
    with ag.relu_subgradient(s):
        y = Value(zero)
        ag.relu(y).backward()
    assert y.grad == s


@pytest.mark.parametrize("s", S_VALUES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_tensor_at_zero(s, dtype):
    x = Value(np.array([-1.0, 0.0, -0.0, 2.0], dtype))
    x.relu(subgradient=s).sum().backward()
    assert x.grad.dtype == dtype
    assert np.array_equal(x.grad, np.array([0.0, s, s, 1.0], dtype))


@pytest.mark.parametrize("s", S_VALUES)
@pytest.mark.parametrize("zero", (0.0, -0.0))
def test_relu_x_minus_relu_minus_x_gives_2s(s, zero):
    # relu(x) − relu(−x) = x everywhere, yet at 0 both ReLUs sit on their kink: s + s
    x = Value(zero)
    with ag.relu_subgradient(s):
        (x.relu() - (-x).relu()).backward()
    assert x.grad == 2 * s
    t = Value(np.array([zero, 3.0, -2.0]))
    (t.relu(subgradient=s) - (-t).relu(subgradient=s)).sum().backward()
    assert np.array_equal(t.grad, [2 * s, 1.0, 1.0])


@pytest.mark.parametrize("s", (0.5, 1.0))
def test_relu_derivative_reads_the_input_not_the_output(s):
    # relu(−1) = relu(0) = 0: from the output alone a negative input looks like a kink
    for x in (Value(-1.0), Value(np.array([-1.0]))):
        y = x.relu(subgradient=s)
        assert x in y.parents
        y.sum().backward()
        assert float(np.sum(x.grad)) == 0.0


@pytest.mark.parametrize("s", S_VALUES)
def test_backward_multiplies_by_the_subgradient_never_assigns_it(s):
    x = Value(0.0)
    (3 * x.relu(subgradient=s)).backward()
    assert x.grad == 3 * s
    y = Value(0.0)
    (0 * y.relu(subgradient=s)).backward()
    assert y.grad == 0.0
    t = Value(np.zeros(3))
    (t.relu(subgradient=s) * np.array([0.0, 2.0, -5.0])).sum().backward()
    assert np.array_equal(t.grad, [0.0, 2 * s, -5 * s])


@pytest.mark.parametrize("s", S_VALUES)
def test_neuron_exactly_on_the_kink(s):
    # z = w·x + b = 2 - 2 + 0 = 0; L = (relu(z) - 1)^2; dL/dw = -2 s x
    x, w, b = np.array([1.0, 2.0]), Value(np.array([2.0, -1.0])), Value(0.0)
    z = x @ w + b
    assert z.item() == 0.0
    ((z.relu(subgradient=s) - 1) ** 2).backward()
    assert np.array_equal(w.grad, [-2 * s, -4 * s])
    ws = [Value(2.0), Value(-1.0)]  # the same neuron on scalars
    z = ws[0] * 1.0 + ws[1] * 2.0 + Value(0.0)
    ((z.relu(subgradient=s) - 1) ** 2).backward()
    assert [w.grad for w in ws] == [-2 * s, -4 * s]


@pytest.mark.parametrize("s", S_VALUES)
def test_keras_seed_example(s):
    # seed 002: inputs [-1, 0, 1, 2], target 1, mean squared error over the 4 samples
    x = Value(np.array([-1.0, 0.0, 1.0, 2.0]))
    ag.mse_loss(x.relu(subgradient=s), np.ones(4)).backward()
    assert np.array_equal(x.grad, [0.0, -s / 2, 0.0, 0.5])


@pytest.mark.parametrize("zero", (0.0, -0.0))
def test_leaky_relu_at_zero_defaults_to_the_slope(zero):
    x = Value(np.array([-2.0, zero, 3.0]))
    x.leaky_relu(0.1).sum().backward()
    assert np.array_equal(x.grad, [0.1, 0.1, 1.0])
    y = Value(np.array([-2.0, zero, 3.0]))
    y.leaky_relu(0.1, subgradient=0.6).sum().backward()
    assert np.array_equal(y.grad, [0.1, 0.6, 1.0])
    for s in (None, 0.2, 0.55, 1.0):
        z = Value(zero)
        (3 * z.leaky_relu(0.2, subgradient=s)).backward()
        assert z.grad == 3 * (0.2 if s is None else s)
    assert ag.leaky_relu(Value(zero), 0.3).params["subgradient"] == 0.3


def test_leaky_relu_backward_multiplies_the_upstream_gradient():
    # seed 003: dL/dZ = dL/dA * dA/dZ, not dA/dZ alone
    z = Value(np.array([-2.0, 0.0, 3.0]))
    (z.leaky_relu(0.01) * np.array([5.0, 7.0, 2.0])).sum().backward()
    assert np.allclose(z.grad, [0.05, 0.07, 2.0])
    assert not np.allclose(z.grad, [0.01, 0.01, 2.0])


@pytest.mark.parametrize("zero", (0.0, -0.0))
def test_abs_at_zero(zero):
    x = Value(np.array([-2.0, zero, 3.0]))
    x.abs().sum().backward()
    assert np.array_equal(x.grad, [-1.0, 0.0, 1.0])
    y = Value(zero)
    (5 * ag.abs(y)).backward()  # default abs'(0) = 0, as PyTorch
    assert y.grad == 0.0
    for s in (-1.0, -0.25, 0.3, 1.0):
        y = Value(zero)
        (2 * y.abs(subgradient=s)).backward()
        assert y.grad == 2 * s
        t = Value(np.array([zero, -1.0]))
        (ag.abs(t, subgradient=s) * np.array([3.0, 3.0])).sum().backward()
        assert np.array_equal(t.grad, [3 * s, -3.0])


def test_kinks_are_counted_and_listed():
    x = Value(np.array([-1.0, 0.0, -0.0, 2.0]), "x")
    h = x.relu(subgradient=0.5)
    h.label = "h"
    L = (h.abs() + x.leaky_relu(0.1)).sum()
    found = ag.kinks(L)
    assert [(k.op, k.count) for k in found] == [("leaky_relu", 2), ("abs", 3), ("relu", 2)]
    relu = [k for k in found if k.op == "relu"][0]
    assert relu.node is h and relu.subgradient == 0.5
    assert str(relu) == "relu 'h': 2 of 4 inputs exactly 0 (relu'(0) = 0.5)"
    assert ag.kinks(Value(1.0).relu() * 2) == []
    assert h.params == {"subgradient": 0.5, "kinks": 2}


def test_the_choice_is_recorded_when_the_op_is_built():
    x = Value(0.0)
    with ag.relu_subgradient(1.0):
        y = x.relu()
    assert ag.get_relu_subgradient() == 0.0
    y.backward()
    assert x.grad == 1.0
    with ag.relu_subgradient(0.0):
        z = Value(0.0)
        y2 = z.relu()
    with ag.relu_subgradient(1.0):
        y2.backward()  # backward never reads the policy
    assert z.grad == 0.0


def test_context_manager_nests_and_restores():
    assert ag.get_relu_subgradient() == 0.0
    with ag.relu_subgradient(1) as s:
        assert s == 1.0 and ag.get_relu_subgradient() == 1.0
        with ag.relu_subgradient(0.25):
            assert ag.get_relu_subgradient() == 0.25
        assert ag.get_relu_subgradient() == 1.0
    assert ag.get_relu_subgradient() == 0.0
    with pytest.raises(RuntimeError), ag.relu_subgradient(1.0):
        raise RuntimeError
    assert ag.get_relu_subgradient() == 0.0


BAD = [math.nan, math.inf, -math.inf, True, False, "0.5", None, 1.5, -0.1, 1 + 0j, [0.5]]


@pytest.mark.parametrize("s", BAD)
def test_bad_subgradients_are_rejected_naming_the_range(s):
    if s is not None:
        with pytest.raises(ValueError, match=r"\[0, 1\]"), ag.relu_subgradient(s):
            pass
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            Value(0.0).relu(subgradient=s)
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            ag.relu(Value(0.0), subgradient=s)
    else:
        with pytest.raises(ValueError, match=r"\[0, 1\]"), ag.relu_subgradient(s):
            pass


@pytest.mark.parametrize("s", [x for x in BAD if x is not None] + [1.01, 0.05])
def test_bad_leaky_and_abs_subgradients_are_rejected_naming_the_range(s):
    with pytest.raises(ValueError, match=r"\[0.1, 1\]"):
        Value(0.0).leaky_relu(0.1, subgradient=s)
    with pytest.raises(ValueError, match=r"\[0.1, 1\]"):
        ag.leaky_relu(Value(np.zeros(2)), 0.1, subgradient=s)
    if not (type(s) is float and -1.0 <= s <= 1.0):  # 0.05 and −0.1 are fine for abs
        with pytest.raises(ValueError, match=r"\[-1, 1\]"):
            Value(0.0).abs(subgradient=s)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        ag.abs(Value(0.0), subgradient=-1.5)


def test_leaky_and_abs_subgradient_validation():
    with pytest.raises(ValueError, match=r"\[0.1, 1\]"):
        Value(0.0).leaky_relu(0.1, subgradient=0.05)
    with pytest.raises(ValueError, match=r"\[0.1, 1\]"):
        Value(0.0).leaky_relu(0.1, subgradient=math.nan)
    with pytest.raises(ValueError, match="slope"):
        Value(0.0).leaky_relu(math.inf)
    with pytest.raises(ValueError, match="slope"):
        Value(0.0).leaky_relu("0.1")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        Value(0.0).abs(subgradient=2)
    Value(0.0).leaky_relu(2.0, subgradient=1.5)  # slope above 1: s lies in [1, 2]


def test_policy_is_isolated_between_threads():
    barrier = threading.Barrier(2)
    seen = {}

    def inside():
        with ag.relu_subgradient(1.0):
            barrier.wait()  # both threads are now running
            x = Value(0.0)
            x.relu().backward()
            seen["inside"] = x.grad
            barrier.wait()

    def outside():
        barrier.wait()
        x = Value(0.0)
        x.relu().backward()
        seen["outside"] = (x.grad, ag.get_relu_subgradient())
        barrier.wait()

    threads = [threading.Thread(target=inside), threading.Thread(target=outside)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"inside": 1.0, "outside": (0.0, 0.0)}


def test_policy_is_isolated_between_asyncio_tasks():
    async def task(s, started, other_started):
        with ag.relu_subgradient(s):
            started.set()
            await other_started.wait()  # the other task set its own value meanwhile
            x = Value(0.0)
            x.relu().backward()
            return x.grad, ag.get_relu_subgradient()

    async def main():
        a, b = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(task(1.0, a, b), task(0.25, b, a))

    assert asyncio.run(main()) == [(1.0, 1.0), (0.25, 0.25)]
    assert ag.get_relu_subgradient() == 0.0


# --- the kinks of max, min, maximum, minimum, clip and sqrt: PyTorch's choices, counted -------


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_and_min_ties_share_the_gradient_equally(dtype):
    x = Value(np.array([1.0, 3.0, 3.0, -2.0], dtype))
    m = x.max()
    (5 * m).backward()
    assert x.grad.dtype == dtype and np.array_equal(x.grad, [0.0, 2.5, 2.5, 0.0])
    assert m.params["kinks"] == 2
    y = Value(np.array([[0.0, -0.0, 4.0], [2.0, 2.0, 2.0]], dtype))  # 0 and −0 tie
    n = y.min(axis=1)
    (n * np.array([6.0, 3.0], dtype)).sum().backward()
    assert np.array_equal(y.grad, [[3.0, 3.0, 0.0], [1.0, 1.0, 1.0]])
    assert n.params["kinks"] == 5
    z = Value(np.array([[1.0, 2.0], [3.0, 0.5]]))
    z.max(axis=0, keepdims=True).sum().backward()  # no tie: all of g to the one max
    assert np.array_equal(z.grad, [[0.0, 1.0], [1.0, 0.0]])
    assert ag.kinks(z.max(axis=0)) == []


def test_maximum_and_minimum_ties_give_each_side_half():
    x, y = Value(2.0), Value(2.0)
    (3 * ag.maximum(x, y)).backward()
    assert (x.grad, y.grad) == (1.5, 1.5)
    a = Value(np.array([1.0, 2.0, 0.0, -1.0]))
    b = Value(np.array([[1.0], [0.0]]))  # broadcast to (2, 4), with two ties
    out = ag.minimum(a, b)
    out.sum().backward()
    assert np.array_equal(a.grad, [0.5, 0.0, 1.5, 2.0])
    assert np.array_equal(b.grad, [[1.5], [2.5]])
    assert [str(k) for k in ag.kinks(out.sum())] == [
        "minimum: 2 of 8 inputs tied (x = y) (∂min/∂x = ∂min/∂y = ½)"]
    w = Value(np.array([-1.0, 0.5]))
    ag.maximum(w, w).sum().backward()  # both edges go to w: ½ + ½
    assert np.array_equal(w.grad, [1.0, 1.0])
    z = Value(0.0)
    ag.maximum(z, 0.0).backward()  # maximum(z, 0) is not relu: ½ at the tie
    assert z.grad == 0.5


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_derivative_is_one_on_the_bounds(dtype):
    x = Value(np.array([-2.0, -1.0, 0.0, 1.0, 3.0], dtype))
    y = x.clip(-1, 1)
    (y * np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype)).sum().backward()
    assert x.grad.dtype == dtype and np.array_equal(x.grad, [0.0, 2.0, 3.0, 4.0, 0.0])
    assert y.params["kinks"] == 2
    s = Value(0.5)
    ag.clip(s, 0.5, 0.5).backward()  # lo == hi: the one point is on both bounds
    assert s.grad == 1.0 and ag.kinks(ag.clip(Value(0.5), 0.5, 0.5))[0].count == 1
    t = Value(np.array([-3.0, 0.0, 2.0]))
    ag.clip(t, None, 0.0).sum().backward()
    assert np.array_equal(t.grad, [1.0, 1.0, 0.0])


@pytest.mark.parametrize("zero", (0.0, -0.0))
def test_sqrt_at_zero_is_inf_and_a_kink(zero):
    inf = math.copysign(math.inf, zero)  # √−0 = −0, so 1/(2√x) is −inf there (IEEE, PyTorch)
    x = Value(zero)
    x.sqrt().backward()
    assert x.grad == inf
    t = Value(np.array([zero, 4.0], np.float32))
    r = ag.sqrt(t)
    r.sum().backward()
    assert t.grad.dtype == np.float32 and t.grad.tolist() == [inf, 0.25]
    assert r.params["kinks"] == 1


def test_new_kinks_are_listed_and_worded_by_their_rule():
    x = Value(np.array([1.0, 3.0, 3.0]), "x")
    m = x.max()
    m.label = "m"
    c = x.clip(1, 2)
    L = m + ag.sqrt(x - 1).sum() + ag.maximum(x, 3.0).sum() + c.sum()
    words = sorted(str(k) for k in ag.kinks(L))
    assert words == [
        "clip: 1 of 3 inputs exactly on a bound (clip' = 1 (PyTorch clamp))",
        "max 'm': 2 of 3 inputs tied for the max (∂max/∂x = 1/#ties)",
        "maximum: 2 of 3 inputs tied (x = y) (∂max/∂x = ∂max/∂y = ½)",
        "sqrt: 1 of 3 inputs exactly 0 (sqrt'(0) = inf (PyTorch))",
    ]
    assert all(math.isnan(k.subgradient) for k in ag.kinks(L))
    assert str(ag.kinks(ag.maximum(Value(1.0), 1.0))[0]) == \
        "maximum: 1 input tied (x = y) (∂max/∂x = ∂max/∂y = ½)"

"""The fast paths keep the table's meaning: fused scalar forms, and the backward sweep that
keeps each cotangent on its node while it runs (failures, nesting, threads)."""

import math
import threading

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value
from autograd_lite.backward import toposort

POINTS = [-2.5, -1.0, -0.3, -0.0, 0.0, 0.4, 1.0, 3.0, math.inf, -math.inf, math.nan]
PARAMS = {"pow": [{"p": p} for p in (0.0, 1.0, 2.0, 3.0, 0.5, -1.0, -2.5)],
          "relu": [{"subgradient": s} for s in (0.0, 0.5, 1.0)],
          "leaky_relu": [{"slope": 0.1, "subgradient": s} for s in (0.1, 0.7)],
          "abs": [{"subgradient": s} for s in (0.0, -0.5, 1.0)]}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                  math.copysign(1, b))


def test_failed_backward_leaves_every_grad_as_it_was():
    boom = ag.custom_op("boom_vjp", lambda x: x * 2, vjp=lambda g, x, out: 1 / 0)
    w, s = Value(np.ones(3)), Value(2.0)
    (w * 3).sum().backward()
    before = w.grad.copy()
    L = (boom(w * s) + w).sum() * s
    with pytest.raises(ZeroDivisionError):
        L.backward()
    assert np.array_equal(w.grad, before)
    assert s._grad is None and all(v._grad is None for v in toposort(L) if v is not w)


def test_backward_inside_a_vjp_adds_to_the_same_grads():
    w = Value(np.array([3.0]))
    m = w * 1.0

    seen = []

    def inner_vjp(g, x, out):  # runs during the outer sweep, on a graph sharing w and m
        u = Value(x.copy())
        (u * m * w).sum().backward()
        seen.append(u.grad.tolist())  # a node of the inner graph only: its grad is there now
        return g * 2 * x

    sq = ag.custom_op("square_with_inner_backward", lambda x: x * x, vjp=inner_vjp)
    (sq(m) + w).sum().backward()
    # outer: dL/dw = 2·w + 1 = 7; inner: d(u·m·w)/dw = 2·u·w = 18, d(u·m·w)/dm = u·w = 9
    assert w.grad.tolist() == [7.0 + 18.0]
    assert m.grad.tolist() == [6.0 + 9.0]
    assert seen == [[9.0]]


def test_threads_running_backward_each_add_their_part():
    w = Value(np.arange(4.0))
    barrier = threading.Barrier(4)

    def work(k: float) -> None:
        barrier.wait()
        for _ in range(20):
            ((w * k).sum() + (w * w).sum()).backward()

    threads = [threading.Thread(target=work, args=(float(k),)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = sum(20 * (k + 2 * np.arange(4.0)) for k in range(4))
    assert np.allclose(w.grad, want)


def test_second_backward_on_a_scalar_graph_adds_one_more():
    xs = [Value(float(i) / 7) for i in range(6)]
    h = [x * x + x.tanh() for x in xs]
    L = sum(a * b for a, b in zip(h, h[1:])).relu()
    L.backward()
    first = [v.grad for v in toposort(L)]
    L.backward()
    assert [v.grad for v in toposort(L)] == [g + g for g in first]


def test_grad_read_during_a_sweep_is_the_old_grad_until_the_node_is_passed():
    """A custom op's backward that reads .grad mid-sweep sees the .grad from before this
    backward for a node whose dL/dnode is not final yet, never a partial sum."""
    w = Value(np.array([1.0, 2.0]))
    (w * 3.0).sum().backward()  # w.grad = [3, 3]
    seen = []
    peek = ag.custom_op("peek_grad", lambda x: x + 0,
                        vjp=lambda g, x, out: seen.append(w.grad.copy()) or g)
    (peek(w * 2.0) + w * 5.0).sum().backward()
    assert np.array_equal(seen[0], [3.0, 3.0])
    assert np.array_equal(w.grad, [3.0 + 2.0 + 5.0] * 2)


def test_grad_read_during_a_scalar_sweep_is_the_old_grad():
    w = Value(1.5)
    (w * 3.0).backward()
    seen = []
    peek = ag.custom_op("peek_scalar_grad", lambda x: x + 0,
                        vjp=lambda g, x, out: seen.append(w.grad) or g)
    (peek(w * 2.0) + w * 5.0).backward()
    assert seen == [3.0] and w.grad == 10.0


def test_leaf_grads_own_their_arrays_even_when_the_chain_rule_passes_one_on():
    """Through + (factor 1) and reshape (a view) the cotangent array is passed on as is;
    a leaf's .grad is still an array of its own, which the user may change in place."""
    W = Value(np.arange(6.0).reshape(2, 3))
    Z = W + 0.0
    R = Z.reshape(6)
    L = (R * 2.0).sum()
    L.backward()
    for other in (Z, R):
        assert not np.shares_memory(W.grad, other.grad)
    assert W.grad.base is None and W.grad.flags.writeable
    W.grad[...] = 0.0
    assert np.array_equal(Z.grad, np.full((2, 3), 2.0))


def test_two_leaves_passed_the_same_array_each_own_one():
    a, b = Value(np.ones(3)), Value(np.ones(3))
    S = a + b  # both factors are 1: the same cotangent array goes to a and to b
    same = ag.custom_op("same_array", lambda x: x + 0, vjp=lambda g, x, out: g)
    c = Value(np.ones(3))
    T = same(c) * 1.0
    for root in (S, T):
        root.backward(np.full(3, 2.0))
    for x, y in ((a, b), (a, S), (b, S), (c, T)):
        assert not np.shares_memory(x.grad, y.grad)
    a.grad[...] = 0.0
    assert np.array_equal(b.grad, [2.0] * 3) and np.array_equal(S.grad, [2.0] * 3)

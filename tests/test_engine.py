"""Engine semantics: leaves, constants, reuse, repeated backward, broadcasting, dtypes,
deep chains, memory and reference cycles."""

import gc
import threading
import time
import tracemalloc

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value
from autograd_lite.backward import toposort


def test_leaf_data_kinds():
    assert type(Value(3).data) is float and Value(3).data == 3.0
    assert type(Value(np.float64(2.5)).data) is float
    assert Value(np.float32(2.5)).dtype == np.float32 and Value(np.float32(2.5)).shape == ()
    for dtype in (np.float16, np.float32, np.float64):
        assert Value(np.ones(3, dtype)).dtype == dtype
    assert Value(np.arange(3)).dtype == np.float64
    assert Value([[1, 2], [3, 4]]).shape == (2, 2)
    assert Value(2.0).shape == () and Value(2.0).dtype == np.float64


@pytest.mark.parametrize("bad", [True, np.array([True]), "1.0", None, 1j, np.array([1j]),
                                 [[1, 2], [3]], {1: 2}, np.array(["a"])])
def test_leaf_rejects_non_numbers(bad):
    with pytest.raises(TypeError):
        Value(bad)


def test_leaf_rejects_a_value_and_a_bad_label():
    with pytest.raises(TypeError, match="Value"):
        Value(Value(1.0))
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)


def test_leaf_owns_its_array():
    a = np.ones(3)
    v = Value(a)
    a[0] = 5.0
    assert v.data[0] == 1.0


def test_grad_is_zero_before_backward_with_shape_and_dtype():
    assert Value(1.0).grad == 0.0
    g = Value(np.ones((2, 3), np.float32)).grad
    assert g.shape == (2, 3) and g.dtype == np.float32 and not g.any()


def test_value_has_slots_and_parents_are_an_ordered_tuple():
    x, y = Value(np.ones(2)), Value(3.0)
    for v in (x, y, x * y, y * y, (x * y).sum(), -y, y.relu()):
        assert not hasattr(v, "__dict__")
        with pytest.raises(AttributeError):
            v.extra = 1
    out = y - x
    assert type(out.parents) is tuple and out.parents == (y, x)
    assert (2.0 - y).parents == (2.0, y)


def test_value_cannot_be_subclassed():
    with pytest.raises(TypeError, match="subclassed"):
        class Sub(Value):
            pass


def test_constants_get_no_gradient_and_arrays_on_the_left_work():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    W = Value(np.array([[1.0], [-1.0]]))
    b = Value(0.5)
    out = X @ W + b
    assert isinstance(out, Value) and out.shape == (2, 1)
    assert all(not isinstance(p, Value) for p in (X @ W).parents[:1])
    (np.ones((2, 1)) + out).sum().backward()
    assert np.array_equal(W.grad, X.T @ np.ones((2, 1)))
    assert b.grad == 2.0
    y = 2 - Value(3.0)
    y.backward()
    assert y.data == -1.0 and y.parents[1].grad == -1.0


def test_operators_take_arrays_and_numbers_on_either_side():
    A = np.array([[1.0, 2.0], [3.0, -4.0]])  # a constant on the left, v = [2, 2] on the right
    cases = [(lambda v: A + v, [2.0, 2.0]), (lambda v: A - v, [-2.0, -2.0]),
             (lambda v: A * v, [4.0, -2.0]), (lambda v: A / v, [-1.0, 0.5]),
             (lambda v: A @ v, [4.0, -2.0]), (lambda v: v @ A, [3.0, -1.0]),
             (lambda v: 2.0 - v, [-1.0, -1.0]), (lambda v: 3 / v, [-0.75, -0.75])]
    for make, expected in cases:
        v = Value(np.array([2.0, 2.0]))
        out = make(v)
        assert type(out) is Value
        out.sum().backward()
        assert np.array_equal(v.grad, expected)


def test_constants_get_no_gradient_computed(monkeypatch):
    from autograd_lite import ops
    calls = []
    chain, other = ops.MATMUL.chains  # what backward calls for dL/dX and dL/dW
    monkeypatch.setattr(ops.MATMUL, "chains",
                        (lambda g, args: calls.append(1) or chain(g, args), other))
    X, W = np.ones((5, 4)), Value(np.ones((4, 3)))
    (X @ W).sum().backward()
    assert calls == []  # X @ W with a data batch X costs no dL/dX
    (Value(X) @ W).sum().backward()
    assert calls == [1]

    def never(g, x, y, out):
        raise AssertionError("the derivative of a constant input was computed")

    pair = ag.custom_op("pair_const", lambda x, y: x * y,
                        vjp=(lambda g, x, y, out: g * y, never))
    t = Value(np.array([1.0, 2.0]))
    pair(t, np.array([3.0, 4.0])).sum().backward()
    assert np.array_equal(t.grad, [3.0, 4.0])


def test_reuse_adds_paths():
    a = Value(3.0)
    b = a + a
    c = b * b
    c.backward()
    assert b.grad == 12.0 and a.grad == 24.0  # dc/da = 2b·2
    x = Value(3.0)
    sq = x * x
    assert sq.parents == (x, x)  # two edges, not a set
    sq.backward()
    assert x.grad == 6.0


def test_second_backward_adds_exactly_one_more():
    x = Value(2.0)
    h = x * x
    L = h * 3.0
    L.backward()
    first = (x.grad, h.grad, L.grad)
    L.backward()
    assert (x.grad, h.grad, L.grad) == tuple(2 * g for g in first)
    t = Value(np.array([1.0, -2.0]))
    u = (t * t).sum()
    u.backward()
    u.backward()
    assert np.array_equal(t.grad, 2 * 2 * t.data)


def test_second_backward_adds_one_more_on_tensor_intermediates():
    t = Value(np.array([1.0, -2.0, 0.5]))
    h = t * t
    r = h.relu(subgradient=1.0)
    L = (r * 3.0).sum()
    L.backward()
    first = [np.array(v.grad) for v in (t, h, r)] + [L.grad]
    assert np.array_equal(first[1], [3.0, 3.0, 3.0]) and np.array_equal(first[0], 6 * t.data)
    L.backward()
    for v, g in zip((t, h, r, L), first):
        assert np.array_equal(v.grad, 2 * g)
    h.backward(np.ones(3))  # from an intermediate: one more dh/dnode, nothing else moves
    assert np.array_equal(t.grad, 2 * first[0] + 2 * t.data)
    assert np.array_equal(h.grad, 2 * first[1] + 1) and np.array_equal(r.grad, 2 * first[2])


def test_zero_grad_resets():
    x = Value(np.ones(2))
    (x * 2).sum().backward()
    x.zero_grad()
    assert not x.grad.any()


def test_backward_is_linear():
    rng = np.random.default_rng(0)
    x1 = Value(rng.normal(size=(3, 2)))
    f = lambda v: (v.tanh() * v).sum()  # noqa: E731
    g = lambda v: (v.exp() - v ** 2).mean()  # noqa: E731
    (f(x1) + 2 * g(x1)).backward()
    x2 = Value(x1.data)
    f(x2).backward()
    fg = x2.grad.copy()
    x2.zero_grad()
    g(x2).backward()
    assert np.allclose(x1.grad, fg + 2 * x2.grad)


def test_backward_is_linear_in_the_seed():
    rng = np.random.default_rng(1)
    x = Value(rng.normal(size=(2, 3)))
    y = (x.tanh() @ x.T).exp()
    g1, g2 = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    grads = []
    for seed in (g1, g2, 2.0 * g1 - 3.0 * g2):
        x.zero_grad()
        y.backward(seed)
        grads.append(x.grad.copy())
    assert np.allclose(grads[2], 2.0 * grads[0] - 3.0 * grads[1], rtol=1e-12, atol=1e-12)


def test_broadcast_gradients_sum_back_to_each_input_shape():
    a = Value(np.ones((3, 1)))
    b = Value(np.arange(4.0))
    c = Value(2.0)
    d = Value(np.ones((2, 1, 1)))
    out = a * b + c + d
    assert out.shape == (2, 3, 4)
    out.sum().backward()
    assert a.grad.shape == (3, 1) and np.allclose(a.grad, 2 * b.data.sum())
    assert b.grad.shape == (4,) and np.allclose(b.grad, 2 * 3)
    assert type(c.grad) is float and c.grad == 24.0
    assert d.grad.shape == (2, 1, 1) and np.allclose(d.grad, 12)


def test_non_scalar_root_needs_a_grad_of_its_shape():
    x = Value(np.ones(3))
    y = x * 2
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        y.backward(np.ones(2))
    y.backward(np.array([1.0, 0.0, -1.0]))
    assert np.array_equal(x.grad, [2.0, 0.0, -2.0])
    one = Value(np.ones((1, 1)))
    (one * 3).backward()  # a one-element root is seeded with 1
    assert one.grad[0, 0] == 3.0


def test_dtypes_are_kept_through_ops_and_gradients():
    for dtype in (np.float16, np.float32, np.float64):
        x = Value(np.array([[0.5, -1.0], [2.0, 0.25]], dtype))
        w = Value(np.array([1.0, 2.0], dtype))
        out = ((x @ w).relu() * 2.0 + 1).tanh().sum()
        assert out.dtype == dtype
        out.backward()
        assert x.grad.dtype == dtype and w.grad.dtype == dtype


def test_gradients_are_private_writable_arrays():
    a, b = Value(np.ones(2)), Value(np.ones(2))
    s = (a + b).reshape(2, 1).sum()
    s.backward()
    assert a.grad is not b.grad
    a.grad *= 5  # writable, and b is untouched
    assert np.array_equal(b.grad, [1.0, 1.0])
    r = Value(np.ones(4))
    r.reshape(2, 2).T.sum().backward()
    assert r.grad.base is None and r.grad.flags.writeable


def test_toposort_puts_every_node_before_its_inputs():
    x, y = Value(1.0), Value(2.0)
    a = x * y
    b = a + x
    c = b * a
    order = toposort(c)
    assert order[0] is c and set(order) == {x, y, a, b, c}
    pos = {id(v): i for i, v in enumerate(order)}
    for v in order:
        for p in v.parents:
            if isinstance(p, Value):
                assert pos[id(v)] < pos[id(p)]


def test_chain_of_a_million_ops():
    t0 = time.perf_counter()
    x = Value(1.0)
    y = x
    for _ in range(500_000):  # two ops per step: 10^6 ops
        y = y * 1.0000001 + 0.0
    y.backward()
    elapsed = time.perf_counter() - t0
    assert x.grad == pytest.approx(1.0000001 ** 500_000, rel=1e-9)
    print(f"10^6-op chain: build + backward {elapsed:.2f} s")


def test_graphs_are_freed_by_reference_counting():
    def step():
        w = Value(np.ones((4, 3)))
        x = np.ones((5, 4))
        loss = ((x @ w).relu() * 2).mean()
        s = [Value(float(i)) for i in range(20)]
        t = sum(si * si for si in s).tanh()
        (loss + t).backward()

    step()
    was = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(500):
            step()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert grown < 2_000_000, f"memory grew by {grown} bytes"
        assert gc.collect() == 0  # nothing was left for the cycle collector
    finally:
        if was:
            gc.enable()


def test_item_float_len_iter_and_repr():
    assert Value(2.5).item() == 2.5 and float(Value(2.5)) == 2.5
    t = Value(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert len(t) == 2 and [r.shape for r in t] == [(2,), (2,)]
    assert t.sum().item() == 10.0
    with pytest.raises(ValueError, match="one-element"):
        t.item()
    with pytest.raises(TypeError):
        len(Value(1.0))
    assert "label='w'" in repr(Value(1.0, "w"))
    assert "shape=(2, 2)" in repr(t)


def test_op_name_and_params_are_readable():
    x = Value(0.0, "x")
    y = x.leaky_relu(0.2)
    assert y.op == "leaky_relu" and x.op == ""
    assert y.params == {"slope": 0.2, "subgradient": 0.2, "kinks": 1}


def test_apply_checks_arity_and_params():
    from autograd_lite import ops
    from autograd_lite.value import apply
    with pytest.raises(TypeError, match="takes 2"):
        apply(ops.ADD, Value(1.0))
    with pytest.raises(TypeError, match="no parameters"):
        apply(ops.ADD, Value(1.0), 2.0, axis=0)
    with pytest.raises(TypeError, match="axis"):
        Value(np.ones(2)).sum(axis="0")
    with pytest.raises(TypeError, match="reshape"):
        Value(np.ones(2)).reshape("2")


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_bias_gradient_is_the_sum_over_the_batch(dtype):
    """Un-broadcasting (N, k) -> (k,) sums over the batch (by BLAS for float32/64); the
    bias's .grad is an array of its own, of its dtype, for every N and k."""
    rng = np.random.default_rng(0)
    for n, k in ((1, 1), (7, 1), (400, 8), (3, 300)):
        g = rng.normal(size=(n, k)).astype(dtype)
        b = Value(np.zeros(k, dtype))
        (Value(np.zeros((n, k), dtype)) + b).backward(g)
        want = g.astype(np.float64).sum(axis=0)
        tol = {np.float16: 1e-2, np.float32: 1e-5, np.float64: 1e-12}[dtype]
        assert b.grad.dtype == dtype and b.grad.shape == (k,)
        assert np.allclose(b.grad, want, rtol=tol, atol=tol * n)
        assert b.grad.flags.writeable and b.grad.base is None
        b.grad[...] = 5.0  # the next sum is not changed by it
        (Value(np.zeros((n, k), dtype)) + Value(np.zeros(k, dtype))).backward(g)
        assert np.allclose(b.grad, 5.0)
    c = Value(np.zeros(2))
    (Value(np.zeros((2, 2))) + c).backward(np.array([[np.inf, 1.0], [1.0, np.nan]]))
    assert np.array_equal(c.grad, [np.inf, np.nan], equal_nan=True)  # as np.sum has it


def test_detach_makes_a_new_leaf_and_stops_backward():
    w = Value(np.array([1.0, 2.0]), "w")
    h = w * 3.0
    c = h.detach()
    assert c.rule is None and c.parents == () and c.label == "" and np.array_equal(c.data, h.data)
    (c * w).sum().backward()  # c is a constant of w's graph now: only the direct path counts
    assert np.array_equal(w.grad, [3.0, 6.0]) and np.array_equal(h.grad, [0.0, 0.0])
    c.data += 1.0  # a leaf's array is its own: h is untouched
    assert np.array_equal(h.data, [3.0, 6.0])
    s = Value(1.5, "s")
    d = (s * s).detach()
    assert type(d.data) is float and d.data == 2.25 and d.rule is None
    W = Value(np.ones(3))
    for _ in range(3):  # the hand-written update, kept from growing a graph
        W.zero_grad()
        (W * W).sum().backward()
        W = (W - 0.1 * W.grad).detach()
    assert W.rule is None and np.allclose(W.data, 0.8 ** 3)


def test_no_grad_results_are_new_leaves():
    w, b = Value(2.0, "w"), Value(np.array([1.0, -1.0]), "b")
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        u = w * 3.0 + w  # the inlined scalar operators too
        t = (b * w).relu().sum()
        s = ag.stack([w, w])
    assert ag.is_grad_enabled()
    for leaf, want in ((u, 8.0), (t, 2.0), (s, [2.0, 2.0])):
        assert leaf.rule is None and leaf.parents == () and np.array_equal(leaf.data, want)
    assert type(u.data) is float and ag.kinks(t) == []
    (u * w).backward()  # u is a leaf of this graph: dL/dw = u only
    assert w.grad == 8.0 and u.grad == 2.0
    after = w * 3.0
    assert after.rule is not None and after.parents[0] is w


def test_no_grad_keeps_the_hand_written_update_from_growing_a_graph():
    W = Value(np.ones(3))
    for _ in range(50):
        W.zero_grad()
        (W * W).sum().backward()
        with ag.no_grad():
            W = W - 0.1 * W.grad
    assert W.rule is None and len(toposort((W * W).sum())) == 3
    assert np.allclose(W.data, 0.8 ** 50)


def test_no_grad_nests_restores_and_stays_in_its_context():
    with ag.no_grad():
        with ag.no_grad():
            pass
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    with pytest.raises(RuntimeError), ag.no_grad():
        raise RuntimeError
    assert ag.is_grad_enabled()
    seen, barrier = {}, threading.Barrier(2)

    def inside():
        with ag.no_grad():
            barrier.wait()
            seen["inside"] = (Value(1.0) * 2.0).rule
            barrier.wait()

    def outside():
        barrier.wait()
        seen["outside"] = (Value(1.0) * 2.0).rule
        barrier.wait()

    threads = [threading.Thread(target=inside), threading.Thread(target=outside)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["inside"] is None and seen["outside"] is not None

"""The two sweeps: the reference (backward.sweep, a dict of cotangents) and the fast one
(kernels.fast_backward, cotangents on the nodes) give the same .grad bit for bit -- on every
case of the rules table and on random graphs -- and behave alike on failures, nesting and
threads."""

import contextlib
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from cases import CASES, draw
from hypothesis import given
from hypothesis import strategies as st
from test_kernels import same_bits

import autograd_lite as ag
from autograd_lite import Value, backward, kernels
from autograd_lite.backward import toposort


@contextlib.contextmanager
def reference_sweep() -> Iterator[None]:
    """The fast forms of the ops stay; only the sweep is the reference one."""
    backward.backward = kernels._PLAIN_BACKWARD
    try:
        yield
    finally:
        backward.backward = kernels.fast_backward


def grads_both_ways(build) -> tuple[list, list]:  # noqa: ANN001
    """Every node's .grad after one backward from a fresh graph, fast sweep then reference."""
    out = []
    for ctx in (contextlib.nullcontext(), reference_sweep()):
        with ctx, np.errstate(all="ignore"):
            root = build()
            seed = 1.0 if type(root.data) is float else np.linspace(
                -1.0, 2.0, root.size).reshape(root.shape).astype(root.dtype)
            root.backward(seed)
            out.append([v.grad for v in toposort(root)])
    return out[0], out[1]


ALL = [(name, i, c) for name in CASES for i, c in enumerate(CASES[name])]


@pytest.mark.parametrize(("name", "i", "case"), ALL, ids=[f"{n}-{i}" for n, i, _ in ALL])
def test_fast_sweep_equals_the_reference_on_every_case(name, i, case) -> None:  # noqa: ANN001
    rng = np.random.default_rng(i)
    shape_sets = case.shapes or [[(2, 3)] * len(case.domains), [()] * len(case.domains)]
    for shapes_ in shape_sets:
        xs = [draw(d, s, rng) for d, s in zip(case.domains, shapes_)]

        def build(xs=xs):  # noqa: ANN202 -- inputs used twice: each a square and a product
            vs = [Value(x) for x in xs]
            out = case.build(vs)
            return (out * out).sum() + (out * vs[0].sum()).sum() if case.elementwise else \
                (out * out).sum()

        fast, ref = grads_both_ways(build)
        assert same_bits(fast, ref), (name, shapes_)
        if case.elementwise:  # the same op on floats: scalar nodes, the inlined operators
            floats = [float(x.flat[0]) for x in xs]
            fast, ref = grads_both_ways(lambda floats=floats: (lambda o: o * o + o)(
                case.build([Value(x) for x in floats])))
            assert same_bits(fast, ref), (name, "floats")


UNARY = [lambda a: a.relu(), lambda a: a.tanh(), lambda a: a.sigmoid(), lambda a: -a,
         lambda a: a.exp() * 0.1, lambda a: a.abs(), lambda a: a ** 2, lambda a: a * 3.0]
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
          lambda a, b: a / (b * b + 1.0)]


@st.composite
def random_graphs(draw_):  # noqa: ANN001, ANN201
    """A recipe for a DAG: leaves (floats, or arrays of one shape), then ops on any earlier
    nodes, so nodes are shared (fan-out) and reached along paths of several lengths."""
    arrays = draw_(st.booleans())
    n_leaves = draw_(st.integers(1, 4))
    leaves = draw_(st.lists(st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 1)),
                            min_size=n_leaves, max_size=n_leaves))
    steps = draw_(st.lists(st.tuples(st.booleans(), st.integers(0, 99), st.integers(0, 99),
                                     st.integers(0, 99)), min_size=1, max_size=25))
    return arrays, leaves, steps


def _build(recipe):  # noqa: ANN001, ANN202
    arrays, leaves, steps = recipe
    nodes = [Value(np.array([x, -x, 0.0]) if arrays else x) for x in leaves]
    for binary, f, i, j in steps:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        nodes.append(BINARY[f % len(BINARY)](a, b) if binary else UNARY[f % len(UNARY)](a))
    root = nodes[-1]
    for v in nodes[len(leaves):-1]:  # every node reaches the root
        root = root + v * 0.5
    return root.sum() if arrays else root


@given(random_graphs())
def test_fast_sweep_equals_the_reference_on_random_graphs(recipe) -> None:  # noqa: ANN001
    fast, ref = grads_both_ways(lambda: _build(recipe))
    assert same_bits(fast, ref)


BOOM = ag.custom_op("boom_in_the_sweep", lambda x: x + 0, vjp=lambda g, x, out: 1 / 0)


@given(random_graphs())
def test_a_failing_sweep_leaves_grads_alike_in_both(recipe) -> None:  # noqa: ANN001
    for ctx in (contextlib.nullcontext(), reference_sweep()):
        with ctx, np.errstate(all="ignore"):
            root = _build(recipe)
            root.backward()
            before = [v.grad for v in toposort(root)]
            with pytest.raises(ZeroDivisionError):
                (BOOM(root) + root).backward()
            assert same_bits([v.grad for v in toposort(root)], before)

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

"""ag.grad: gradients as Values without touching .grad, and gradients of gradients
(create_graph=True) against PyTorch's double backward and finite differences."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value

# --- create_graph=False ---------------------------------------------------------------------


def test_grad_equals_backward_and_leaves_grad_alone():
    rng = np.random.default_rng(1)
    W, x = Value(rng.normal(size=(3, 2))), Value(rng.normal(size=(4, 3)))
    L = ((x @ W).tanh() ** 2).mean()
    gW, gx = ag.grad(L, [W, x])
    assert W._grad is None and x._grad is None and L._grad is None
    assert gW.rule is None and gx.rule is None  # leaves
    L.backward()
    np.testing.assert_array_equal(gW.data, W.grad)
    np.testing.assert_array_equal(gx.data, x.grad)


def test_grad_of_one_value_is_a_value_and_of_a_tuple_a_list():
    x, y = Value(3.0), Value(-2.0)
    L = x * y + x
    g = ag.grad(L, x)
    assert type(g) is Value and g.data == -1.0
    assert [v.data for v in ag.grad(L, (x, y))] == [-1.0, 3.0]


def test_grad_of_an_unused_input_is_zero():
    x, z = Value(np.ones(3)), Value(np.ones((2, 2)))
    g = ag.grad((x * 2).sum(), [x, z], create_graph=True)
    np.testing.assert_array_equal(g[1].data, np.zeros((2, 2)))


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_seed_for_a_non_scalar_root(create_graph):
    x = Value(np.array([1.0, 2.0, 3.0]))
    y = x * x
    with pytest.raises(ValueError, match=r"needs grad= of that shape"):
        ag.grad(y, x)
    with pytest.raises(ValueError, match=r"grad must have shape \(3,\)"):
        ag.grad(y, x, grad=np.ones(2), create_graph=create_graph)
    g = ag.grad(y, x, grad=np.array([1.0, 0.0, -1.0]), create_graph=create_graph)
    np.testing.assert_array_equal(g.data, [2.0, 0.0, -6.0])


def test_grad_bad_arguments():
    x = Value(1.0)
    with pytest.raises(TypeError, match="takes a Value L"):
        ag.grad(1.0, x)
    with pytest.raises(TypeError, match="wrt must be a Value"):
        ag.grad(x * 2, [x, 3.0])


# --- gradients of gradients ----------------------------------------------------------------


def test_newton_on_x4_minus_2x2_converges_to_1():  # DeZero, step 33
    x = Value(2.0)
    for _ in range(10):
        y = x ** 4 - 2 * x ** 2
        dy = ag.grad(y, x, create_graph=True)
        d2y = ag.grad(dy, x)
        x = Value(x.data - dy.data / d2y.data)
    assert x.data == pytest.approx(1.0, abs=1e-12)


def test_create_graph_leaves_grad_alone_and_the_result_backward_works():
    x = Value(0.3)
    y = x.tanh() * x
    g = ag.grad(y, x, create_graph=True)
    assert x._grad is None and g.rule is not None
    g.backward()  # d/dx (y') = y''
    t = np.tanh(0.3)
    assert x.grad == pytest.approx(2 * (1 - t * t) - 2 * 0.3 * t * (1 - t * t))


try:  # PyTorch as the oracle; without it those tests skip
    from test_torch import LOSSES, STEPS, _inputs
except BaseException:  # pytest's Skipped, from importorskip
    STEPS = LOSSES = {}
torch = None


def _torch():
    global torch
    torch = pytest.importorskip("torch")
    return torch


def _nth(f_ours, f_torch, x0, n):
    """The first n derivatives of sum(f(x)) elementwise, ours and torch's."""
    x = Value(x0)
    tx = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y, ty, ours, theirs = f_ours(x), f_torch(tx), [], []
    for _ in range(n):
        y = ag.grad(y.sum(), x, create_graph=True)
        (ty,) = torch.autograd.grad(ty.sum(), tx, create_graph=True)
        ours.append(y.data)
        theirs.append(ty.detach().numpy())
    return ours, theirs


FUNCTIONS = {
    "tanh": (lambda x: x.tanh(), lambda t: torch.tanh(t), "any"),
    "sigmoid": (lambda x: x.sigmoid(), lambda t: torch.sigmoid(t), "any"),
    "exp": (lambda x: x.exp(), lambda t: torch.exp(t), "any"),
    "log": (lambda x: x.log(), lambda t: torch.log(t), "positive"),
    "pow3": (lambda x: x ** 3, lambda t: t ** 3, "any"),
    "pow-1.5": (lambda x: x ** -1.5, lambda t: t ** -1.5, "positive"),
    "pow2": (lambda x: x ** 2, lambda t: t ** 2, "any"),
    "div": (lambda x: 1.5 / x + x / 3.0, lambda t: 1.5 / t + t / 3.0, "positive"),
    "div_both": (lambda x: x / (x * x + 1), lambda t: t / (t * t + 1), "any"),
    "sqrt": (lambda x: x.sqrt(), lambda t: torch.sqrt(t), "positive"),
}


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("scalar", [False, True])
def test_first_second_third_derivatives_match_torch(name, scalar):
    _torch()
    f, tf, domain = FUNCTIONS[name]
    rng = np.random.default_rng(7)
    x0 = rng.uniform(0.2, 2.0, 5) if domain == "positive" else rng.uniform(-2, 2, 5)
    for x in ([float(v) for v in x0] if scalar else [x0]):
        ours, theirs = _nth(f, tf, np.asarray(x) if not scalar else np.array(x), 3)
        for k, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"{name} d{k + 1}")


def test_scalar_nodes_second_derivative():  # the fast scalar path (kernels.py) stores floats
    x = Value(0.7)
    y = (x * x).tanh() + x.sigmoid() * x.exp() - x.log() / x
    ours = ag.grad(ag.grad(y, x, create_graph=True), x).data
    h, f = 1e-4, lambda v: np.tanh(v * v) + 1 / (1 + np.exp(-v)) * np.exp(v) - np.log(v) / v
    assert ours == pytest.approx((f(0.7 + h) - 2 * f(0.7) + f(0.7 - h)) / h ** 2, rel=1e-6)


KINKED = {"relu", "leaky_relu", "abs", "max_min", "maximum_minimum", "clip", "where"}


def _hvp_against_torch(step, loss, seed):
    rng = np.random.default_rng(seed)
    data, targets = _inputs(rng)
    ours = {k: Value(v, k) for k, v in data.items()}
    theirs = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in data.items()}
    t_targets = {k: torch.tensor(v) for k, v in targets.items()}
    h, th = ours["A"], theirs["A"]
    for name in step:
        h, th = STEPS[name][0](h, ours), STEPS[name][1](th, theirs)
    L, TL = LOSSES[loss][0](h, targets), LOSSES[loss][1](th, t_targets)
    keys = sorted(data)
    v = {k: rng.normal(size=data[k].shape) for k in keys}
    g = ag.grad(L, [ours[k] for k in keys], create_graph=True)
    tg = torch.autograd.grad(TL, [theirs[k] for k in keys], create_graph=True, allow_unused=True)
    s = sum(((gk * v[k]).sum() for gk, k in zip(g, keys)), Value(0.0))
    ts = sum((tgk * torch.tensor(v[k])).sum() for tgk, k in zip(tg, keys) if tgk is not None)
    hv = ag.grad(s, [ours[k] for k in keys])
    thv = torch.autograd.grad(ts, [theirs[k] for k in keys], allow_unused=True) if torch.is_tensor(
        ts) and ts.requires_grad else [None] * len(keys)
    for k, a, b in zip(keys, hv, thv):
        b = np.zeros(data[k].shape) if b is None else b.numpy(force=True)  # (a ZeroTensor too)
        # torch's bce double backward loses digits where p(1 − p) is tiny (p = sigmoid(h) =
        # 1 − 1e-8: 1.5e-3 apart at seed 55); ours agrees with finite differences there (below)
        tol = 1e-2 if loss == "bce" else 1e-6
        np.testing.assert_allclose(a.data, b, rtol=tol, atol=tol * (1 + np.abs(b).max()),
                                   err_msg=f"{step} {loss} {k}")
    if not set(step) & KINKED:  # finite differences of the gradient along v, off the kinks
        eps, ends = 1e-6, []
        for t in (eps, -eps):
            moved = {k: Value(data[k] + t * v[k]) for k in keys}
            h = moved["A"]
            for name in step:
                h = STEPS[name][0](h, moved)
            ends.append(ag.grad(LOSSES[loss][0](h, targets), [moved[k] for k in keys]))
        for k, a, plus, minus in zip(keys, hv, *ends):
            fd = (plus.data - minus.data) / (2 * eps)
            np.testing.assert_allclose(a.data, fd, rtol=1e-4, atol=1e-5 * (1 + np.abs(fd).max()),
                                       err_msg=f"{step} {loss} {k} (finite differences)")
    for k, a, b in zip(keys, g, tg):
        b = np.zeros(data[k].shape) if b is None else b.detach().numpy()
        np.testing.assert_allclose(a.data, b, rtol=1e-9, atol=1e-12, err_msg=f"{step} {loss} {k}")


@pytest.mark.parametrize("name", sorted(STEPS))
@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "bce", "bce_logits", "sum"])
def test_every_step_hvp_against_torch_double_backward(name, loss):
    _torch()
    _hvp_against_torch([name], loss, seed=zlib.crc32(f"{name} {loss}".encode()))


@pytest.mark.parametrize("seed", range(15))
def test_random_compositions_hvp_against_torch(seed):
    _torch()
    rng = np.random.default_rng(30_000 + seed)
    steps = [s for s in sorted(STEPS) if s not in KINKED]  # A has exact zeros; FD runs too
    program = list(rng.choice(steps, size=rng.integers(2, 5)))
    _hvp_against_torch(program, str(rng.choice(["mse", "cross_entropy", "bce_logits"])), seed)


def _mlp_loss(params, X, labels):
    W1, b1, W2, b2 = params
    return ag.cross_entropy((X @ W1 + b1).tanh() @ W2 + b2, labels)


def test_hvp_of_an_mlp_with_cross_entropy_against_torch_and_finite_differences():
    _torch()
    rng = np.random.default_rng(3)
    X, labels = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    shapes = [(4, 5), (5,), (5, 3), (3,)]
    data = [rng.normal(size=s) * 0.7 for s in shapes]
    v = [rng.normal(size=s) for s in shapes]
    params = [Value(d) for d in data]
    g = ag.grad(_mlp_loss(params, X, labels), params, create_graph=True)
    hv = ag.grad(sum(((gi * vi).sum() for gi, vi in zip(g, v)), Value(0.0)), params)
    # finite differences of the gradient along v
    eps = 1e-6

    def gradient_at(t):
        ps = [Value(d + t * vi) for d, vi in zip(data, v)]
        return [gi.data for gi in ag.grad(_mlp_loss(ps, X, labels), ps)]

    fd = [(a - b) / (2 * eps) for a, b in zip(gradient_at(eps), gradient_at(-eps))]
    # torch's double backward
    tp = [torch.tensor(d, requires_grad=True) for d in data]
    tl = torch.nn.functional.cross_entropy(
        torch.tanh(torch.tensor(X) @ tp[0] + tp[1]) @ tp[2] + tp[3], torch.tensor(labels))
    tg = torch.autograd.grad(tl, tp, create_graph=True)
    thv = torch.autograd.grad(sum((a * torch.tensor(b)).sum() for a, b in zip(tg, v)), tp)
    for a, b, c in zip(hv, fd, thv):
        np.testing.assert_allclose(a.data, c.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a.data, b, rtol=1e-5, atol=1e-7)
    assert all(p._grad is None for p in params)


def test_getitem_concatenate_stack_second_order():
    x = Value(np.array([0.3, -0.8, 1.2, 0.5]))
    y = ((x[[0, 2, 2]] ** 3).sum() + (ag.concatenate([x[1:2], x[:1]]) ** 3).sum()
         + (ag.stack([x[3], x[0]]) ** 2 * x[1]).sum())
    H = np.stack([ag.grad(ag.grad(y, x, create_graph=True)[i], x).data for i in range(4)])
    a, b, c, d = x.data
    expected = np.zeros((4, 4))
    expected[0, 0] = 6 * a + 6 * a + 2 * b  # x0³ once, in concatenate x0³, stack x0²·x1
    expected[2, 2] = 2 * 6 * c
    expected[1, 1] = 6 * b
    expected[3, 3] = 2 * b
    expected[0, 1] = expected[1, 0] = 2 * a
    expected[3, 1] = expected[1, 3] = 2 * d
    np.testing.assert_allclose(H, expected, rtol=1e-12)


# --- kinks in the second pass ----------------------------------------------------------------


def test_relu_second_derivative_is_zero_and_its_kinks_are_counted():
    x = Value(np.array([-1.0, 0.0, 0.0, 2.0]))
    y = (x.relu() * x).sum()  # y' = relu'(x)·x + relu(x); y'' = 2·relu'(x) (0 at the kink)
    g = ag.grad(y, x, create_graph=True)
    np.testing.assert_array_equal(g.data, [0.0, 0.0, 0.0, 4.0])
    h = ag.grad(g.sum(), x)
    np.testing.assert_array_equal(h.data, [0.0, 0.0, 0.0, 2.0])
    found = {(k.op, k.count) for k in ag.kinks(g.sum())}
    assert ("step", 2) in found and ("relu", 2) in found  # relu″ undefined; relu'(0) chosen
    assert [k.count for k in ag.kinks(ag.grad((x.tanh() * x).sum(), x, create_graph=True)
                                      .sum())] == []


def test_step_keeps_the_chosen_subgradient():
    x = Value(0.0)
    g = ag.grad(x.relu(subgradient=0.5), x, create_graph=True)
    assert g.data == 0.5 and ag.grad(g, x).data == 0.0
    assert [(k.op, k.count) for k in ag.kinks(g)] == [("step", 1)]


def test_custom_op_refuses_create_graph_with_its_name():
    sq = ag.custom_op("square_for_grad_test", lambda x: x * x, derivative=lambda x, out: 2 * x)
    x = Value(1.5)
    assert ag.grad(sq(x), x).data == 3.0
    with pytest.raises(ValueError, match=r"custom op 'square_for_grad_test'"):
        ag.grad(sq(x), x, create_graph=True)


# --- the gradient graph is a graph like any other ------------------------------------------


def test_gradient_graph_can_be_drawn_explained_and_gradchecked():
    x = Value(0.4, "x")
    d1 = ag.grad(x.tanh(), x, create_graph=True)
    d1.label = "tanh'"
    assert "tanh" in ag.draw(d1, wrt=x).source
    e = ag.explain(d1, x)
    assert e.total == pytest.approx(-2 * np.tanh(0.4) * (1 - np.tanh(0.4) ** 2))
    assert ag.gradcheck(lambda v: ag.grad(v[0].tanh(), v[0], create_graph=True),
                        [Value(0.4)])
    W = Value(np.random.default_rng(0).normal(size=(3, 2)))
    X = np.random.default_rng(1).normal(size=(4, 3))
    assert ag.gradcheck(lambda v: (ag.grad(((X @ v[0]).sigmoid() ** 2).sum(), v[0],
                                           create_graph=True) ** 2).sum(), [W])


def test_every_rule_of_the_table_has_a_second_order_form():
    from autograd_lite import gradients
    from autograd_lite.ops import RULES
    known = gradients.SMOOTH | gradients.FROZEN | gradients.STEPPED | set(gradients.OWN)
    assert {n for n, r in RULES.items() if not r.custom} <= known


def test_a_rule_without_a_second_order_form_is_named(monkeypatch):
    from autograd_lite import gradients
    monkeypatch.setattr(gradients, "SMOOTH", gradients.SMOOTH - {"tanh"})
    x = Value(0.5)
    with pytest.raises(ValueError, match=r"the rule 'tanh' has no derivative written with ops"):
        ag.grad(x.tanh(), x, create_graph=True)


def test_the_picture_of_a_relu_gradient_shows_its_step_node():
    x = Value(np.array([-1.0, 0.0, 2.0]), "x")
    g = ag.grad((x.relu() * x).sum(), x, create_graph=True)
    source = ag.draw(g.sum(), wrt=x).source
    assert "step(x)" in source
    np.testing.assert_array_equal(ag.explain(g.sum(), x).total, [0.0, 0.0, 2.0])


def test_max_ties_are_kinks_of_the_second_pass_too():
    x = Value(np.array([1.0, 3.0, 3.0]))
    g = ag.grad(x.max() ** 2, x, create_graph=True)  # 2·max·1[x = max]/#ties
    np.testing.assert_array_equal(g.data, [0.0, 3.0, 3.0])
    np.testing.assert_array_equal(ag.grad(g.sum(), x).data, [0.0, 1.0, 1.0])
    assert {(k.op, k.count) for k in ag.kinks(g.sum())} == {("step", 2), ("max", 2)}


# --- convolution and pooling ----------------------------------------------------------------


@pytest.mark.parametrize("pool", [None, "max", "avg", "max3s1"])
@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 0), (2, 1)])
def test_conv_and_pool_hvp_against_torch_double_backward(stride, padding, pool):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(zlib.crc32(f"{stride}{padding}{pool}".encode()))
    x, w = rng.normal(size=(2, 2, 7, 7)), rng.normal(size=(3, 2, 3, 3))
    v, u = rng.normal(size=x.shape), rng.normal(size=w.shape)
    pools = {"max": (ag.max_pool2d, F.max_pool2d, (2,)), "avg": (ag.avg_pool2d, F.avg_pool2d, (2,)),
             "max3s1": (ag.max_pool2d, F.max_pool2d, (3, 1))}  # overlapping windows

    def f(x, w, conv, tanh, which):
        y = tanh(conv(x, w, stride=stride, padding=padding) ** 2)
        if pool:
            y = pools[pool][which](y, *pools[pool][2])
        return (y ** 3).sum()

    X, W = Value(x), Value(w)
    gx, gw = ag.grad(f(X, W, ag.conv2d, ag.tanh, 0), [X, W], create_graph=True)
    hx, hw = ag.grad((gx * v).sum() + (gw * u).sum(), [X, W])
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    ax, aw = torch.autograd.grad(f(tx, tw, F.conv2d, torch.tanh, 1), [tx, tw], create_graph=True)
    bx, bw = torch.autograd.grad((ax * torch.tensor(v)).sum() + (aw * torch.tensor(u)).sum(),
                                 [tx, tw])
    for ours, theirs in ((gx, ax), (gw, aw), (hx, bx), (hw, bw)):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-9, atol=1e-9)


def test_conv_of_a_data_batch_second_order_in_the_weights():
    x = np.arange(32.0).reshape(1, 2, 4, 4) / 10  # a constant: no dL/dx
    W = Value(np.full((1, 2, 2, 2), 0.1))
    g = ag.grad((ag.conv2d(x, W) ** 2).sum(), W, create_graph=True)  # 2 Σ y · x-window
    ag.gradcheck(lambda ws: ag.grad((ag.conv2d(x, ws[0]) ** 2).sum(), ws[0],
                                    create_graph=True).sum(), [W])
    assert g.shape == W.shape


def test_max_pool_ties_are_kinks_of_the_second_pass_too():
    x = Value(np.array([[[[1.0, 2.0], [2.0, 0.0]]]]))  # one window, two entries tied at 2
    g = ag.grad(ag.max_pool2d(x, 2).sum() ** 2, x, create_graph=True)  # 2·max·1[x = max]/2
    np.testing.assert_array_equal(g.data, [[[[0.0, 2.0], [2.0, 0.0]]]])
    np.testing.assert_array_equal(ag.grad(g.sum(), x).data, [[[[0.0, 1.0], [1.0, 0.0]]]])
    assert {(k.op, k.count) for k in ag.kinks(g.sum())} == {("step", 2), ("max_pool2d", 2)}


@pytest.mark.parametrize("op", ["max", "min"])
def test_second_order_through_max_of_a_float(op):
    """max/min of a float is a scalar node, which keeps no saved data: d/dx (max x)² = 2x, and
    its derivative 2, with create_graph=True (it raised TypeError)."""
    x = Value(2.0)
    (g,) = ag.grad(getattr(x, op)() ** 2, [x], create_graph=True)
    assert g.data == 4.0
    (h,) = ag.grad(g, [x])
    assert h.data == 2.0

"""PyTorch as an oracle (float64): random compositions of every op, and kinks at exact zeros.

Skipped when torch is not installed (CI installs torch==2.13.0 when it can).
"""

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value

torch = pytest.importorskip("torch")
F = torch.nn.functional

# Each step maps the running (3, 4) tensor h to a new (3, 4) tensor, with inputs
# B (4,), C (3, 4), D (4, 2), E (2, 4) mixed in; (ours, torch) side by side.
STEPS = {
    "relu": (lambda h, i: h.relu(), lambda h, i: torch.relu(h)),
    "leaky_relu": (lambda h, i: h.leaky_relu(0.1), lambda h, i: F.leaky_relu(h, 0.1)),
    "abs": (lambda h, i: h.abs(), lambda h, i: h.abs()),
    "tanh": (lambda h, i: h.tanh(), lambda h, i: h.tanh()),
    "sigmoid": (lambda h, i: h.sigmoid(), lambda h, i: h.sigmoid()),
    "exp": (lambda h, i: h.tanh().exp(), lambda h, i: h.tanh().exp()),
    "log": (lambda h, i: (h * h + 1).log(), lambda h, i: (h * h + 1).log()),
    "neg_sub": (lambda h, i: -h - i["C"], lambda h, i: -h - i["C"]),
    "add_broadcast": (lambda h, i: h + i["B"], lambda h, i: h + i["B"]),
    "mul": (lambda h, i: h * i["C"], lambda h, i: h * i["C"]),
    "div": (lambda h, i: h / (i["C"] * i["C"] + 1), lambda h, i: h / (i["C"] * i["C"] + 1)),
    "pow": (lambda h, i: h ** 2 + (h * h + 1) ** 0.5 - h ** 3 * 0.1,
            lambda h, i: h ** 2 + (h * h + 1) ** 0.5 - h ** 3 * 0.1),
    "matmul": (lambda h, i: h @ i["D"] @ i["E"], lambda h, i: h @ i["D"] @ i["E"]),
    "sum_mean": (lambda h, i: h.sum(axis=0, keepdims=True) * 0.1 + h.mean(axis=1, keepdims=True),
                 lambda h, i: h.sum(dim=0, keepdim=True) * 0.1 + h.mean(dim=1, keepdim=True)),
    "reshape_transpose": (lambda h, i: h.reshape(4, 3).T * i["C"],
                          lambda h, i: h.reshape(4, 3).T * i["C"]),
    "getitem": (lambda h, i: h[[2, 0, 0]] + h[:, ::-1] * h[1],
                lambda h, i: h[[2, 0, 0]] + h.flip(1) * h[1]),
    "softmax": (lambda h, i: ag.softmax(h) * i["C"] + ag.softmax(h, axis=0),
                lambda h, i: torch.softmax(h, -1) * i["C"] + torch.softmax(h, 0)),
    "log_softmax": (lambda h, i: ag.log_softmax(h, axis=0) * 0.5 + ag.log_softmax(h * i["C"]),
                    lambda h, i: torch.log_softmax(h, 0) * 0.5 + torch.log_softmax(h * i["C"], -1)),
    "logsumexp": (lambda h, i: h - ag.logsumexp(h, axis=1, keepdims=True) + ag.logsumexp(h),
                  lambda h, i: h - torch.logsumexp(h, 1, keepdim=True)
                  + torch.logsumexp(h, (0, 1))),
    "max_min": (lambda h, i: h.max(axis=0, keepdims=True) + h.min(axis=1, keepdims=True) * h
                + h.max() - (h * 0.0).min(axis=0),  # h * 0: a row of ties
                lambda h, i: h.amax(0, keepdim=True) + h.amin(1, keepdim=True) * h
                + h.amax() - (h * 0.0).amin(0)),
    "maximum_minimum": (lambda h, i: ag.maximum(h, i["C"]) + ag.minimum(h, 0.0)
                        + ag.maximum(h, h) + ag.minimum(i["B"], h),
                        lambda h, i: torch.maximum(h, i["C"]) + torch.minimum(h, _zero())
                        + torch.maximum(h, h) + torch.minimum(i["B"], h)),
    "where": (lambda h, i: ag.where(i["C"] > 0, h, h * i["C"]) + ag.where(h <= 0.1, 1.0, h),
              lambda h, i: torch.where(i["C"] > 0, h, h * i["C"]) + torch.where(h <= 0.1, 1.0, h)),
    "clip": (lambda h, i: h.clip(-0.5, 0.5) + ag.clip(h * i["C"], None, 0.25),
             lambda h, i: h.clamp(-0.5, 0.5) + (h * i["C"]).clamp(None, 0.25)),
    "sqrt": (lambda h, i: (h * h + 1).sqrt() + ag.sqrt(i["C"].abs()) * h,
             lambda h, i: (h * h + 1).sqrt() + i["C"].abs().sqrt() * h),
    "concatenate_stack": (
        lambda h, i: ag.concatenate([h[:, :1] * i["C"][:, :1], h[:, 1:], ], axis=1)
        + ag.stack([h[0], h[2] * 2.0, ag.concatenate([h[1, :2], i["B"][2:]])]),
        lambda h, i: torch.cat([h[:, :1] * i["C"][:, :1], h[:, 1:]], dim=1)
        + torch.stack([h[0], h[2] * 2.0, torch.cat([h[1, :2], i["B"][2:]])])),
    "var_std_shapes": (
        lambda h, i: h.var(axis=0, keepdims=True) + (h * h + 1).std(axis=1).reshape(3, 1)
        + ag.expand_dims(h.var(axis=1), 1).squeeze().reshape(3, 1) + h.flatten().reshape(3, 4),
        lambda h, i: h.var(0, keepdim=True, correction=0)
        + (h * h + 1).std(1, correction=0).reshape(3, 1)
        + h.var(1, correction=0).unsqueeze(1).squeeze().reshape(3, 1) + h.flatten().reshape(3, 4)),
    "conv_pools": (  # h + C: no ties for max_pool2d (PyTorch gives a tie to one entry, we share)
        lambda h, i: ag.avg_pool2d(ag.max_pool2d(ag.conv2d(
            (h + i["C"]).reshape(1, 1, 3, 4), i["D"].reshape(2, 1, 2, 2), i["B"][:2], padding=1),
            2, stride=1).reshape(1, 1, 6, 4), (2, 1)).reshape(3, 4),
        lambda h, i: F.avg_pool2d(F.max_pool2d(F.conv2d(
            (h + i["C"]).reshape(1, 1, 3, 4), i["D"].reshape(2, 1, 2, 2), i["B"][:2], padding=1),
            2, stride=1).reshape(1, 1, 6, 4), (2, 1)).reshape(3, 4)),
}


def _zero():
    return torch.tensor(0.0, dtype=torch.float64)
LOSSES = {
    "sum": (lambda h, t: h.sum(), lambda h, t: h.sum()),
    "mean": (lambda h, t: h.mean(), lambda h, t: h.mean()),
    "mse": (lambda h, t: ag.mse_loss(h, t["y"]), lambda h, t: F.mse_loss(h, t["y"])),
    "bce": (lambda h, t: ag.binary_cross_entropy(h.sigmoid(), t["p"]),
            lambda h, t: F.binary_cross_entropy(h.sigmoid(), t["p"])),
    "bce_logits": (lambda h, t: ag.binary_cross_entropy_with_logits(h, t["p"], "sum"),
                   lambda h, t: F.binary_cross_entropy_with_logits(h, t["p"], reduction="sum")),
    "cross_entropy": (lambda h, t: ag.cross_entropy(h, t["labels"]),
                      lambda h, t: F.cross_entropy(h, t["labels"])),
}


def _inputs(rng):
    shapes = {"A": (3, 4), "B": (4,), "C": (3, 4), "D": (4, 2), "E": (2, 4)}
    data = {k: rng.normal(size=s) for k, s in shapes.items()}
    data["A"][0, :2] = [0.0, -0.0]  # exact zeros: kinks when a kinked op comes first
    targets = {"y": rng.normal(size=(3, 4)), "p": rng.uniform(size=(3, 4)),
               "labels": rng.integers(0, 4, size=3)}
    return data, targets


def _compare(program, loss, seed):
    rng = np.random.default_rng(seed)
    data, targets = _inputs(rng)
    ours = {k: Value(v, k) for k, v in data.items()}
    theirs = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in data.items()}
    t_targets = {k: torch.tensor(v) for k, v in targets.items()}
    h, th = ours["A"], theirs["A"]
    for name in program:
        h, th = STEPS[name][0](h, ours), STEPS[name][1](th, theirs)
    L, TL = LOSSES[loss][0](h, targets), LOSSES[loss][1](th, t_targets)
    L.backward()
    TL.backward()
    assert L.item() == pytest.approx(TL.item(), rel=1e-10, abs=1e-12), (program, loss)
    for k in data:
        expected = theirs[k].grad
        expected = np.zeros(data[k].shape) if expected is None else expected.numpy()
        assert np.allclose(ours[k].grad, expected, rtol=1e-9, atol=1e-12), (program, loss, k)


@pytest.mark.parametrize("name", sorted(STEPS))
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_step_and_loss_against_torch(name, loss):
    _compare([name], loss, seed=hash((name, loss)) % 2**32)


@pytest.mark.parametrize("seed", range(40))
def test_random_compositions_against_torch(seed):
    rng = np.random.default_rng(10_000 + seed)
    program = list(rng.choice(sorted(STEPS), size=rng.integers(3, 8)))
    _compare(program, rng.choice(sorted(LOSSES)), seed)


def test_torch_steps_and_losses_cover_every_rule():
    from autograd_lite.backward import toposort
    from autograd_lite.ops import RULES
    data, targets = _inputs(np.random.default_rng(0))
    ours = {k: Value(v) for k, v in data.items()}
    used = set()
    for ours_step, _ in STEPS.values():
        for loss, _ in LOSSES.values():
            used |= {v.op for v in toposort(loss(ours_step(ours["A"], ours), targets))}
    second_order = {"step", "scatter"}  # ops of gradient graphs: tests/test_gradients.py
    assert used >= {name for name, rule in RULES.items() if not rule.custom} - second_order


@pytest.mark.parametrize("seed", range(12))
def test_random_compositions_through_exact_zeros_against_torch(seed):
    # the program starts with a kinked op, so A's exact zeros (0.0 and −0.0) hit its kink
    rng = np.random.default_rng(20_000 + seed)
    first = ["relu", "leaky_relu", "abs"][seed % 3]
    program = [first] + list(rng.choice(sorted(STEPS), size=rng.integers(2, 6)))
    data, _ = _inputs(np.random.default_rng(seed))
    h = Value(data["A"])
    assert [(k.op, k.count) for k in ag.kinks(STEPS[first][0](h, {}))] == [(first, 2)]
    _compare(program, rng.choice(sorted(LOSSES)), seed)


@pytest.mark.parametrize("op", ["relu", "leaky_relu", "abs"])
def test_kinks_at_exact_zeros_match_torch_defaults(op):
    x = np.array([-2.0, -0.0, 0.0, 1.5, 0.0])
    w = np.array([3.0, -1.0, 2.0, 0.5, -4.0])  # a non-unit upstream gradient
    ours = Value(x)
    theirs = torch.tensor(x, requires_grad=True)
    f = {"relu": (lambda v: v.relu(), torch.relu),
         "leaky_relu": (lambda v: v.leaky_relu(0.01), lambda t: F.leaky_relu(t, 0.01)),
         "abs": (lambda v: v.abs(), torch.abs)}[op]
    (f[0](ours) * w).sum().backward()
    (f[1](theirs) * torch.tensor(w)).sum().backward()
    assert np.array_equal(ours.grad, theirs.grad.numpy())
    assert sum(k.count for k in ag.kinks((f[0](Value(x)) * w).sum())) == 3


def test_neuron_on_the_kink_matches_torch():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    w = torch.tensor([2.0, -1.0], dtype=torch.float64, requires_grad=True)
    ((torch.relu(w @ x) - 1) ** 2).backward()
    W = Value(np.array([2.0, -1.0]))
    ((ag.relu(np.array([1.0, 2.0]) @ W) - 1) ** 2).backward()
    assert np.array_equal(W.grad, w.grad.numpy())  # both use relu'(0) = 0


def test_ties_bounds_and_zeros_match_torch_exactly():
    """Exactly at the kinks of max/min, maximum/minimum, clip and sqrt: PyTorch's choices
    (amax/amin and maximum split ties equally, clamp is 1 on its bounds, sqrt'(±0) = ±inf)."""
    x = np.array([[1.0, 3.0, 3.0, -0.0], [0.0, 0.0, -2.0, 0.5], [2.0, 2.0, 2.0, 2.0]])
    y = np.array([1.0, 3.0, -1.0, 0.0])
    w = np.arange(12.0).reshape(3, 4) - 5.5  # a non-unit upstream gradient, never 0
    programs = [
        (lambda a, b: a.max(axis=1, keepdims=True) * a, lambda a, b: a.amax(1, keepdim=True) * a),
        (lambda a, b: a.min(axis=0) + a.max(), lambda a, b: a.amin(0) + a.amax()),
        (lambda a, b: ag.maximum(a, b) + ag.minimum(b, a) * a,
         lambda a, b: torch.maximum(a, b) + torch.minimum(b, a) * a),
        (lambda a, b: a.clip(0.0, 2.0) + ag.clip(a, -0.0, None),
         lambda a, b: a.clamp(0.0, 2.0) + a.clamp(-0.0, None)),
        (lambda a, b: ag.sqrt(a * a) + b.abs().sqrt(),
         lambda a, b: (a * a).sqrt() + b.abs().sqrt()),
    ]
    for ours_f, theirs_f in programs:
        a, b = Value(x), Value(y)
        ta, tb = (torch.tensor(v, requires_grad=True) for v in (x, y))
        with np.errstate(invalid="ignore"):  # sqrt'(0) · 0 is NaN, in both
            (ours_f(a, b) * w).sum().backward()
        (theirs_f(ta, tb) * torch.tensor(w)).sum().backward()
        for ours, theirs in ((a, ta), (b, tb)):
            want = np.zeros_like(ours.data) if theirs.grad is None else theirs.grad.numpy()
            np.testing.assert_allclose(ours.grad, want, rtol=1e-14, atol=0)  # infs, NaNs alike
        assert ag.kinks((ours_f(Value(x), Value(y)) * w).sum())  # each program hits a kink


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_family_at_logits_of_1000_matches_torch(dtype):
    z = np.array([[1000.0, -1000.0, 999.0], [-1000.0, -1000.0, -999.5]])
    w = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    np_dtype = {torch.float32: np.float32, torch.float64: np.float64}[dtype]
    programs = [
        (lambda v: ag.softmax(v), lambda t: torch.softmax(t, -1)),
        (lambda v: ag.log_softmax(v, axis=0), lambda t: torch.log_softmax(t, 0)),
        (lambda v: ag.logsumexp(v, axis=1, keepdims=True), lambda t: t.logsumexp(1, keepdim=True)),
    ]
    for ours_f, theirs_f in programs:
        v = Value(z.astype(np_dtype))
        t = torch.tensor(z, dtype=dtype, requires_grad=True)
        out, tout = ours_f(v), theirs_f(t)
        wk = w[:, : out.shape[1]]  # logsumexp's output has one column
        (out * wk.astype(np_dtype)).sum().backward()
        (tout * torch.tensor(wk, dtype=dtype)).sum().backward()
        rtol = 1e-6 if dtype == torch.float32 else 1e-12
        assert out.dtype == np_dtype and np.all(np.isfinite(out.data)) and np.all(
            np.isfinite(v.grad))
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=rtol, atol=1e-30)
        np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=rtol, atol=1e-6)

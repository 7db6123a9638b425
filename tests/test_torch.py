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
}
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
    assert used >= {name for name, rule in RULES.items() if not rule.custom}


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

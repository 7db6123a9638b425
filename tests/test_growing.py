"""The growing-graph mistake (issue 12): `W = W - lr * W.grad` outside no_grad warns early,
with the fix in the message, once per growing chain; legitimate reuse of a graph never warns;
with no_grad the graph of step 2,000 is the graph of step 10."""

import warnings

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value, growing
from autograd_lite.backward import toposort

RNG = np.random.default_rng(7)
X, Y = RNG.normal(size=(16, 3)), RNG.normal(size=(16, 1))


@pytest.fixture(autouse=True)
def fresh_watch(monkeypatch):  # noqa: ANN001, ANN201 -- each test starts a chain of its own
    monkeypatch.setattr(growing, "_last", 0)
    monkeypatch.setattr(growing, "_streak", 0)
    monkeypatch.setattr(growing, "_warned", False)


def course_loop(steps: int, update) -> list:  # noqa: ANN001
    """The course's loop; ``update(W, lr)`` returns the next W. Returns the warnings caught,
    each with the step it came at, and the graph sizes of every step."""
    W, b = Value(RNG.normal(size=(3, 1)), "W"), Value(np.zeros(1), "b")
    caught, sizes = [], []
    for step in range(steps):
        L = ((X @ W + b - Y) ** 2).mean()
        sizes.append(len(toposort(L)))
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            L.backward()
        caught += [(step, w) for w in seen]
        W, b = update(W, 0.05), update(b, 0.05)
    return caught, sizes


def test_the_course_update_outside_no_grad_warns_within_five_steps_naming_the_fix():
    caught, sizes = course_loop(30, lambda W, lr: W - lr * W.grad)
    assert sizes[-1] > sizes[0] + 50  # the mistake: each step's graph holds every earlier one
    assert len(caught) == 1  # once per growing chain, not every step
    step, w = caught[0]
    assert step < 5 and w.category is ag.GrowingGraphWarning
    assert issubclass(ag.GrowingGraphWarning, UserWarning)
    text = str(w.message)
    for fix in ("with ag.no_grad(): W = W - lr * W.grad", "W.data -= lr * W.grad",
                "opt.step()", "detach()"):
        assert fix in text, fix
    assert w.filename == __file__  # it points at the user's L.backward()


def test_no_grad_update_costs_the_same_at_step_2000_as_at_step_10():
    def update(W, lr):  # noqa: ANN001, ANN202
        with ag.no_grad():
            return W - lr * W.grad

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        caught, sizes = course_loop(2001, update)
    assert not caught
    assert sizes[2000] == sizes[10] == sizes[0]


def test_in_place_update_keeps_the_graph_the_same_size_and_does_not_warn():
    def update(W, lr):  # noqa: ANN001, ANN202
        W.data -= lr * W.grad
        W.zero_grad()
        return W

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        caught, sizes = course_loop(50, update)
    assert not caught and sizes[49] == sizes[0]


def test_a_training_loop_with_an_optimizer_and_without_zero_grad_does_not_warn():
    net = ag.nn.MLP([3, 8, 1], seed=0)
    opt = ag.nn.SGD(net, lr=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(20):  # gradients accumulate (no zero_grad): the leaves keep theirs
            ag.mse_loss(net(X), Y).backward()
            opt.step()


def test_two_losses_from_one_shared_trunk_each_backwarded_do_not_warn():
    net, head1, head2 = ag.nn.MLP([3, 8, 4], seed=1), ag.nn.Linear(4, 1, seed=2), \
        ag.nn.Linear(4, 2, seed=3)
    opt = ag.nn.SGD([*net.parameters(), *head1.parameters(), *head2.parameters()], lr=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for zero in (True, False):
            for _ in range(10):
                if zero:
                    opt.zero_grad()
                h = net(X).tanh()
                ag.mse_loss(head1(h), Y).backward()
                ag.mse_loss(head2(h), np.zeros((16, 2))).backward()
                (h * h).mean().backward()  # a third, on the trunk alone
                opt.step()


def test_repeated_backward_on_the_same_graph_does_not_warn():
    W = Value(RNG.normal(size=(3, 1)))
    L = ((X @ W).tanh() ** 2).mean()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        L.backward()
        first = W.grad.copy()
        for _ in range(9):
            L.backward()
    assert np.allclose(W.grad, 10 * first)


def test_a_jacobian_row_by_row_does_not_warn():
    x = Value(RNG.normal(size=6))
    y = (x * x).tanh() * 2.0 + x.sum()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(6):  # the same root, a different seed each time
            x.zero_grad()
            y.backward(np.eye(6)[i])
            rows.append(x.grad.copy())
        for i in range(6):  # a different root each time: y[i]
            y[i].backward()
    d = 2.0 * (1 - np.tanh(x.data ** 2) ** 2) * 2 * x.data
    assert np.allclose(np.array(rows), np.diag(d) + 1.0)


def test_per_sample_losses_from_one_batch_forward_do_not_warn():
    net = ag.nn.MLP([3, 5, 1], seed=4)
    losses = ag.mse_loss(net(X), Y, reduction="none")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(16):
            losses[i].sum().backward()


def test_a_long_fresh_graph_each_step_does_not_warn():
    x = Value(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in (10, 100, 1000, 10_000, 100_000, 500_000, 500_000):  # fresh, longer each time
            y = x
            for _ in range(n):  # 2n ops: the last two chains have 10^6 each
                y = y * 1.0001 + 0.0001
            y.backward()
            del y


def test_a_hidden_state_carried_without_detach_warns_and_with_detach_does_not():
    Wh = Value(RNG.normal(size=(4, 4)) * 0.3)
    for detach, want in ((False, 1), (True, 0)):
        h = Value(np.zeros((1, 4)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for t in range(10):
                h = (h @ Wh + X[t, :1]).tanh()
                (h * h).sum().backward()
                if detach:
                    h = h.detach()
        assert [w.category for w in caught] == [ag.GrowingGraphWarning] * want


def test_the_warning_as_an_error_leaves_every_grad_as_it_was():
    W = Value(np.ones(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ag.GrowingGraphWarning)
        with pytest.raises(ag.GrowingGraphWarning):
            for _ in range(10):
                L = (W * W).sum()
                before = [v._grad for v in toposort(L)]
                L.backward()
                W = W - 0.1 * W.grad
    assert all(v._grad is g for v, g in zip(toposort(L), before))


def test_more_leaves_with_a_grad_each_step_is_not_a_growing_graph():
    params = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(10):  # a model that gains a parameter each step, gradients kept
            params.append(Value(1.0))
            sum((p * p for p in params), Value(0.0)).backward()

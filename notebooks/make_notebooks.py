"""Write the notebooks of this folder from the cells below (``python notebooks/make_notebooks.py``).

One source for every notebook: the cells kept here. The notebooks in this folder are written
without outputs, to run yourself; ``make test`` runs each one (tests/test_notebooks.py).
The same notebooks, executed (nbclient, the ``python3`` kernel, in a temporary folder), are
written to docs/notebooks/, where the site shows them with their outputs; the test fails
when a copy there is not what its cells show now.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCS = ROOT / "docs" / "notebooks"  # the executed copies the site shows

QUICKSTART = [
    ("md", """# autograd_lite in ten minutes

A `Value` is a node of a graph; every operation on it records an op, and `backward()` fills
in `.grad` of every node by the chain rule. `ag.draw` shows the graph with each edge
carrying its chain-rule factor ∂out/∂in, and `ag.explain` writes the chain rule out."""),
    ("code", """import numpy as np
import autograd_lite as ag
from autograd_lite import Value"""),
    ("md", "## One neuron, by hand: L = relu(w·x + b)"),
    ("code", """w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-1.0, "b")
L = (w * x + b).relu()
L.label = "L"
L.backward()
print(L.data, w.grad, x.grad, b.grad)
assert (L.data, w.grad, x.grad, b.grad) == (5.0, 3.0, 2.0, 1.0)"""),
    ("md", """## The picture

The red path runs from `w` to `L`; each edge carries its factor (`1[v4>0]`, `1`, `x`) and its
value here. The caption multiplies them: dL/dw = 1 · 1 · 3 = 3, the `w.grad` above."""),
    ("code", "ag.draw(L, wrt=w)"),
    ("md", "## The chain rule, written out"),
    ("code", """why = ag.explain(L, w)
print(why)
assert why.total == w.grad"""),
    ("md", """## Tensors and a small network

`ag.nn.MLP` takes a batch with one sample per row. Here a 2-8-1 network learns the planar
"flower" data with binary cross-entropy and plain gradient descent."""),
    ("code", """X, y = ag.datasets.flower(n_per_class=100, seed=0)
Y = y.reshape(-1, 1)  # one column: the network gives one output per sample
net = ag.nn.MLP([2, 8, 1], seed=0)
opt = ag.nn.SGD(net.parameters(), lr=1.0)
for step in range(300):
    J = ag.binary_cross_entropy_with_logits(net(X), Y)
    opt.zero_grad()
    J.backward()
    opt.step()
    if step % 100 == 0:
        print(f"step {step:3d}  cost {J.item():.4f}")
accuracy = float(np.mean((net(X).data > 0) == (Y > 0.5)))
print(f"training accuracy {accuracy:.2f}")
assert J.item() < 0.69"""),
    ("md", """## Checking gradients

`ag.gradcheck` compares backward with central finite differences for every entry."""),
    ("code", """W = Value(np.random.default_rng(0).normal(size=(2, 3)), "W")
assert ag.gradcheck(lambda v: (np.ones((4, 2)) @ v[0]).tanh().sum(), [W])
print("gradcheck passed")"""),
]

PICTURES = [
    ("md", """# The chain rule in pictures

Every edge input → op of `ag.draw`'s picture carries the factor ∂out/∂in: its symbol from the
table of rules, with the real names filled in, and its value at this point. With `wrt=`, the
paths from that input to the root are red and the caption sums their products:
`dL/dw = Σ over paths Π factors`."""),
    ("code", """import numpy as np
import autograd_lite as ag
from autograd_lite import Value"""),
    ("md", """## Before and after backward

Drawn before `backward()`, the boxes say `grad —` (not computed yet), while the factors on
the edges are already known: they come from the forward values. With `wrt=x` after
`backward()`, the red paths run from `x` to `z` and the caption adds up their products."""),
    ("code", """x = Value(3.0, "x")
y = x * x
y.label = "y"
z = y + x
z.label = "z"
before = ag.draw(z)
assert "grad —" in before.source
before"""),
    ("code", """z.backward()
after = ag.draw(z, wrt=x)
assert "grad —" not in after.source and x.grad == 7.0
after"""),
    ("md", """Three paths lead from `x` to `z`: two through `y = x · x` (one per edge, each with
factor `x`) and one directly: dz/dx = 1 · 3 + 1 · 3 + 1 = 7."""),
    ("code", "print(ag.explain(z, x))"),
    ("md", """## ReLU at zero: a kink

When a ReLU input is exactly 0, its derivative is a choice (the subgradient, 0 by default).
The node turns orange and the edge says which value was used."""),
    ("code", """w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-6.0, "b")
Z = w * x + b
Z.label = "Z"
L = Z.relu(subgradient=0.5)
L.label = "L"
L.backward()
print(ag.kinks(L))
ag.draw(L, wrt=w)"""),
    ("md", """## Tensors

For tensors a node shows its shape and a summary, and an edge such as `Xᵀ @ (·)` is a
vector-Jacobian product: applied to the gradient coming down, not multiplied."""),
    ("code", """W = Value([[0.5, -1.0], [1.5, 0.25]], "W")
bias = Value([0.0, -0.5], "b")
X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 1.0]])
A = (X @ W + bias).relu()
A.label = "A"
J = A.mean()
J.label = "J"
J.backward()
ag.draw(J, wrt=W, constants={"X": X})"""),
    ("md", "Write a picture to a file with `ag.render(graph, \"out.svg\")` (svg, png, pdf, dot)."),
    ("code", """path = ag.render(ag.draw(J, wrt=W, constants={"X": X}), "tensor.svg")
print(path, path.stat().st_size > 0)"""),
]

SEED000 = [
    ("md", """# ReLU' from Z, not from A

**The question.** In a two-layer network on the planar "flower" data, the ReLU derivative
of the backward pass was written `dZ1 = np.dot(W2.T, dZ2) * (A1 >= 0)` and the network
trained badly; with `A1 > 0` it trained well. Is `>=` versus `>` really that important?

**The answer.** The bug is the variable, not the comparison. `A1 = relu(Z1)` is never
negative, so `A1 >= 0` is 1 *everywhere*: the backward pass differentiates a network without
ReLU. Written from Z, `Z1 > 0` and `Z1 >= 0` differ only where Z1 is exactly 0 (the choice of
relu'(0)), which almost never happens. The full discussion is the docs page
*ReLU' from Z, not from A*."""),
    ("code", """import numpy as np
import autograd_lite as ag
from autograd_lite import Value"""),
    ("md", """## The learner's derivative, as a custom op

The forward is ReLU; the local derivative is read off the output A, as in the question."""),
    ("code", """relu_from_A = ag.custom_op(
    "relu_from_A", lambda z: np.maximum(z, 0),
    derivative=lambda z, a: 1.0 * (a >= 0),  # dZ1 = dA1 * (A1 >= 0): 1 everywhere
    symbol="1[A≥0]")
relu_from_A_strict = ag.custom_op(  # the question's working version, A1 > 0
    "relu_from_A_strict", lambda z: np.maximum(z, 0),
    derivative=lambda z, a: 1.0 * (a > 0),
    symbol="1[A>0]")"""),
    ("md", """## Training four ways

`MLP([2, 16, 1])` (sigmoid output, cross-entropy, 2000 SGD steps) with relu'(0) = 0, with
relu'(0) = 1, with the bug `1[A ≥ 0]`, and with the question's `1[A > 0]`. `ag.kinks`
counts the hidden pre-activations that were exactly 0, where relu'(0) is used."""),
    ("code", """X, y = ag.datasets.flower()
Y = y.reshape(-1, 1)


def train(activation, relu_subgradient=None):
    net = ag.nn.MLP([2, 16, 1], activation, seed=0,
                    relu_subgradient=relu_subgradient)
    opt = ag.nn.SGD(net, lr=0.5)
    zeros = 0
    for _ in range(2000):
        opt.zero_grad()
        J = ag.binary_cross_entropy_with_logits(net(X), Y)
        zeros += sum(k.count for k in ag.kinks(J))
        J.backward()
        opt.step()
    accuracy = float(np.mean((net(X).data > 0) == (Y == 1)))
    return net, accuracy, zeros


runs = {"relu'(0) = 0  (Z > 0)": train("relu", 0.0),
        "relu'(0) = 1  (Z >= 0)": train("relu", 1.0),
        "bug: 1[A >= 0]": train(relu_from_A),
        "question's 1[A > 0]": train(relu_from_A_strict)}
for name, (net, accuracy, zeros) in runs.items():
    print(f"{name:<24} accuracy {accuracy:.3f}   "
          f"pre-activations exactly 0: {zeros}")"""),
    ("code", """(n0, acc0, zeros0), (n1, acc1, _), (_, acc_bug, _), (nq, acc_q, _) = runs.values()


def same_weights(a, b):
    return all(np.array_equal(p.data, q.data)
               for p, q in zip(a.parameters(), b.parameters()))


assert zeros0 == 0  # relu'(0) was never used...
assert same_weights(n0, n1)  # ...so the two runs are the same, bit for bit
assert same_weights(n0, nq)  # 1[A > 0] is 1[Z > 0] in disguise
assert acc0 == acc1 == acc_q > 0.85 and acc_bug < 0.7
print("relu'(0) = 0 and = 1 end with identical weights; the A-bug is",
      round(acc0 - acc_bug, 3), "worse")"""),
    ("md", """## gradcheck catches the bug

`ag.gradcheck` compares backward with finite differences of the forward pass, for a custom
op as for a built-in. On real pre-activations Z1 (some negative), the built-in ReLU passes
and the A-derivative is rejected where Z1 < 0."""),
    ("code", """Z1 = n0.layers[0](X[:2]).data
assert ag.gradcheck(lambda v: v[0].relu().sum(), [Value(Z1)])
try:
    ag.gradcheck(lambda v: relu_from_A(v[0]).sum(), [Value(Z1)])
    raise AssertionError("gradcheck should reject relu_from_A")
except ag.GradcheckError as e:
    print("relu_from_A:", e)
    assert Z1[e.element] < 0 and e.analytic == 1 and e.numeric == 0"""),
    ("md", """## The factor on the edge

One weight, one sample, Z = w·x = −1, L = (A − 1)². The built-in ReLU puts `1[Z>0] = 0` on
the edge Z → A, so no gradient reaches `w`; the learner's op puts `1[A≥0] = 1` there."""),
    ("code", """def one_sample(act):
    w, x = Value(-0.5, "w"), Value(2.0, "x")
    Z = w * x
    Z.label = "Z"
    A = act(Z)
    A.label = "A"
    L = (A - 1.0) ** 2
    L.label = "L"
    L.backward()
    return L, w


L_relu, w_relu = one_sample(ag.relu)
L_bug, w_bug = one_sample(relu_from_A)
assert w_relu.grad == 0 and w_bug.grad == -4
ag.draw(L_relu, wrt=w_relu)"""),
    ("code", "ag.draw(L_bug, wrt=w_bug)"),
]

SEED001 = [
    ("md", """# dAL is the derivative of the loss

**The question.** With a ReLU output layer and the squared error
`cost = np.sum((AL - Y)**2) / (2*m)`, what is `dAL`? And why does the trained network
predict exactly 0 for some inputs?

**The answer.** `dAL` is ∂L/∂A, the derivative of the **loss** with respect to the output,
not of the activation: for L = ½(A − Y)², dL/dA = A − Y per sample, and the cost
J = (1/m) Σ L adds the 1/m: dJ/dA = (A − Y)/m. ReLU's derivative is the next factor of the
chain dJ/dW = dJ/dL · dL/dA · dA/dZ · dZ/dW. Where the output's Z is negative, A = 0 and
dA/dZ = 0: that sample sends no gradient back and stays stuck at 0."""),
    ("code", """import numpy as np
import autograd_lite as ag
from autograd_lite import Value"""),
    ("md", "## 1. dL/dA and dJ/dA, read off a graph"),
    ("code", """Y = np.array([0.0, 6.0, 18.0, 36.0])
A = Value(np.array([1.0, 5.0, 20.0, 30.0]), "A")
L = 0.5 * (A - Y) ** 2  # the course's loss, with its ½
J = L.mean()
J.label = "J"
L.backward(np.ones(4))  # one backward per sample at once: dL_i/dA_i
dL_dA = A.grad.copy()
A.zero_grad()
J.backward()
dJ_dA = A.grad.copy()
print("dL/dA =", dL_dA, " dJ/dA =", dJ_dA)
assert np.array_equal(dL_dA, A.data - Y)  # A − Y
assert np.allclose(dJ_dA, (A.data - Y) / 4)  # (A − Y)/m
print(ag.explain(J, A, constants={"Y": Y}))"""),
    ("md", """## 2. The chain, factor by factor

One ReLU unit A = relu(W·x + b), W = 4, b = −5, on two samples of Y = 3x² + 3x (x = 1, 2).
Each sample is one red path from W to J; dJ/dW is the sum of their products. Sample 0 has
Z = −1: its A = 0 is wrong by 6, yet its path gives nothing, since dA/dZ = 1[Z>0] = 0.
Sample 1 has Z = 3: 1/2 · (3 − 18) · 1 · 2 = −15."""),
    ("code", """W, b = Value(4.0, "W"), Value(-5.0, "b")
xs, ys = (1.0, 2.0), (6.0, 18.0)
losses, products = [], []
for i, (x, y) in enumerate(zip(xs, ys)):
    Z = W * x + b
    Z.label = f"Z{i}"
    A = Z.relu()
    A.label = f"A{i}"
    L = 0.5 * (A - y) ** 2
    L.label = f"L{i}"
    losses.append(L)
    # dJ/dL · dL/dA · dA/dZ · dZ/dW
    products.append(1 / 2 * (A.data - y) * (1.0 if Z.data > 0 else 0.0) * x)
J = (losses[0] + losses[1]) / 2
J.label = "J"
J.backward()
print("products per sample:", [p + 0.0 for p in products], " W.grad =", W.grad)
assert products == [0.0, -15.0] and W.grad == -15
ag.draw(J, wrt=W)"""),
    ("md", """## 3. A ReLU output vs a linear output

`MLP([1, 8, 1])` on X = 0..19, Y = 3X² + 3X (both scaled to [0, 1]), 800 Adam steps, once
with a ReLU after the last layer and once without. With seed 0 the untrained network's
outputs are all negative: the ReLU output starts at 0 with dA/dZ = 0 and never moves. With
seed 4 only some outputs go negative during training, and exactly those stay stuck at 0."""),
    ("code", """Xq, Yq = ag.datasets.quadratic()
x, y = Xq / Xq.max(), Yq / Yq.max()


def fit(relu_output, seed):
    net = ag.nn.MLP([1, 8, 1], seed=seed)
    opt = ag.nn.Adam(net, lr=0.05)
    for _ in range(800):
        opt.zero_grad()
        A = net(x).relu() if relu_output else net(x)
        J = 0.5 * ((A - y) ** 2).mean()
        J.backward()
        opt.step()
    A = net(x).relu() if relu_output else net(x)
    stuck = int(np.sum((A.data == 0) & (y > 0)))
    return stuck, 0.5 * float(np.mean((A.data - y) ** 2))


for seed in (0, 4):
    stuck_relu, cost_relu = fit(True, seed)
    stuck_lin, cost_lin = fit(False, seed)
    print(f"seed {seed}: ReLU output {stuck_relu:2d} of 19 stuck at 0, "
          f"cost {cost_relu:.2e};  linear output cost {cost_lin:.2e}")
    assert stuck_relu == {0: 19, 4: 3}[seed]
    assert stuck_lin == 0 and cost_lin < 1e-4"""),
]

SEED002 = [
    ("md", """# ReLU is not differentiable at 0

**The question.** ReLU has a point where it is not differentiable. How are the weights
updated when the gradient does not exist there?

**The answer.** The framework *chooses* a value for relu'(0), a subgradient from [0, 1];
PyTorch, TensorFlow/Keras and JAX choose 0. The point has probability 0 in exact
arithmetic, but in floating point exact zeros do occur, far more often in low precision."""),
    ("code", """import numpy as np
import autograd_lite as ag
from autograd_lite import Value"""),
    ("md", """## The Keras example, with three choices

Inputs [−1, 0, 1, 2] through a ReLU, target 1, mean squared error:
dJ/dx = 2(relu(x) − 1)/4 · relu'(x). Only x = 0 depends on the choice."""),
    ("code", """target = np.ones(4)  # the question's target, 1 for every input


def keras_example(s):
    x = Value(np.array([-1.0, 0.0, 1.0, 2.0]), "x")
    with ag.relu_subgradient(s):
        A = x.relu()
    A.label = "A"
    J = ag.mse_loss(A, target)
    J.label = "J"
    J.backward()
    return x, J


grads = {}
for s in (0.0, 0.5, 1.0):
    x, J = keras_example(s)
    grads[s] = x.grad + 0.0  # + 0.0 turns -0.0 into 0.0
    print(f"relu'(0) = {s:g}: dJ/dx = {grads[s]}")
assert np.array_equal(grads[0.0], [0, 0, 0, 0.5])  # what Keras printed
assert np.array_equal(grads[0.5], [0, -0.25, 0, 0.5])
assert np.array_equal(grads[1.0], [0, -0.5, 0, 0.5])
for k in ag.kinks(J):
    print(f"kink: {k.node.label} = {k.op}(x), {k.count} input exactly 0, "
          f"relu'(0) = {k.subgradient:g} used")
assert [k.count for k in ag.kinks(J)] == [1]  # one input sat exactly on 0"""),
    ("md", """The choice is recorded on the node, drawn (the orange node is a kink: an input sat
exactly on 0) and used by backward. With relu'(0) = 0:"""),
    ("code", """x0, J0 = keras_example(0.0)
ag.draw(J0, wrt=x0, constants={"Y": target})"""),
    ("md", "With relu'(0) = 1:"),
    ("code", """x1, J1 = keras_example(1.0)
ag.draw(J1, wrt=x1, constants={"Y": target})"""),
    ("md", """## A census of exact zeros

`MLP([2, 16, 1])` trained on the flower data for 500 SGD steps in float16, float32 and
float64, each twice (relu'(0) = 0 and = 1); `ag.kinks` counts the hidden pre-activations that
were exactly 0. In float32 and float64 there are none, so the two runs are identical bit for
bit; float16 (11 significant bits) hits exact zeros (a few hundred of the 3.2 million here;
how many depends on the CPU's float16 kernels, that they occur does not) and the weights
differ."""),
    ("code", """X, y = ag.datasets.flower()


def census(dtype, s):
    Xd, Yd = X.astype(dtype), y.reshape(-1, 1).astype(dtype)
    net = ag.nn.MLP([2, 16, 1], seed=0, dtype=dtype, relu_subgradient=s)
    opt = ag.nn.SGD(net, lr=0.5)
    zeros = 0
    for _ in range(500):
        opt.zero_grad()
        J = ag.binary_cross_entropy_with_logits(net(Xd), Yd)
        zeros += sum(k.count for k in ag.kinks(J))
        J.backward()
        opt.step()
    return zeros, [p.data.copy() for p in net.parameters()]


for dtype in (np.float16, np.float32, np.float64):
    (zeros, w0), (_, w1) = census(dtype, 0.0), census(dtype, 1.0)
    same = all(np.array_equal(p, q) for p, q in zip(w0, w1))
    print(f"{np.dtype(dtype).name}: {'some' if zeros else 'no'} pre-activations "
          f"exactly 0; relu'(0) = 0 vs 1: "
          f"{'identical' if same else 'different'} weights")
    if dtype is np.float16:
        assert zeros > 0 and not same
    else:
        assert zeros == 0 and same"""),
]

SEED003 = [
    ("md", """# Leaky ReLU's backward

**The question.** Is this the right backward pass for leaky ReLU?

```python
def leaky_relu_backward(dA, cache):
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = .01
    return dZ
```

**The answer.** No: it is missing the chain rule. dL/dZ = dL/dA · dA/dZ with
dA/dZ = 1 if Z > 0 else 0.01. The code *sets* dZ to 0.01 where Z ≤ 0, throwing dL/dA away;
the fix is `dZ[Z <= 0] *= .01`."""),
    ("code", """import numpy as np
import autograd_lite as ag
from autograd_lite import Value"""),
    ("md", """## Both backwards as custom ops

The right one is an elementwise local derivative, which backward multiplies the arriving
gradient by. The question's cannot be written as a factor (where Z ≤ 0 its result does not
depend on dL/dA), so it is given as a vector-Jacobian product, a function from dA to dZ."""),
    ("code", """def forward(z):
    return np.where(z > 0, z, 0.01 * z)


def leaky_relu_backward_question(dA, Z):
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = .01
    return dZ


leaky_right = ag.custom_op("leaky_right", forward,
                           derivative=lambda z, a: np.where(z > 0, 1.0, 0.01),
                           symbol="1 if Z>0 else 0.01")
leaky_wrong = ag.custom_op(  # dA in, dZ out: the question's function as it is
    "leaky_wrong", forward,
    vjp=lambda dA, z, a: leaky_relu_backward_question(dA, z),
    symbol="dZ := 0.01 where Z≤0 (dA dropped)")"""),
    ("md", """## Side by side

Z = [−2, −0.5, 0.5, 2], target Y = [1, −1, 1, 1], J = mean((A − Y)²). At Z = −2 the loss
wants A larger (dA < 0), so dZ should be negative too; the question's code says +0.01."""),
    ("code", """Z0 = np.array([-2.0, -0.5, 0.5, 2.0])
Y = np.array([1.0, -1.0, 1.0, 1.0])
graphs = {}
for name, op in (("built-in", lambda z: z.leaky_relu(0.01)),
                 ("right", leaky_right), ("wrong", leaky_wrong)):
    Z = Value(Z0, "Z")
    A = op(Z)
    A.label = "A"
    J = ag.mse_loss(A, Y)
    J.label = "J"
    J.backward()
    graphs[name] = (J, Z)
    print(f"{name:<9} dL/dZ = {Z.grad}")
dA = 2 * (forward(Z0) - Y) / 4
assert np.allclose(graphs["right"][1].grad, np.where(Z0 > 0, 1, 0.01) * dA)
assert np.array_equal(graphs["right"][1].grad, graphs["built-in"][1].grad)
assert np.array_equal(graphs["wrong"][1].grad, [0.01, 0.01, -0.25, 0.5])"""),
    ("md", """The right op's edge Z → A carries the factor with its values,
`[0.01, 0.01, 1, 1]`:"""),
    ("code", """J, Z = graphs["right"]
ag.draw(J, wrt=Z, constants={"Y": Y})"""),
    ("md", """The question's op has no factor to show, because it does not multiply anything: its
edge says `(a vector-Jacobian product)`, a function of dA, not a number."""),
    ("code", """J, Z = graphs["wrong"]
ag.draw(J, wrt=Z, constants={"Y": Y})"""),
    ("md", """## gradcheck

With J = sum(A), dL/dA is 1 everywhere and "set to 0.01" equals "multiply 1 by 0.01": that
test cannot see the bug. With a loss whose dL/dA is not 1, gradcheck rejects the wrong
backward and passes the right one."""),
    ("code", """def passes(op, loss):
    def fn(v):
        A = op(v[0])
        return A.sum() if loss == "sum" else ag.mse_loss(A, Y)
    try:
        return ag.gradcheck(fn, [Value(Z0)])
    except ag.GradcheckError as e:
        print(f"{loss}, {op.__name__ if hasattr(op, '__name__') else op}: {e}")
        return False


verdicts = {(name, loss): passes(op, loss) for loss in ("sum", "mse")
            for name, op in (("right", leaky_right), ("wrong", leaky_wrong))}
print(verdicts)
assert verdicts == {("right", "sum"): True, ("wrong", "sum"): True,
                    ("right", "mse"): True, ("wrong", "mse"): False}"""),
    ("md", """## The checker names the mistake

`ag.check` takes the function as the course names it, calls it unchanged on small inputs
(some Z exactly 0), and says which kind of mistake it is and how to fix it:"""),
    ("code", """def leaky_relu_backward(dA, cache):  # the question's code, as it was asked
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = .01
    return dZ


report = ag.check({"leaky_relu_backward": leaky_relu_backward})
print(report)
assert [r.diagnosis for r in report.results] == ["no-chain-rule"]"""),
    ("code", """def leaky_relu_backward(dA, cache):  # the fix: multiply, not set
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] *= .01
    return dZ


assert ag.check({"leaky_relu_backward": leaky_relu_backward}).ok
print("fixed: ok")"""),
    ("md", """## Training

`MLP([2, 16, 1])` with each op as the hidden activation, 1500 SGD steps on the flower data.
The wrong gradient drives the weights away: its loss ends far above the right one's (the
exact accuracy of a run fed a wrong gradient varies with the CPU's arithmetic)."""),
    ("code", """X, y = ag.datasets.flower()


def train(op):
    net = ag.nn.MLP([2, 16, 1], op, seed=0)
    opt = ag.nn.SGD(net, lr=0.5)
    for _ in range(1500):
        opt.zero_grad()
        J = ag.binary_cross_entropy_with_logits(net(X), y.reshape(-1, 1))
        J.backward()
        opt.step()
    return float(np.mean((net(X).data[:, 0] > 0) == (y == 1))), J.item()


acc_right, J_right = train(leaky_right)
acc_wrong, J_wrong = train(leaky_wrong)
print(f"right: accuracy {acc_right:.3f}, loss {J_right:.3f}")
print(f"wrong: accuracy below the right one's: {acc_wrong < acc_right}, "
      f"loss above 100: {J_wrong > 100}")
assert J_right < 0.3 < 100 < J_wrong and acc_right > acc_wrong"""),
]

SEED004 = [
    ("md", """# Why activation derivatives

**The question.** We take dL/dw to see how w affects the loss. Why do we need the
derivative of the activation function, then? Does the loss change if we use ReLU instead of
sigmoid?

**The answer.** dJ/dW is a product of one factor for **every** function on the way from W
to J, activations included: dL/dW1 = dL/dA2 · dA2/dZ2 · dZ2/dA1 · dA1/dZ1 · dZ1/dW1.
Changing a hidden activation changes one factor, dA1/dZ1, and leaves the loss alone.
Changing the output activation changes what the network predicts, and with it the loss that
fits: sigmoid with cross-entropy, a linear or ReLU output with a squared error."""),
    ("code", """import numpy as np
import autograd_lite as ag
from autograd_lite import Value"""),
    ("md", "## 1. The factor each activation contributes"),
    ("code", """Z0 = np.array([-2.0, -0.5, 0.5, 2.0])
factors = {}
for name in ("relu", "leaky_relu", "tanh", "sigmoid"):
    Z = Value(Z0, "Z")
    S = getattr(Z, name)().sum()
    S.backward()  # dS/dZ = dA/dZ elementwise
    factors[name] = Z.grad
    symbol = ag.explain(S, Z).paths[0][-1].symbol
    print(f"{name:<11} dA/dZ = {symbol:<22} = {Z.grad.round(4)}")
assert np.array_equal(factors["relu"], [0, 0, 1, 1])
assert np.allclose(factors["tanh"], 1 - np.tanh(Z0) ** 2)
s = 1 / (1 + np.exp(-Z0))
assert np.allclose(factors["sigmoid"], s * (1 - s))"""),
    ("md", """## 2. Hidden layer: one factor changes

One sample x = 1.5, y = 1 through Z1 = W1·x, A1 = g(Z1), Z2 = W2·A1, A2 = σ(Z2) and the
cross-entropy L, with W1 = −0.4, W2 = −1.2. `ag.explain` reads the five factors of dL/dW1
off the graph. Z1 < 0 here, so the ReLU unit is off and passes nothing to W1."""),
    ("code", """x, y = 1.5, 1.0  # the sample (named in the picture: constants go by identity)


def tiny_network(hidden):
    W1, W2 = Value(-0.4, "W1"), Value(-1.2, "W2")
    Z1 = W1 * x
    Z1.label = "Z1"
    A1 = getattr(Z1, hidden)()
    A1.label = "A1"
    Z2 = W2 * A1
    Z2.label = "Z2"
    A2 = Z2.sigmoid()
    A2.label = "A2"
    L = ag.binary_cross_entropy(A2, y, reduction="none")
    L.label = "L"
    L.backward()
    return L, W1


dW1 = {}
for hidden in ("relu", "leaky_relu", "tanh", "sigmoid"):
    L, W1 = tiny_network(hidden)
    path = ag.explain(L, W1).paths[0]
    dW1[hidden] = W1.grad
    factors = " · ".join(f"{f.value:.4g}" for f in path)
    print(f"{hidden:<11} {factors} = {W1.grad:.4g}")
assert dW1["relu"] == 0
assert np.isclose(dW1["leaky_relu"], 0.008968, rtol=1e-3)
assert np.isclose(dW1["tanh"], 0.4409, rtol=1e-3)"""),
    ("md", "The chain for dL/dW1 with a tanh hidden unit, factor by factor:"),
    ("code", """L, W1 = tiny_network("tanh")
ag.draw(L, wrt=W1, constants={"x": x, "y": y})"""),
    ("md", """## 3. Output layer: the loss that fits

For a confidently wrong output (Z2 = −6, y = 1): with cross-entropy, dL/dA2 and the
sigmoid's factor A2(1 − A2) cancel to A2 − y ≈ −1. A squared error on a sigmoid keeps the
tiny factor A2(1 − A2), so the mistake is barely corrected."""),
    ("code", """heads = {"sigmoid + cross-entropy":
             lambda z: ag.binary_cross_entropy(z.sigmoid(), 1.0, "none"),
         "sigmoid + squared error": lambda z: (z.sigmoid() - 1.0) ** 2,
         "linear  + squared error": lambda z: (z - 1.0) ** 2}
dZ2 = {}
for name, head in heads.items():
    z = Value(-6.0, "Z2")
    head(z).backward()
    dZ2[name] = z.grad
    print(f"{name}: dL/dZ2 = {z.grad:.4g}")
assert np.isclose(dZ2["sigmoid + cross-entropy"], -0.9975, atol=1e-4)
assert np.isclose(dZ2["sigmoid + squared error"], -0.004921, atol=1e-6)
assert dZ2["linear  + squared error"] == -14"""),
    ("md", """## 4. Training

`MLP([2, 16, 1])` on the flower data, 1000 SGD steps: every hidden activation trains with
the same loss; a sigmoid output with a squared error learns more slowly."""),
    ("code", """X, y = ag.datasets.flower()
Y = y.reshape(-1, 1)


def train(hidden, head):
    net = ag.nn.MLP([2, 16, 1], hidden, seed=0)
    opt = ag.nn.SGD(net, lr=0.5)
    for _ in range(1000):
        opt.zero_grad()
        Z = net(X)
        J = (ag.binary_cross_entropy_with_logits(Z, Y) if head == "BCE"
             else ag.mse_loss(Z.sigmoid(), Y))
        J.backward()
        opt.step()
    return float(np.mean((net(X).data > 0) == (Y == 1)))


accuracy = {(h, "BCE"): train(h, "BCE")
            for h in ("relu", "leaky_relu", "tanh", "sigmoid")}
accuracy[("relu", "MSE")] = train("relu", "MSE")
for (hidden, head), a in accuracy.items():
    print(f"hidden {hidden:<11} output sigmoid + {head}: accuracy {a:.3f}")
assert min(a for (_, head), a in accuracy.items() if head == "BCE") > 0.88
assert accuracy[("relu", "MSE")] < accuracy[("relu", "BCE")] - 0.05"""),
]

REPLAY = [
    ("md", """# Watch backprop happen: the replay

`L.backward()` runs in one go. `ag.replay(L, wrt=...)` takes the same steps one at a time,
on a page that shows inline here: use its buttons (or ← and →) to step through the sweep."""),
    ("code", """import autograd_lite as ag
from autograd_lite import Value"""),
    ("md", """## The graph

L = h · h + h at h = 3. `h` is used three times: twice by the product, once by the sum.
`backward()` gives dL/dh = 1 + 3 + 3 = 7 at once, the sum over the three red paths."""),
    ("code", """h = Value(3.0, "h")
hh = h * h
hh.label = "hh"
L = hh + h
L.label = "L"
L.backward()
assert h.grad == 7.0
ag.draw(L, wrt=h)"""),
    ("md", """## The sweep, step by step

What each step of the page shows:

- **step 0**: the graph after the forward pass: every node has its value, no gradient yet
  (`grad —`; the replay reads the sweep again and leaves every `.grad` alone).
- **step 1**: `L` starts with dL/dL = 1 and passes it along its two input edges:
  `1 × 1` to `hh` and `1 × 1` to `h`.
- **step 2**: `hh` has received everything it will get (`✓ final`, dL/dhh = 1) and passes
  it to `h` along both of its edges, each with the factor `h = 3`: `h += 3`, twice.
- **step 3**: `h`, a leaf, is final: 1 + 3 + 3 = 7, exactly what `backward()` gives. The
  ledger on the right lists each `+=`."""),
    ("code", """r = ag.replay(L, wrt=h)
r"""),
    ("code", """for k, step in enumerate(r.steps, 1):
    passed = ", ".join(f"{r.keys[c.input]} += {c.upstream:g} × {c.factor:g}"
                       for c in step.contributions)
    passed = passed or "a leaf: nothing to pass on"
    print(f"step {k}: dL/d{r.keys[step.node]} = {step.grad:g} is final; {passed}")
assert [r.keys[s.node] for s in r.steps] == ["L", "hh", "h"]
assert [c.value for c in r.ledger(h)] == [1.0, 3.0, 3.0]
assert r.state()["h"] == {"grad": 7.0, "done": True}
assert r.state(0)["h"]["grad"] is None  # step 0: nothing computed yet
assert r.state()["h"]["grad"] == h.grad  # the last step is what backward() gave"""),
    ("md", """## Why the order matters

With a = 1, b = a + a, c = b + b, dc/da = 4. A naive recursive backward that passes on
whatever a node holds *now* sends `b`'s gradient on before its sum is complete, and `a` ends
at 6. `order="naive"` plays that walk, one edge per step, and its last step sets each
result against `backward()`'s."""),
    ("code", """a = Value(1.0, "a")
b = a + a
b.label = "b"
c = b + b
c.label = "c"
naive = ag.replay(c, order="naive")
sweep = ag.replay(c)
print(len(naive.steps), "naive steps;", len(sweep.steps), "sweep steps")
assert len(sweep.steps) == 3 and len(naive.steps) == 6
assert naive.state()["a"]["grad"] == 6.0 and sweep.state()["a"]["grad"] == 4.0
naive"""),
]


def build(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell(t) if k == "md" else new_code_cell(t)
                             for k, t in cells])
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"  # the same ids on every run: a rewrite changes nothing
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


NOTEBOOKS = {
    "quickstart.ipynb": QUICKSTART,
    "chain_rule_pictures.ipynb": PICTURES,
    "seed000_relu_derivative_from_z.ipynb": SEED000,
    "seed001_dAL_is_the_loss_derivative.ipynb": SEED001,
    "seed002_relu_not_differentiable_at_zero.ipynb": SEED002,
    "seed003_leaky_relu_backward.ipynb": SEED003,
    "seed004_why_activation_derivatives.ipynb": SEED004,
    "replay.ipynb": REPLAY,
}


def execute(nb: nbformat.NotebookNode, cwd: str | os.PathLike[str]) -> nbformat.NotebookNode:
    """Run ``nb`` top to bottom in a fresh ``python3`` kernel whose working folder is ``cwd``
    and which imports this checkout's package; raises on the first failing cell."""
    import nbclient

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     record_timing=False,
                                     resources={"metadata": {"path": str(cwd)}})
    with _environ(env):
        client.execute()
    for cell in nb.cells:  # what varies from run to run: object addresses, stream chunks
        if cell.cell_type != "code":
            continue
        cell.outputs = _coalesced(cell.outputs)
        for out in cell.outputs:
            data = out.get("data", {})
            if "text/plain" in data and set(data) - {"text/plain"}:
                del data["text/plain"]  # "<graphviz.graphs.Digraph at 0x...>" and the like
    return nb


def _coalesced(outputs: list) -> list:
    """Consecutive stream outputs of one stream as one: how a kernel splits what a cell
    prints into messages depends on timing."""
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and last is not None
                and last.get("output_type") == "stream" and last["name"] == out["name"]):
            last["text"] += out["text"]
        else:
            merged.append(out)
    return merged


class _environ:
    """Set the environment for the kernel started inside the block, then restore it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.saved = env, None

    def __enter__(self) -> None:
        self.saved = dict(os.environ)
        os.environ.update(self.env)

    def __exit__(self, *exc: object) -> None:
        os.environ.clear()
        os.environ.update(self.saved)


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(cells), HERE / name)
        print("wrote", HERE / name)
        with tempfile.TemporaryDirectory() as cwd:  # files a notebook writes go there
            nbformat.write(execute(build(cells), cwd), DOCS / name)
        print("wrote", DOCS / name, "(executed)")


if __name__ == "__main__":
    main()

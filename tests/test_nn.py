"""Networks, optimisers and the datasets they train on: shapes, labels, initialisation,
gradients, training, errors."""

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value
from autograd_lite.nn import MLP, SGD, Adam, Linear, Module


def _accuracy(net, X, y):
    return float(np.mean((net(X).data[:, 0] > 0) == (y == 1)))


def _train_flower(sizes, steps, lr=0.5, seed=0):
    X, y = ag.datasets.flower()
    Y = y.reshape(-1, 1)
    net = MLP(sizes, seed=seed)
    opt = SGD(net.parameters(), lr)
    for _ in range(steps):
        opt.zero_grad()
        ag.binary_cross_entropy_with_logits(net(X), Y).backward()
        opt.step()
    return _accuracy(net, X, y)


def test_mlp_learns_the_flower_that_a_linear_model_cannot():
    linear = _train_flower([2, 1], 500)
    mlp = _train_flower([2, 16, 1], 2000)
    assert linear < 0.6  # two interleaved classes: no straight line separates them
    assert mlp > 0.85 and mlp - linear > 0.25


def test_linear_computes_x_at_w_plus_b_with_labelled_parts():
    layer = Linear(3, 2, seed=0, name="1")
    X = np.arange(12.0).reshape(4, 3)
    Z = layer(X)
    assert Z.shape == (4, 2) and Z.label == "Z1" and Z.op == "add"
    assert np.allclose(Z.data, X @ layer.W.data + layer.b.data)
    assert [p.label for p in layer.parameters()] == ["W1", "b1"]
    assert layer.W.shape == (3, 2) and layer.b.shape == (2,)
    assert np.array_equal(layer.b.data, np.zeros(2))


def test_linear_array_input_is_a_constant_and_value_input_gets_a_gradient():
    layer = Linear(2, 3, seed=1)
    X = np.array([[1.0, -2.0], [0.5, 3.0]])
    Z = layer(X)
    matmul = Z.parents[0]
    assert matmul.op == "matmul" and isinstance(matmul.parents[0], np.ndarray)  # X: a constant
    Xv = Value(X, "X")
    layer(Xv).sum().backward()
    assert np.allclose(Xv.grad, np.ones((2, 3)) @ layer.W.data.T)
    assert np.allclose(layer.W.grad, X.T @ np.ones((2, 3)))
    assert np.allclose(layer.b.grad, [2.0, 2.0, 2.0])


def test_linear_takes_a_single_sample():
    layer = Linear(2, 3, seed=1)
    assert layer(np.array([1.0, 2.0])).shape == (3,)


@pytest.mark.parametrize("init, std", [("he", np.sqrt(2 / 400)), ("lecun", np.sqrt(1 / 400)),
                                       ("glorot", np.sqrt(2 / 600))])
def test_initialisation_scale(init, std):
    W = Linear(400, 200, seed=3, init=init).W.data
    assert abs(W.mean()) < 0.05 * std
    assert W.std() == pytest.approx(std, rel=0.02)


def test_mlp_picks_he_for_relu_and_glorot_for_tanh():
    assert [layer.init for layer in MLP([2, 4, 1]).layers] == ["he", "he"]
    assert [layer.init for layer in MLP([2, 4, 1], "leaky_relu").layers] == ["he", "he"]
    assert [layer.init for layer in MLP([2, 4, 1], "tanh").layers] == ["glorot", "glorot"]
    assert [layer.init for layer in MLP([2, 4, 1], "sigmoid").layers] == ["glorot", "glorot"]
    assert [layer.init for layer in MLP([2, 4, 1], "tanh", init="lecun").layers] == ["lecun"] * 2


def test_seeds_make_networks_reproducible():
    a, b, c = MLP([2, 5, 3, 1], seed=7), MLP([2, 5, 3, 1], seed=7), MLP([2, 5, 3, 1], seed=8)
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.data, q.data)
    assert not np.array_equal(a.layers[0].W.data, c.layers[0].W.data)
    g = np.random.default_rng(7)
    assert np.array_equal(Linear(2, 5, g).W.data, a.layers[0].W.data)  # one generator, in order


def test_mlp_structure_labels_and_last_layer_linear():
    net = MLP([2, 5, 4, 1], "tanh", seed=0)
    assert [p.label for p in net.parameters()] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    out = net(np.ones((6, 2)))
    assert out.shape == (6, 1) and out.label == "Z3" and out.op == "add"
    A2 = out.parents[0].parents[0]
    assert A2.label == "A2" and A2.op == "tanh"
    assert [len(list(layer.parameters())) for layer in net] == [2, 2, 2]
    assert repr(net) == "MLP([2, 5, 4, 1], activation='tanh')"
    assert MLP(np.array([2, 3, 1]), seed=0).sizes == [2, 3, 1]  # any sequence of ints


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_mlp_gradients_pass_gradcheck(activation):
    net = MLP([3, 4, 2], activation, seed=2)
    X = np.random.default_rng(0).normal(size=(5, 3))
    params = net.parameters()
    assert net(X).parents[0].parents[0].op == activation

    def loss(vs):  # the same network with gradcheck's copies of W1, b1, W2, b2 in place
        for layer, W, b in zip(net.layers, vs[::2], vs[1::2]):
            layer.W, layer.b = W, b
        return ag.mse_loss(net(X), np.ones((5, 2)))

    assert ag.gradcheck(loss, [Value(p.data) for p in params])


def test_mlp_backward_matches_the_textbook_formulas():
    """dZ2 = (A2 − Y)·2/m, dW2 = A1ᵀ dZ2, dZ1 = dZ2 W2ᵀ · 1[Z1 > 0], dW1 = Xᵀ dZ1."""
    X = np.random.default_rng(1).normal(size=(8, 2))
    Y = np.random.default_rng(2).normal(size=(8, 1))
    net = MLP([2, 3, 1], seed=4)
    net.zero_grad()
    ag.mse_loss(net(X), Y).backward()
    (W1, b1), (W2, b2) = ((layer.W.data, layer.b.data) for layer in net)
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0)
    dZ2 = 2 * (A1 @ W2 + b2 - Y) / len(X)
    dZ1 = dZ2 @ W2.T * (Z1 > 0)
    assert np.allclose(net.layers[1].W.grad, A1.T @ dZ2)
    assert np.allclose(net.layers[1].b.grad, dZ2.sum(0))
    assert np.allclose(net.layers[0].W.grad, X.T @ dZ1)
    assert np.allclose(net.layers[0].b.grad, dZ1.sum(0))


def test_mlp_honours_the_relu_subgradient_from_context_and_argument():
    X = np.zeros((3, 2))  # with zero biases every hidden pre-activation is exactly 0

    def b1_grad(net):
        net.zero_grad()
        net(X).sum().backward()
        return net.layers[0].b.grad.copy()

    net = MLP([2, 4, 1], seed=0)
    W2 = net.layers[1].W.data[:, 0]
    assert np.array_equal(b1_grad(net), np.zeros(4))  # default relu'(0) = 0
    with ag.relu_subgradient(1.0):
        assert np.allclose(b1_grad(net), 3 * W2)
    with ag.relu_subgradient(1.0):
        fixed = MLP([2, 4, 1], seed=0, relu_subgradient=0.5)  # the argument wins
        assert np.allclose(b1_grad(fixed), 1.5 * W2)
    assert fixed(X).parents[0].parents[0].params["subgradient"] == 0.5


def test_mlp_takes_a_custom_activation():
    relu_a = ag.custom_op("relu_from_output", lambda z: np.maximum(z, 0),
                          derivative=lambda z, a: 1.0 * (a >= 0), symbol="1[A≥0]")
    net = MLP([2, 3, 1], relu_a, seed=0)
    assert net.activation == "relu_from_output"
    assert [layer.init for layer in net] == ["he", "he"]
    X = np.array([[1.0, -1.0], [-2.0, 0.5]])
    net(X).sum().backward()
    # the derivative is 1 everywhere: dL/db1 sums W2 over the batch whatever the sign of Z1
    assert np.allclose(net.layers[0].b.grad, 2 * net.layers[1].W.data[:, 0])
    with pytest.raises(TypeError, match="must return a Value"):
        MLP([2, 3, 1], lambda z: z.data, seed=0)(X)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtype_is_kept_through_training(dtype, optimizer):
    net = MLP([2, 3, 1], seed=0, dtype=dtype)
    opt = optimizer(net, lr=0.1)
    X = np.ones((4, 2))  # float64 data is converted to the layer's dtype
    out = net(X)
    assert out.dtype == dtype
    opt.zero_grad()
    ag.mse_loss(out, np.zeros((4, 1), dtype=dtype)).backward()
    opt.step()
    assert all(p.data.dtype == dtype and p.grad.dtype == dtype for p in net.parameters())


def test_sgd_step_and_zero_grad():
    w, b = Value(np.array([1.0, 2.0]), "w"), Value(0.5, "b")
    opt = SGD([w, b], lr=0.1)
    L = (w * w).sum() + b * 3.0
    L.backward()
    opt.step()
    assert np.allclose(w.data, [0.8, 1.6]) and b.data == pytest.approx(0.2)
    assert type(b.data) is float
    opt.zero_grad()
    assert np.array_equal(w.grad, [0.0, 0.0]) and b.grad == 0.0


def test_adam_follows_its_update_rule_step_by_step():
    """m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², W ← W − lr·m̂/(√v̂ + eps), written out."""
    rng = np.random.default_rng(3)
    w0, target = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    (b1, b2), lr, eps = (0.8, 0.99), 0.05, 1e-6
    w = Value(w0.copy())
    opt = Adam([w], lr=lr, betas=(b1, b2), eps=eps)
    ref, m, v = w0.copy(), np.zeros((3, 2)), np.zeros((3, 2))
    for t in range(1, 21):
        opt.zero_grad()
        ((w - target) ** 2).sum().backward()
        opt.step()
        g = 2 * (ref - target)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        ref = ref - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        assert np.allclose(w.data, ref, rtol=0, atol=1e-12), f"step {t}"
    assert opt.t == 20


def test_adam_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 2))
    target = rng.normal(size=(3, 2))
    w = Value(w0.copy())
    opt = Adam([w], lr=0.05, betas=(0.8, 0.99), eps=1e-6)
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = torch.optim.Adam([tw], lr=0.05, betas=(0.8, 0.99), eps=1e-6)
    for _ in range(20):
        opt.zero_grad()
        ((w - target) ** 2).sum().backward()
        opt.step()
        topt.zero_grad()
        ((tw - torch.tensor(target)) ** 2).sum().backward()
        topt.step()
    assert np.allclose(w.data, tw.detach().numpy(), atol=1e-12)


def test_module_finds_nested_parameters_once():
    class Net(Module):
        def __init__(self):
            self.blocks = [Linear(2, 2, seed=0, name="1"), (Linear(2, 1, seed=1, name="2"),)]
            self.scale = Value(1.0, "s")
            self.alias = self.scale  # the same Value twice counts once
            self.note = "not a parameter"

        def forward(self, x):
            return self.blocks[1][0](self.blocks[0](x)) * self.scale

    net = Net()
    assert [p.label for p in net.parameters()] == ["W1", "b1", "W2", "b2", "s"]
    net(np.ones((1, 2))).sum().backward()
    assert net.scale.grad != 0.0
    net.zero_grad()
    assert all(np.all(p.grad == 0) for p in net.parameters())
    with pytest.raises(NotImplementedError, match="forward"):
        Module()(1.0)


@pytest.mark.parametrize("make, exc, match", [
    (lambda: Linear(0, 2), ValueError, "n_in must be a positive integer"),
    (lambda: Linear(2, 2.5), ValueError, "n_out must be a positive integer"),
    (lambda: Linear(2, True), ValueError, "n_out"),
    (lambda: Linear(2, 2, seed=-1), ValueError, "seed must be None"),
    (lambda: Linear(2, 2, seed="a"), ValueError, "seed"),
    (lambda: Linear(2, 2, init="xavier"), ValueError, "init must be one of"),
    (lambda: Linear(2, 2, dtype=np.int32), ValueError, "float16, float32 or float64"),
    (lambda: Linear(2, 2, dtype="banana"), ValueError, "dtype"),
    (lambda: Linear(2, 2, name=1), TypeError, "name must be a str"),
    (lambda: MLP([2]), ValueError, "at least two"),
    (lambda: MLP("21"), ValueError, "sizes"),
    (lambda: MLP(5), ValueError, "sizes"),
    (lambda: MLP([2, 0, 1]), ValueError, r"sizes\[1\]"),
    (lambda: MLP([2, 1], "softplus"), ValueError, "activation must be one of"),
    (lambda: MLP([2, 1], "tanh", relu_subgradient=0.5), ValueError, "applies to"),
    (lambda: MLP([2, 1], relu_subgradient=2.0), ValueError, r"\[0, 1\]"),
    (lambda: MLP([2, 1], slope=float("nan")), ValueError, "slope"),
])
def test_constructor_errors_name_the_problem(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_bad_batches_are_refused_clearly():
    layer = Linear(3, 2)
    with pytest.raises(ValueError, match=r"shape \(batch, 3\).*got shape \(4, 2\)"):
        layer(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"got shape \(2, 2, 3\)"):
        layer(Value(np.ones((2, 2, 3))))
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        layer(3.0)
    with pytest.raises(TypeError, match=r"array or a Value of shape \(batch, 3\)"):
        layer("abc")
    with pytest.raises(ValueError, match="Linear"):
        MLP([3, 4, 1])(np.ones((2, 2)))


@pytest.mark.parametrize("make, exc, match", [
    (lambda w: SGD([w], lr=0), ValueError, "lr"),
    (lambda w: SGD([w], lr=float("inf")), ValueError, "lr"),
    (lambda w: SGD([], lr=0.1), ValueError, "empty"),
    (lambda w: SGD([w, np.ones(2)], lr=0.1), TypeError, r"params\[1\] is a ndarray"),
    (lambda w: SGD(3, lr=0.1), TypeError, "iterable of Values"),
    (lambda w: SGD([w, w], lr=0.1), ValueError, "twice"),
    (lambda w: Adam([w], betas=(0.9,)), ValueError, "betas"),
    (lambda w: Adam([w], betas=(0.9, 1.0)), ValueError, "betas"),
    (lambda w: Adam([w], eps=0), ValueError, "eps"),
])
def test_optimizer_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make(Value(np.ones(2)))


# --- datasets ---------------------------------------------------------------------------------

def _petals(n):
    """The noise-free flower, written from its formula: r = 4·sin(4t), one class per half-turn."""
    parts = []
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, n)
        r = 4 * np.sin(4 * t)
        parts.append(np.c_[r * np.sin(t), r * np.cos(t)])
    return np.concatenate(parts)


def test_flower_is_r_equals_4_sin_4t_with_200_points_per_class():
    X, y = ag.datasets.flower()
    assert X.shape == (400, 2) and X.dtype == np.float64
    assert np.array_equal(y, np.repeat([0, 1], 200)) and y.dtype.kind == "i"
    exact, _ = ag.datasets.flower(noise=0.0)
    assert np.allclose(exact, _petals(200), rtol=0, atol=1e-12)
    # the noisy points stay on the petals: near the noise-free curve, but not on it
    curve = _petals(5000)
    distance = np.sqrt(((X[:, None, :] - curve[None, :, :]) ** 2).sum(-1)).min(1)
    assert 0.005 < np.median(distance) < 0.3 and distance.max() < 1.5
    assert ag.datasets.flower(50)[0].shape == (100, 2)


def test_datasets_are_seeded_and_reproducible():
    for make in (ag.datasets.flower, ag.datasets.moons):
        a, b, c = make(seed=3), make(seed=3), make(seed=4)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        assert not np.array_equal(a[0], c[0])
        assert np.array_equal(make()[0], make()[0])  # the default seed is fixed too


def test_moons_are_two_interleaving_half_circles():
    X, y = ag.datasets.moons(101, noise=0.0)
    assert X.shape == (101, 2) and np.bincount(y).tolist() == [51, 50]
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(*upper.T), 1) and np.all(upper[:, 1] >= -1e-12)
    assert np.allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)
    assert not np.array_equal(y[:50], np.sort(y[:50]))  # shuffled, not one class then the other
    noisy, labels = ag.datasets.moons(101, noise=0.1)
    assert 0.05 < np.std(np.hypot(*noisy[labels == 0].T)) < 0.2  # the noise is about 0.1


def test_quadratic_is_the_regression_of_seed_question_001():
    X, Y = ag.datasets.quadratic()
    assert X.shape == Y.shape == (20, 1)
    assert np.array_equal(X[:, 0], np.arange(20.0))
    assert np.array_equal(Y[:, 0], 3 * np.arange(20.0) ** 2 + 3 * np.arange(20.0))
    assert Y[-1, 0] == 1140.0 and ag.datasets.quadratic(5)[0].shape == (5, 1)


@pytest.mark.parametrize("make, match", [
    (lambda: ag.datasets.flower(0), "n_per_class must be a positive integer"),
    (lambda: ag.datasets.flower(2.5), "n_per_class"),
    (lambda: ag.datasets.flower(noise=-0.1), "noise must be a finite number >= 0"),
    (lambda: ag.datasets.flower(noise=float("inf")), "noise"),
    (lambda: ag.datasets.moons(True), "n must be a positive integer"),
    (lambda: ag.datasets.moons(noise="a"), "noise"),
    (lambda: ag.datasets.quadratic(0), "n must be a positive integer"),
])
def test_dataset_arguments_are_checked(make, match):
    with pytest.raises(ValueError, match=match):
        make()

"""The ag.nn layers with PyTorch's names: Sequential, ReLU, Tanh, Sigmoid, Flatten, Dropout,
BatchNorm1d, LayerNorm -- each against torch.nn with the same weights (forward, gradients of
the input and the parameters, training and evaluation modes), over shapes drawn by
hypothesis, against finite differences, and their errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite as ag
from autograd_lite import Value
from autograd_lite.nn import (
    BatchNorm1d,
    Dropout,
    Flatten,
    LayerNorm,
    Linear,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)


def torch_or_skip():
    return pytest.importorskip("torch")


def t(a, grad=True):
    torch = torch_or_skip()
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def through(layer, *names):
    """``fn(v)`` for ag.gradcheck: the layer with its parameters ``names`` set to ``v[1:]``,
    applied to ``v[0]`` (gradcheck perturbs the copies it passes, not the layer's own)."""
    def fn(v):
        for name, value in zip(names, v[1:]):
            setattr(layer, name, value)
        return layer(v[0])
    return fn


def _randomise(layer, rng):
    """Non-trivial γ and β (they start at ones and zeros), as arrays to copy into torch."""
    layer.weight.data = rng.normal(1.0, 0.5, layer.weight.shape)
    layer.bias.data = rng.normal(0.0, 0.5, layer.bias.shape)


def _copy_affine(ours, theirs):
    torch = torch_or_skip()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))


def both(ours, theirs, X, G):
    """Run a layer of ours and torch's on the same batch and upstream gradient ``G`` (or one
    drawn from the generator ``G`` in the output's shape); return the outputs and the
    gradients of the input and the parameters, ours then theirs."""
    xv = Value(X.copy(), "x")
    out = ours(xv)
    if isinstance(G, np.random.Generator):
        G = G.normal(size=out.shape)
    out.backward(G)
    xt = t(X)
    out_t = theirs(xt)
    out_t.backward(t(G, grad=False))
    mine = [out.data, xv.grad] + [p.grad for p in ours.parameters()]
    torch_ = [out_t.detach().numpy(), xt.grad.numpy()] + [
        p.grad.numpy() for p in theirs.parameters()]
    return mine, torch_


def close(mine, theirs, atol=1e-10):
    assert len(mine) == len(theirs)
    for k, (a, b) in enumerate(zip(mine, theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=atol, err_msg=f"item {k}")


# --- Module: train / eval, modules(), repr ----------------------------------------------------

def test_train_and_eval_reach_every_submodule_and_return_the_module():
    drop, bn = Dropout(0.3), BatchNorm1d(4)
    net = Sequential(Linear(3, 4, seed=0), bn, Sequential(ReLU(), drop), Linear(4, 1, seed=1))
    assert net.training and drop.training and bn.training  # modules start in training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    assert net.train(False) is net and not drop.training
    assert len(net.modules()) == 7  # net, 2 Linear, bn, the inner Sequential, ReLU, drop
    with pytest.raises(TypeError, match="train\\(mode\\) takes True or False, got 'no'"):
        net.train("no")


def test_a_custom_module_gets_train_eval_and_a_pytorch_like_repr():
    class Block(Module):
        def __init__(self):
            self.fc = Linear(2, 2, seed=0)
            self.heads = [Dropout(0.1), Tanh()]

        def forward(self, x):
            return self.heads[1](self.heads[0](self.fc(x)))

    block = Block()
    assert block.eval() is block and not block.heads[0].training
    assert repr(block) == ("Block(\n  (fc): Linear(2, 2, init='he', name='')\n"
                           "  (heads.0): Dropout(p=0.1)\n  (heads.1): Tanh()\n)")
    x = np.ones((3, 2))
    assert np.array_equal(block(x).data, np.tanh(block.fc(x).data))  # eval: no dropout


def test_reprs_read_like_pytorch():
    assert repr(ReLU()) == "ReLU()" and repr(ReLU(subgradient=1)) == "ReLU(subgradient=1)"
    assert repr(Sigmoid()) == "Sigmoid()" and repr(Tanh()) == "Tanh()"
    assert repr(Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(Dropout(0.25)) == "Dropout(p=0.25)"
    assert repr(BatchNorm1d(3)) == "BatchNorm1d(3, eps=1e-05, momentum=0.1)"
    assert repr(LayerNorm(5)) == "LayerNorm((5,), eps=1e-05)"
    assert repr(Sequential(Sequential(ReLU()), Tanh())) == (
        "Sequential(\n  (0): Sequential(\n    (0): ReLU()\n  )\n  (1): Tanh()\n)")
    assert repr(Sequential()) == "Sequential()"


# --- Sequential -------------------------------------------------------------------------------

def test_sequential_composes_indexes_and_collects_parameters_in_order():
    a, b = Linear(3, 4, seed=0, name="1"), Linear(4, 2, seed=1, name="2")
    net = Sequential(a, Tanh(), b)
    X = np.random.default_rng(0).normal(size=(5, 3))
    assert np.array_equal(net(X).data, b(a(X).tanh()).data)
    assert len(net) == 3 and net[0] is a and net[-1] is b and list(net) == net.layers
    head = net[:2]
    assert isinstance(head, Sequential) and head.layers == [a, net[1]]
    assert [p.label for p in net.parameters()] == ["W1", "b1", "W2", "b2"]
    net(X).sum().backward()
    assert np.any(a.W.grad != 0)
    net.zero_grad()
    assert all(np.all(p.grad == 0) for p in net.parameters())
    assert Sequential()(X) is X  # no layers: the identity, as torch.nn.Sequential()


def test_sequential_shares_a_layer_used_twice_once_in_parameters():
    layer = Linear(2, 2, seed=0)
    assert len(Sequential(layer, ReLU(), layer).parameters()) == 2


@pytest.mark.parametrize("bad, match", [
    (ReLU, r"layer 1 is a type \(the class itself: write ReLU\(\)\)"),
    (np.tanh, "layer 1 is a ufunc"),
    ("relu", "layer 1 is a str"),
])
def test_sequential_refuses_what_is_not_a_module(bad, match):
    with pytest.raises(TypeError, match=r"Sequential takes Modules.*" + match):
        Sequential(Linear(2, 2), bad)


# --- activations ------------------------------------------------------------------------------

@pytest.mark.parametrize("ours, name", [(ReLU(), "ReLU"), (Tanh(), "Tanh"),
                                        (Sigmoid(), "Sigmoid")])
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_activations_match_torch(ours, name, shape):
    torch = torch_or_skip()
    rng = np.random.default_rng(len(shape))
    X, G = rng.normal(size=shape), rng.normal(size=shape)
    mine, theirs = both(ours, getattr(torch.nn, name)(), X, G)
    close(mine, theirs)


def test_relu_module_takes_a_subgradient_and_otherwise_the_context():
    x = Value(np.array([-1.0, 0.0, 2.0]))
    ReLU(subgradient=0.5)(x).sum().backward()
    assert np.array_equal(x.grad, [0.0, 0.5, 1.0])
    x.zero_grad()
    layer = ReLU()
    with ag.relu_subgradient(1.0):
        y = layer(x)
    y.sum().backward()
    assert np.array_equal(x.grad, [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"subgradient \(relu'\(0\)\) must be a real number "
                                         r"in \[0, 1\], got 2"):
        ReLU(subgradient=2)


def test_activation_of_an_array_is_a_value_with_a_constant_input():
    out = Sigmoid()(np.zeros(3))
    assert isinstance(out, Value) and np.array_equal(out.data, [0.5, 0.5, 0.5])


# --- Flatten ----------------------------------------------------------------------------------

@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=5), data=st.data())
def test_flatten_matches_torch(shape, data):
    torch = torch_or_skip()
    n = len(shape)
    start = data.draw(st.integers(-n, n - 1))
    end = data.draw(st.integers(start % n, n - 1))  # an axis at or after start ...
    end -= n * data.draw(st.booleans())  # ... counted from the front or from the back
    rng = np.random.default_rng(n)
    X = rng.normal(size=shape)
    out_t = torch.nn.Flatten(start, end)(t(X))
    G = rng.normal(size=tuple(out_t.shape))
    mine, theirs = both(Flatten(start, end), torch.nn.Flatten(start, end), X, G)
    assert mine[0].shape == theirs[0].shape
    close(mine, theirs)


def test_flatten_turns_an_image_batch_into_rows():
    assert Flatten()(np.zeros((2, 8, 4, 4))).shape == (2, 128)
    assert Flatten(0)(np.zeros((2, 3))).shape == (6,)


def test_flatten_errors_name_the_shape_and_the_axes():
    with pytest.raises(ValueError, match=r"Flatten\(start_dim=1, end_dim=-1\) cannot flatten "
                                         r"an input of shape \(3,\)"):
        Flatten()(np.zeros(3))
    with pytest.raises(ValueError, match="start_dim <= end_dim"):
        Flatten(2, 1)(np.zeros((2, 3, 4)))
    with pytest.raises(TypeError, match="start_dim must be an integer"):
        Flatten(1.0)
    with pytest.raises(TypeError, match="end_dim must be an integer"):
        Flatten(1, True)
    with pytest.raises(TypeError, match=r"Flatten\(start_dim=1, end_dim=-1\) takes an array "
                                        r"or a Value"):
        Flatten()("abc")


# --- Dropout ----------------------------------------------------------------------------------

def test_dropout_zeroes_with_probability_p_and_keeps_the_mean():
    drop = Dropout(0.3, seed=0)
    x = Value(np.full((400, 500), 2.0))
    out = drop(x)
    mask = drop.mask
    assert set(np.unique(mask)) == {0.0, 1 / 0.7}  # inverted dropout: the kept are scaled
    assert np.mean(mask == 0) == pytest.approx(0.3, abs=0.005)  # 200,000 draws: sd 0.001
    assert out.data.mean() == pytest.approx(2.0, rel=0.01)  # the expectation is the input
    assert np.array_equal(out.data, 2.0 * mask)
    out.backward(np.ones(x.shape))
    assert np.array_equal(x.grad, mask)  # dL/dx = mask · dL/dout
    assert out.parents[1] is mask  # the mask is a constant: no gradient is computed for it


def test_dropout_draws_a_new_mask_each_call_and_a_seed_repeats_the_sequence():
    a, b, c = Dropout(0.5, seed=3), Dropout(0.5, seed=3), Dropout(0.5, seed=4)
    x = np.ones((8, 8))
    first, second = a(x).data, a(x).data
    assert not np.array_equal(first, second)
    assert np.array_equal(b(x).data, first) and np.array_equal(b(x).data, second)
    assert not np.array_equal(c(x).data, first)


def test_dropout_is_the_identity_in_eval_mode_and_at_p_zero():
    x = Value(np.arange(6.0))
    assert Dropout(0.9).eval()(x) is x
    assert Dropout(0.0, seed=0)(x) is x
    drop = Dropout(0.5, seed=0)
    drop.eval()
    drop.train()
    assert drop(x) is not x


def test_dropout_keeps_the_dtype_and_names_its_mask_in_pictures():
    drop = Dropout(0.5, seed=1)
    x = Value(np.ones((2, 3), dtype=np.float32), "x")
    out = drop(x)
    assert out.dtype == np.float32 and drop.mask.dtype == np.float32
    text = str(ag.explain(out.sum(), x, constants={"mask": drop.mask}))
    assert "mask" in text


def test_dropout_matches_torch_in_eval_mode_and_in_expectation():
    torch = torch_or_skip()
    X = np.random.default_rng(0).normal(size=(3, 4))
    assert np.array_equal(Dropout(0.5).eval()(X), torch.nn.Dropout(0.5).eval()(t(X)).detach())
    keep_t = (torch.nn.Dropout(0.25)(torch.ones(100_000, dtype=torch.float64)) != 0).double()
    keep = (Dropout(0.25, seed=0)(np.ones(100_000)).data != 0)
    assert keep.mean() == pytest.approx(float(keep_t.mean()), abs=0.01)  # both about 0.75


@pytest.mark.parametrize("p, match", [
    (1.0, r"must be in \[0, 1\): p = 1 zeroes everything"),
    (1.5, r"p \(the probability of zeroing an element\) must be a real number in \[0, 1\], "
          r"got 1.5"),
    (-0.1, r"in \[0, 1\], got -0.1"),
    (float("nan"), "got nan"),
    ("0.5", "got '0.5'"),
    (True, "got True"),
])
def test_dropout_refuses_p_outside_zero_to_one(p, match):
    with pytest.raises(ValueError, match=match):
        Dropout(p)


def test_dropout_refuses_a_bad_seed():
    with pytest.raises(ValueError, match="seed must be None"):
        Dropout(0.5, seed=-1)


# --- BatchNorm1d ------------------------------------------------------------------------------

def _bn_pair(n, rng, **kw):
    torch = torch_or_skip()
    ours = BatchNorm1d(n, **kw)
    _randomise(ours, rng)
    theirs = torch.nn.BatchNorm1d(n, **kw).double()
    _copy_affine(ours, theirs)
    return ours, theirs


@given(n=st.integers(1, 5), batch=st.integers(2, 6), length=st.none() | st.integers(1, 4),
       momentum=st.none() | st.sampled_from([0.1, 0.5]))
def test_batchnorm_matches_torch_in_training_and_its_running_statistics(n, batch, length,
                                                                        momentum):
    rng = np.random.default_rng(n * 100 + batch)
    shape = (batch, n) if length is None else (batch, n, length)
    ours, theirs = _bn_pair(n, rng, momentum=momentum)
    for _ in range(4):  # several training steps: the running statistics follow
        X, G = rng.normal(2.0, 3.0, shape), rng.normal(size=shape)
        ours.zero_grad()
        theirs.zero_grad()
        mine, torch_ = both(ours, theirs, X, G)
        close(mine, torch_, atol=1e-9)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    assert ours.num_batches_tracked == int(theirs.num_batches_tracked) == 4


@given(n=st.integers(1, 5), batch=st.integers(1, 6), length=st.none() | st.integers(1, 4))
def test_batchnorm_matches_torch_in_eval_mode_with_the_running_statistics(n, batch, length):
    rng = np.random.default_rng(n * 10 + batch)
    ours, theirs = _bn_pair(n, rng)
    shape = (batch, n) if length is None else (batch, n, length)
    for _ in range(3):
        X = rng.normal(1.0, 2.0, (4, *shape[1:]))
        ours(X)
        theirs(t(X, grad=False))
    ours.eval()
    theirs.eval()
    X, G = rng.normal(size=shape), rng.normal(size=shape)  # a batch of one works here
    ours.zero_grad()
    theirs.zero_grad()
    mine, torch_ = both(ours, theirs, X, G)
    close(mine, torch_)
    before = ours.running_mean.copy()
    ours(X)
    assert np.array_equal(ours.running_mean, before)  # eval mode never updates them


def test_batchnorm_normalises_each_feature_and_starts_at_identity_statistics():
    bn = BatchNorm1d(3)
    assert [p.label for p in bn.parameters()] == ["γ", "β"]
    assert np.array_equal(bn.running_mean, np.zeros(3))
    assert np.array_equal(bn.running_var, np.ones(3))
    X = np.random.default_rng(0).normal(5.0, 4.0, (50, 3))
    out = bn(X).data
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), 1, rtol=1e-4)  # var / (var + eps)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * X.var(axis=0, ddof=1))


def test_batchnorm_gradients_pass_gradcheck_in_both_modes():
    rng = np.random.default_rng(5)
    bn = BatchNorm1d(3)
    fn = through(bn, "weight", "bias")
    inputs = [rng.normal(size=(4, 3)), rng.normal(1, 0.3, 3), rng.normal(size=3)]
    assert ag.gradcheck(fn, inputs)
    assert ag.gradcheck(fn, [rng.normal(size=(2, 3, 2)), *inputs[1:]])
    bn.eval()
    assert ag.gradcheck(fn, inputs)


def test_batchnorm_keeps_a_float32_dtype():
    bn = BatchNorm1d(2, dtype=np.float32)
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = bn(X)
    assert out.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert bn(X.astype(np.float64)).dtype == np.float32  # an array batch takes the layer's
    assert bn.eval()(Value(X)).dtype == np.float32
    assert LayerNorm(2, dtype=np.float32)(X.astype(np.float64)).dtype == np.float32


@pytest.mark.parametrize("make, exc, match", [
    (lambda: BatchNorm1d(0), ValueError, r"n \(the number of features\) must be a positive "
                                         r"integer, got 0"),
    (lambda: BatchNorm1d(2.0), ValueError, "positive integer"),
    (lambda: BatchNorm1d(2, eps=0), ValueError, "eps must be > 0"),
    (lambda: BatchNorm1d(2, momentum=1.5), ValueError, r"momentum must be a real number in "
                                                       r"\[0, 1\]"),
    (lambda: BatchNorm1d(2, dtype=np.int8), ValueError, "float16, float32 or float64"),
    (lambda: BatchNorm1d(2, name=3), TypeError, "name must be a str"),
    (lambda: LayerNorm(0), ValueError, "normalized_shape must be a positive integer"),
    (lambda: LayerNorm(()), ValueError, "non-empty tuple"),
    (lambda: LayerNorm("4"), ValueError, "normalized_shape"),
    (lambda: LayerNorm(4, eps=-1e-5), ValueError, "eps must be > 0"),
])
def test_norm_constructor_errors_name_the_problem(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_batchnorm_refuses_bad_batches_clearly():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3, .*\) takes a batch of shape "
                                         r"\(batch, 3\) or \(batch, 3, length\), got shape "
                                         r"\(4, 2\)"):
        bn(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        bn(np.ones(3))
    with pytest.raises(ValueError, match=r"more than one value per feature.*got shape \(1, 3\)"
                                         r"; call .eval\(\)"):
        bn(np.ones((1, 3)))
    assert bn.eval()(np.ones((1, 3))).shape == (1, 3)
    with pytest.raises(TypeError, match=r"takes an array or a Value of shape \(batch, 3\)"):
        bn("x")


# --- LayerNorm --------------------------------------------------------------------------------

@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=2),
       last=st.lists(st.integers(1, 4), min_size=1, max_size=2), as_int=st.booleans())
def test_layernorm_matches_torch(lead, last, as_int):
    torch = torch_or_skip()
    rng = np.random.default_rng(len(lead) * 10 + sum(last))
    normalized = last[-1] if as_int and len(last) == 1 else tuple(last)
    ours = LayerNorm(normalized)
    _randomise(ours, rng)
    theirs = torch.nn.LayerNorm(normalized).double()
    _copy_affine(ours, theirs)
    shape = (*lead, *last)
    X, G = rng.normal(3.0, 2.0, shape), rng.normal(size=shape)
    mine, torch_ = both(ours, theirs, X, G)
    close(mine, torch_, atol=1e-9)
    ours.eval()
    theirs.eval()
    assert np.allclose(ours(X).data, theirs(t(X)).detach().numpy())  # no mode difference


def test_layernorm_gradients_pass_gradcheck():
    rng = np.random.default_rng(2)
    fn = through(LayerNorm(4), "weight", "bias")
    assert ag.gradcheck(fn, [rng.normal(size=(3, 4)), rng.normal(1, 0.3, 4), rng.normal(size=4)])


def test_layernorm_normalises_each_sample():
    ln = LayerNorm(5)
    out = ln(np.random.default_rng(0).normal(3.0, 2.0, (4, 5))).data
    np.testing.assert_allclose(out.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=-1), 1, rtol=1e-4)
    assert [p.label for p in LayerNorm(2, name="1").parameters()] == ["γ1", "β1"]


def test_layernorm_refuses_a_batch_of_the_wrong_width():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4,\), eps=1e-05\) normalises the last "
                                         r"axes of shape \(4,\), got an input of shape \(2, 3\)"):
        LayerNorm(4)(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"got an input of shape \(3,\)"):
        LayerNorm((2, 3))(np.ones(3))


# --- together ---------------------------------------------------------------------------------

def test_a_sequential_net_with_every_layer_matches_torch_in_both_modes():
    torch = torch_or_skip()
    rng = np.random.default_rng(11)
    lin1, lin2 = Linear(4, 6, seed=0), Linear(6, 3, seed=1)
    bn, ln = BatchNorm1d(6), LayerNorm(6)
    _randomise(bn, rng)
    _randomise(ln, rng)
    ours = Sequential(lin1, bn, ReLU(), ln, Tanh(), Dropout(0.5, seed=0), lin2, Sigmoid())
    t_lin1, t_lin2 = torch.nn.Linear(4, 6).double(), torch.nn.Linear(6, 3).double()
    t_bn, t_ln = torch.nn.BatchNorm1d(6).double(), torch.nn.LayerNorm(6).double()
    with torch.no_grad():
        for lin, t_lin in ((lin1, t_lin1), (lin2, t_lin2)):
            t_lin.weight.copy_(torch.tensor(lin.W.data.T))  # ours: X @ W, torch: X @ W.T
            t_lin.bias.copy_(torch.tensor(lin.b.data))
    _copy_affine(bn, t_bn)
    _copy_affine(ln, t_ln)
    theirs = torch.nn.Sequential(t_lin1, t_bn, torch.nn.ReLU(), t_ln, torch.nn.Tanh(),
                                 torch.nn.Identity(), t_lin2, torch.nn.Sigmoid())
    X, G = rng.normal(size=(8, 4)), rng.normal(size=(8, 3))
    # training: dropout's mask is random, so hand ours to torch as a multiplication
    xv = Value(X, "x")
    out = ours(xv)
    mask = torch.tensor(ours[5].mask)
    xt = t(X)
    out_t = theirs[6:](theirs[:5](xt) * mask)
    out.backward(G)
    out_t.backward(t(G, grad=False))
    close([out.data, xv.grad, lin1.W.grad.T, bn.weight.grad, ln.bias.grad],
           [out_t.detach().numpy(), xt.grad.numpy(), t_lin1.weight.grad.numpy(),
            t_bn.weight.grad.numpy(), t_ln.bias.grad.numpy()], atol=1e-9)
    ours.eval()
    theirs.eval()
    close([ours(X).data], [theirs(t(X)).detach().numpy()])

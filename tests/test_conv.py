"""conv2d, max_pool2d and avg_pool2d: PyTorch 2.13 as the oracle (float64 and float32, over
hypothesis-drawn shapes, strides and paddings), finite differences, max-pool ties worked out
by hand (they share the gradient, as max does: PyTorch's max_pool2d does not), kinks, errors.

The table-driven tests (tests/cases.py) run these rules too: gradcheck, dtypes, kernels on and
off, both sweeps.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autograd_lite as ag
from autograd_lite import Value

TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-12}, np.float32: {"rtol": 2e-5, "atol": 2e-5}}
pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


def _torch():  # noqa: ANN202
    return pytest.importorskip("torch")


def _close(ours: np.ndarray, theirs, dtype) -> None:  # noqa: ANN001
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours, theirs.detach().numpy(), **TOL[dtype])


# --- against PyTorch ----------------------------------------------------------------------


@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3),
       hw=st.tuples(st.integers(1, 7), st.integers(1, 7)), k=pairs, stride=pairs,
       padding=st.tuples(st.integers(0, 2), st.integers(0, 2)), bias=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**32 - 1))
def test_conv2d_forward_and_grads_equal_torch(n, c, o, hw, k, stride, padding, bias, dtype,
                                               seed):
    torch = _torch()
    assume(all(kk <= s + 2 * p for kk, s, p in zip(k, hw, padding)))
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=(n, c, *hw)).astype(dtype), rng.normal(size=(o, c, *k)).astype(dtype)
    b = rng.normal(size=o).astype(dtype)
    X, W, B = Value(x), Value(w), Value(b)
    out = ag.conv2d(X, W, B if bias else None, stride=stride, padding=padding)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ref = torch.nn.functional.conv2d(tx, tw, tb if bias else None, stride=stride, padding=padding)
    assert out.shape == tuple(ref.shape)
    _close(out.data, ref, dtype)
    g = rng.normal(size=out.shape).astype(dtype)
    out.backward(g)
    ref.backward(torch.tensor(g))
    _close(X.grad, tx.grad, dtype)
    _close(W.grad, tw.grad, dtype)
    if bias:
        _close(B.grad, tb.grad, dtype)


@given(n=st.integers(1, 2), c=st.integers(1, 3), hw=st.tuples(st.integers(1, 7),
                                                               st.integers(1, 7)),
       k=pairs, stride=st.none() | pairs | st.integers(1, 3),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**32 - 1))
def test_pools_forward_and_grads_equal_torch_without_ties(n, c, hw, k, stride, dtype, seed):
    torch = _torch()
    assume(k[0] <= hw[0] and k[1] <= hw[1])
    rng = np.random.default_rng(seed)
    size = n * c * hw[0] * hw[1]
    x = (rng.permutation(size).reshape(n, c, *hw) / size - 0.5).astype(dtype)  # no two equal
    for ours, theirs in ((ag.max_pool2d, torch.nn.functional.max_pool2d),
                         (ag.avg_pool2d, torch.nn.functional.avg_pool2d)):
        X, tx = Value(x), torch.tensor(x, requires_grad=True)
        out, ref = ours(X, k, stride), theirs(tx, k, stride)
        assert out.shape == tuple(ref.shape) and not ag.kinks(out.sum())
        _close(out.data, ref, dtype)
        g = rng.normal(size=out.shape).astype(dtype)
        out.backward(g)
        ref.backward(torch.tensor(g))
        _close(X.grad, tx.grad, dtype)


def test_a_small_cnn_equals_torch_end_to_end():
    torch = _torch()
    rng = np.random.default_rng(7)
    x, w, b = rng.normal(size=(4, 1, 8, 8)), rng.normal(size=(8, 1, 3, 3)), rng.normal(size=8)
    v, labels = rng.normal(size=(128, 10)) * 0.1, np.array([3, 1, 4, 1])
    W, B, V = Value(w), Value(b), Value(v)
    h = ag.max_pool2d(ag.conv2d(x, W, B, padding=1).tanh(), 2)
    loss = ag.cross_entropy(h.reshape(4, -1) @ V, labels)
    loss.backward()
    tw, tb, tv = (torch.tensor(a, requires_grad=True) for a in (w, b, v))
    F = torch.nn.functional
    th = F.max_pool2d(F.conv2d(torch.tensor(x), tw, tb, padding=1).tanh(), 2)
    ref = F.cross_entropy(th.reshape(4, -1) @ tv, torch.tensor(labels))
    ref.backward()
    assert np.isclose(loss.item(), ref.item(), rtol=1e-12)
    for ours, theirs in ((W, tw), (B, tb), (V, tv)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


# --- finite differences --------------------------------------------------------------------


@pytest.mark.parametrize("build", [
    lambda v: ag.conv2d(v[0], v[1], v[2], stride=(2, 1), padding=(1, 2)),
    lambda v: ag.max_pool2d(ag.conv2d(v[0], v[1], v[2], padding=1).tanh(), 2, stride=1),
    lambda v: ag.avg_pool2d(ag.conv2d(v[0], v[1], stride=2), (1, 2)) * v[2].reshape(-1, 1, 1),
])
def test_conv_and_pools_pass_gradcheck(build, rng):
    inputs = [Value(rng.normal(size=s)) for s in ((2, 2, 5, 4), (3, 2, 3, 2), (3,))]
    assert ag.gradcheck(lambda v: (build(v) ** 2).sum(), inputs)


# --- max-pool ties: a kink, shared equally (as max), counted, drawn ---------------------------


def test_max_pool_ties_share_the_gradient_equally():
    x = Value(np.array([[[[2.0, 2.0, 5.0, -1.0],
                          [2.0, 1.0, 0.0, -0.0],
                          [7.0, 7.0, 7.0, 7.0],
                          [7.0, 7.0, 3.0, 7.0]]]]), "x")
    y = ag.max_pool2d(x, 2)
    assert y.data.tolist() == [[[[2.0, 5.0], [7.0, 7.0]]]]
    y.backward(np.array([[[[3.0, 4.0], [8.0, 6.0]]]]))
    assert x.grad.tolist() == [[[[1.0, 1.0, 4.0, 0.0],
                                 [1.0, 0.0, 0.0, 0.0],
                                 [2.0, 2.0, 2.0, 2.0],
                                 [2.0, 2.0, 0.0, 2.0]]]]  # 3/3, 8/4 and 6/3 each
    assert y.params["kinks"] == 10  # 3 + 4 + 3 entries tied; 0 and −0 sit below the max 5


def test_max_pool_tie_in_overlapping_windows_adds_up_and_counts_each_entry_once():
    x = Value(np.array([[[[1.0, 4.0, 4.0, 0.0]]]]))
    y = ag.max_pool2d(x, (1, 2), stride=1)  # windows [1, 4], [4, 4], [4, 0]
    assert y.data.tolist() == [[[[4.0, 4.0, 4.0]]]]
    y.backward(np.array([[[[1.0, 2.0, 4.0]]]]))
    assert x.grad.tolist() == [[[[0.0, 1.0 + 1.0, 1.0 + 4.0, 0.0]]]]
    assert y.params["kinks"] == 2  # the two 4s, tied in the middle window


def test_max_pool_tie_of_a_zero_and_a_negative_zero():
    x = Value(np.array([[[[0.0, -0.0], [-1.0, -2.0]]]], np.float32))
    y = ag.max_pool2d(x, 2)
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [[[[0.5, 0.5], [0.0, 0.0]]]]
    assert y.params["kinks"] == 2


def test_max_pool_ties_are_listed_by_kinks_and_drawn_on_the_edge():
    x = Value(np.array([[[[1.0, 3.0, 0.0, 1.0], [3.0, 0.0, 2.0, 0.0]]]]), "x")
    y = ag.max_pool2d(x, 2)
    y.label = "p"
    L = y.sum()
    (k,) = ag.kinks(L)
    assert k.node is y and k.count == 2 and np.isnan(k.subgradient)
    assert str(k) == "max_pool2d 'p': 2 of 8 inputs tied for a window's max (∂max/∂x = 1/#ties)"
    L.backward()
    source = ag.draw(L).source
    assert "∂max/∂x = 1/#ties used at 2 of 8 entries" in source
    assert "⚠ kink: 2 of 8 inputs tied for a window's max" in source
    assert "∂p/∂x = 1[x = window max] / #ties" in source


def test_torch_gives_a_tie_to_one_entry_where_we_share_it():
    torch = _torch()
    x = np.array([[[[1.0, 1.0], [1.0, 1.0]]]])
    X, tx = Value(x), torch.tensor(x, requires_grad=True)
    ag.max_pool2d(X, 2).sum().backward()
    torch.nn.functional.max_pool2d(tx, 2).sum().backward()
    assert X.grad.tolist() == [[[[0.25, 0.25], [0.25, 0.25]]]]
    assert sorted(tx.grad.flatten().tolist()) == [0.0, 0.0, 0.0, 1.0]  # the same total, 1


def test_conv_and_avg_pool_have_no_kinks_even_on_equal_inputs():
    x = Value(np.zeros((1, 2, 4, 4)))
    out = ag.avg_pool2d(ag.conv2d(x, np.ones((3, 2, 2, 2)), np.zeros(3)), 3, stride=1)
    assert ag.kinks(out.sum()) == [] and "kinks" not in out.params
    assert ag.max_pool2d(Value(np.arange(4.0).reshape(1, 1, 2, 2)), 2).params["kinks"] == 0


# --- the graph: one node per op, constants, dtypes --------------------------------------------


def test_each_op_is_one_node_and_a_bias_is_an_add_after_it():
    x, w, b = Value(np.ones((1, 1, 3, 3)), "x"), Value(np.ones((2, 1, 2, 2)), "w"), \
        Value(np.array([0.5, -1.0]), "b")
    y = ag.conv2d(x, w, b)
    assert y.op == "add" and y.parents[0].op == "conv2d" and y.parents[1].op == "reshape"
    assert y.parents[0].parents == (x, w) and y.data[0, :, 0, 0].tolist() == [4.5, 3.0]
    assert ag.conv2d(x, w).op == "conv2d" and ag.conv2d(x, w, [1.0, 2.0]).parents[1].shape == \
        (2, 1, 1)
    source = ag.draw(y.sum(), wrt=w).source
    assert "conv2d(x, w)" in source and "col2im(wᵀ @ (·))" in source
    assert "(·) @ im2col(x)ᵀ" in source
    L = (y * y).sum()
    L.backward()
    assert np.allclose(ag.explain(L, w).total, w.grad)


def test_a_data_batch_is_a_constant_and_gets_no_gradient():
    x = np.random.default_rng(0).normal(size=(2, 1, 4, 4))
    W = Value(np.ones((1, 1, 3, 3)))
    y = ag.conv2d(x, W, padding=1)
    assert type(y.parents[0]) is np.ndarray
    y.sum().backward()
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))  # dL/dw[i, j]: Σ of x shifted by i, j
    want = [[padded[:, :, i:i + 4, j:j + 4].sum() for j in range(3)] for i in range(3)]
    assert W.grad.shape == (1, 1, 3, 3) and np.allclose(W.grad[0, 0], want)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtypes_are_kept(dtype):
    rng = np.random.default_rng(1)
    x, w, b = (Value(rng.normal(size=s).astype(dtype)) for s in ((2, 2, 6, 6), (3, 2, 3, 3), (3,)))
    y = ag.avg_pool2d(ag.max_pool2d(ag.conv2d(x, w, b, stride=1, padding=1), 2), (1, 3))
    assert y.dtype == dtype
    y.backward(np.ones(y.shape, dtype))
    assert all(v.grad.dtype == dtype and v.grad.shape == v.shape for v in (x, w, b))


def test_sizes_take_ints_pairs_and_numpy_ints():
    x = Value(np.ones((1, 1, 6, 5)))
    assert ag.max_pool2d(x, 2).shape == (1, 1, 3, 2)
    assert ag.max_pool2d(x, (3, 2), stride=[1, np.int64(3)]).shape == (1, 1, 4, 2)
    assert ag.avg_pool2d(x, np.int32(2), stride=(2, 1)).shape == (1, 1, 3, 4)
    assert ag.conv2d(x, np.ones((4, 1, 2, 2)), stride=(2, 3), padding=(1, 0)).shape == \
        (1, 4, 4, 2)
    assert ag.max_pool2d(x, 2).params["stride"] == (2, 2)


# --- bad input: one clear error naming what is wrong and what is allowed ----------------------

X4, W4 = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3))


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: ag.conv2d(np.ones((3, 5, 5)), W4), ValueError,
     r"conv2d: x must be 4-D \(N, C_in, H, W\), got shape \(3, 5, 5\) .*x\[None\]"),
    (lambda: ag.conv2d(X4, np.ones((3, 3, 3))), ValueError,
     r"conv2d: w must be 4-D \(C_out, C_in, kh, kw\), got shape \(3, 3, 3\)"),
    (lambda: ag.conv2d(Value(2.0), W4), ValueError, r"x must be 4-D .* got shape \(\)"),
    (lambda: ag.conv2d(X4, np.ones((4, 2, 3, 3))), ValueError,
     r"x has 3 channel\(s\) .* but w takes 2 .*: x.shape\[1\] must equal w.shape\[1\]"),
    (lambda: ag.conv2d(X4, np.ones((4, 3, 6, 3))), ValueError,
     r"conv2d: the kernel 6×3 is larger than the input 5×5: it must fit inside"),
    (lambda: ag.conv2d(X4, np.ones((4, 3, 8, 3)), padding=1), ValueError,
     r"the kernel 8×3 is larger than the padded input 7×7"),
    (lambda: ag.conv2d(X4, W4, stride=0), ValueError, r"conv2d: stride must be positive, got 0"),
    (lambda: ag.conv2d(X4, W4, stride=(1, -2)), ValueError, r"stride must be positive"),
    (lambda: ag.conv2d(X4, W4, padding=-1), ValueError, r"padding must be at least 0, got -1"),
    (lambda: ag.conv2d(X4, W4, stride=1.5), TypeError,
     r"conv2d: stride must be an int or a pair of ints \(height, width\), got 1.5"),
    (lambda: ag.conv2d(X4, W4, padding=(1, 1, 1)), TypeError, r"padding must be an int or a pair"),
    (lambda: ag.conv2d(X4, W4, padding=True), TypeError, r"got True"),
    (lambda: ag.conv2d(X4, W4, np.ones(3)), ValueError,
     r"conv2d: b must have shape \(4,\), one number per output channel, got shape \(3,\)"),
    (lambda: ag.conv2d(X4, W4, np.ones((4, 1))), ValueError, r"b must have shape \(4,\)"),
    (lambda: ag.max_pool2d(np.ones((5, 5)), 2), ValueError,
     r"max_pool2d: x must be 4-D \(N, C, H, W\), got shape \(5, 5\)"),
    (lambda: ag.max_pool2d(X4, 6), ValueError,
     r"max_pool2d: the kernel 6×6 is larger than the input 5×5"),
    (lambda: ag.avg_pool2d(X4, 0), ValueError, r"avg_pool2d: kernel_size must be positive, got 0"),
    (lambda: ag.avg_pool2d(X4, 2.0), TypeError,
     r"avg_pool2d: kernel_size must be an int or a pair of ints"),
    (lambda: ag.max_pool2d(X4, 2, stride=0), ValueError, r"max_pool2d: stride must be positive"),
    (lambda: ag.max_pool2d(X4, "2"), TypeError, r"kernel_size must be an int or a pair"),
    (lambda: ag.max_pool2d(np.array([["a"]]), 1), TypeError, r"dtype <U1"),
])
def test_bad_input_is_one_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()

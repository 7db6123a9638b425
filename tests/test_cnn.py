"""ag.nn.Conv2d and ag.nn.MaxPool2d against torch.nn with the same weights, over shapes drawn
by hypothesis and against finite differences; their initialisation and errors; and a CNN
built from ag.nn that learns scikit-learn's 8×8 digits (examples/cnn_digits.py)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from test_layers import both, close, t, through, torch_or_skip

import autograd_lite as ag
from autograd_lite.nn import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential

ROOT = Path(__file__).resolve().parents[1]


def _torch_conv(ours):
    """torch.nn.Conv2d with our layer's shape, weights and bias."""
    torch = torch_or_skip()
    theirs = torch.nn.Conv2d(ours.in_channels, ours.out_channels, ours.kernel_size,
                             stride=ours.stride, padding=ours.padding,
                             bias=ours.bias is not None).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        if ours.bias is not None:
            theirs.bias.copy_(torch.tensor(ours.bias.data))
    return theirs


# --- Conv2d -----------------------------------------------------------------------------------

@given(c_in=st.integers(1, 3), c_out=st.integers(1, 3), kh=st.integers(1, 3),
       kw=st.integers(1, 3), stride=st.sampled_from([1, 2, (2, 1)]),
       padding=st.sampled_from([0, 1, (0, 2)]), h=st.integers(1, 6), w=st.integers(1, 6),
       batch=st.integers(1, 3), bias=st.booleans())
def test_conv2d_matches_torch_forward_and_gradients(c_in, c_out, kh, kw, stride, padding, h, w,
                                                    batch, bias):
    torch_or_skip()
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    assume(h + 2 * ph >= kh and w + 2 * pw >= kw)
    ours = Conv2d(c_in, c_out, (kh, kw), stride=stride, padding=padding, seed=h * 7 + w,
                  bias=bias)
    theirs = _torch_conv(ours)
    rng = np.random.default_rng(c_in * 100 + h)
    mine, torch_ = both(ours, theirs, rng.normal(size=(batch, c_in, h, w)), rng)
    assert mine[0].shape == torch_[0].shape
    close(mine, torch_)  # output, dL/dx, dL/dweight and (with a bias) dL/dbias
    assert len(mine) == (4 if bias else 3)


def test_conv2d_gradients_pass_gradcheck():
    rng = np.random.default_rng(3)
    fn = through(Conv2d(2, 3, 3, stride=2, padding=1), "weight", "bias")
    assert ag.gradcheck(fn, [rng.normal(size=(2, 2, 5, 4)), rng.normal(size=(3, 2, 3, 3)),
                             rng.normal(size=3)])


def test_conv2d_initialisation_is_pytorchs_bound_and_seeded():
    torch = torch_or_skip()
    conv = Conv2d(4, 16, 5, seed=0)
    bound = 1 / np.sqrt(4 * 5 * 5)  # 1/sqrt(fan_in): kaiming_uniform(a=sqrt(5)) in PyTorch
    w = conv.weight.data
    assert w.shape == (16, 4, 5, 5) and conv.bias.shape == (16,)
    assert np.abs(w).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)  # U(-a, a): sd a/sqrt(3)
    torch.manual_seed(0)
    w_t = torch.nn.Conv2d(4, 16, 5).weight.detach().numpy()
    assert np.abs(w_t).max() <= bound and w_t.std() == pytest.approx(w.std(), rel=0.1)
    assert np.array_equal(Conv2d(4, 16, 5, seed=0).weight.data, w)
    assert not np.array_equal(Conv2d(4, 16, 5, seed=1).weight.data, w)
    assert [p.label for p in Conv2d(1, 2, 3, name="1").parameters()] == ["W1", "b1"]


def test_conv2d_keeps_its_dtype():
    conv = Conv2d(1, 2, 3, seed=0, dtype=np.float32)
    assert conv.weight.dtype == np.float32
    assert conv(np.ones((1, 1, 4, 4))).dtype == np.float32


def test_conv2d_repr_reads_like_pytorch():
    assert repr(Conv2d(1, 8, 3, padding=1)) == "Conv2d(1, 8, kernel_size=3, stride=1, padding=1)"
    assert repr(Conv2d(2, 4, (3, 1), stride=(2, 1), bias=False)) == (
        "Conv2d(2, 4, kernel_size=(3, 1), stride=(2, 1), padding=0, bias=False)")


@pytest.mark.parametrize("make, exc, match", [
    (lambda: Conv2d(0, 8, 3), ValueError, r"c_in \(the input channels\) must be a positive "
                                          r"integer, got 0"),
    (lambda: Conv2d(1, -2, 3), ValueError, r"c_out \(the output channels\)"),
    (lambda: Conv2d(1, 2, 0), ValueError, "Conv2d: kernel_size must be positive, got 0"),
    (lambda: Conv2d(1, 2, (3, 3, 3)), TypeError, r"Conv2d: kernel_size must be an int or a "
                                                 r"pair of ints \(height, width\)"),
    (lambda: Conv2d(1, 2, 3.0), TypeError, "kernel_size"),
    (lambda: Conv2d(1, 2, 3, stride=0), ValueError, "Conv2d: stride must be positive"),
    (lambda: Conv2d(1, 2, 3, padding=-1), ValueError, "Conv2d: padding must be at least 0"),
    (lambda: Conv2d(1, 2, 3, bias=1), TypeError, "bias must be True or False"),
    (lambda: Conv2d(1, 2, 3, seed="x"), ValueError, "seed must be None"),
    (lambda: MaxPool2d(0), ValueError, r"MaxPool2d: k \(the kernel_size\) must be positive"),
    (lambda: MaxPool2d(2, stride=(1,)), TypeError, "MaxPool2d: stride must be an int or a pair"),
])
def test_conv_constructor_errors_name_the_problem(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_conv2d_refuses_bad_batches_clearly():
    conv = Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4, kernel_size=3, stride=1, padding=0\) "
                                         r"takes a batch of images of shape \(batch, 3, height, "
                                         r"width\), got shape \(2, 1, 5, 5\)"):
        conv(np.ones((2, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"got shape \(3, 5, 5\)"):
        conv(np.ones((3, 5, 5)))
    with pytest.raises(ValueError, match=r"conv2d: the kernel 3×3 is larger than the input 2×5"):
        conv(np.ones((1, 3, 2, 5)))
    with pytest.raises(TypeError, match=r"takes an array or a Value of shape \(batch, 3, "):
        conv("image")


# --- MaxPool2d --------------------------------------------------------------------------------

@given(k=st.sampled_from([1, 2, 3, (2, 1)]), stride=st.sampled_from([None, 1, 2, (1, 2)]),
       h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 3))
def test_max_pool2d_matches_torch(k, stride, h, w, c):
    torch = torch_or_skip()
    kh, kw = (k, k) if isinstance(k, int) else k
    assume(h >= kh and w >= kw)
    rng = np.random.default_rng(h * 10 + w)
    X = rng.normal(size=(2, c, h, w))  # continuous draws: no ties, where conventions differ
    mine, torch_ = both(MaxPool2d(k, stride), torch.nn.MaxPool2d(k, stride), X, rng)
    assert mine[0].shape == torch_[0].shape
    close(mine, torch_)


def test_max_pool2d_stride_defaults_to_the_window_and_reprs_like_pytorch():
    pool = MaxPool2d(2)
    assert pool.stride == pool.kernel_size == (2, 2)
    assert repr(pool) == "MaxPool2d(kernel_size=2, stride=2)"
    assert repr(MaxPool2d(3, stride=1)) == "MaxPool2d(kernel_size=3, stride=1)"
    assert pool.parameters() == []
    X = np.arange(16.0).reshape(1, 1, 4, 4)
    assert np.array_equal(pool(X).data, [[[[5, 7], [13, 15]]]])


def test_max_pool2d_refuses_bad_batches_clearly():
    with pytest.raises(ValueError, match=r"max_pool2d: x must be 4-D \(N, C, H, W\), got shape "
                                         r"\(4, 4\)"):
        MaxPool2d(2)(np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"max_pool2d: the kernel 3×3 is larger than the input "
                                         r"2×4"):
        MaxPool2d(3)(np.ones((1, 1, 2, 4)))
    with pytest.raises(TypeError, match=r"MaxPool2d\(kernel_size=2, stride=2\) takes an array "
                                        r"or a Value of shape \(batch, channels, height, width\)"):
        MaxPool2d(2)("image")


# --- a CNN ------------------------------------------------------------------------------------

def test_a_cnn_from_ag_nn_matches_the_same_cnn_intorch_or_skip():
    torch = torch_or_skip()
    conv, lin = Conv2d(1, 8, 3, padding=1, seed=0), Linear(128, 10, seed=1)
    ours = Sequential(conv, ReLU(), MaxPool2d(2), Flatten(), lin)
    t_conv, t_lin = _torch_conv(conv), torch.nn.Linear(128, 10).double()
    with torch.no_grad():
        t_lin.weight.copy_(torch.tensor(lin.W.data.T))
        t_lin.bias.copy_(torch.tensor(lin.b.data))
    theirs = torch.nn.Sequential(t_conv, torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Flatten(), t_lin)
    rng = np.random.default_rng(0)
    X, y = rng.random((16, 1, 8, 8)), rng.integers(0, 10, 16)
    loss = ag.cross_entropy(ours(X), y)
    loss.backward()
    loss_t = torch.nn.functional.cross_entropy(theirs(t(X, grad=False)), torch.tensor(y))
    loss_t.backward()
    assert loss.item() == pytest.approx(loss_t.item(), rel=1e-12)
    close([conv.weight.grad, conv.bias.grad, lin.W.grad],
          [t_conv.weight.grad.numpy(), t_conv.bias.grad.numpy(), t_lin.weight.grad.numpy().T])


def _example():
    spec = importlib.util.spec_from_file_location("cnn_digits", ROOT / "examples" / "cnn_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cnn_learns_the_digits_to_90_percent_in_five_epochs(capsys):
    """examples/cnn_digits.py as a user runs it: Sequential(Conv2d(1, 8, 3, padding=1),
    ReLU(), MaxPool2d(2), Flatten(), Linear(128, 10)), Adam, cross-entropy, 5 epochs."""
    pytest.importorskip("sklearn")
    example = _example()
    result = example.main([])
    out = capsys.readouterr().out
    net = result["net"]
    assert [type(m).__name__ for m in net] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten",
                                               "Linear"]
    assert repr(net[0]) == "Conv2d(1, 8, kernel_size=3, stride=1, padding=1)"
    assert (result["train"], result["test"]) == (1347, 450)  # a fixed 75/25 split of 1,797
    assert result["test_accuracy"] >= 0.9, out
    assert f"test accuracy {result['test_accuracy']:.3f} after 5 epochs" in out
    assert out.count("epoch ") == 5
    first = float(out.split("mean loss ")[1].split(",")[0])
    assert result["loss"] < first / 2  # the loss fell: it learned, not guessed
    X_train, X_test, y_train, y_test = example.digits(0)
    assert X_test.shape == (450, 1, 8, 8) and X_train.max() <= 1.0
    assert example.accuracy(net, X_test, y_test) == result["test_accuracy"]  # eval: repeatable


def test_cnn_example_checks_its_arguments():
    example = _example()
    with pytest.raises(SystemExit):
        example.main(["--epochs", "0"])

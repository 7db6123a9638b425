"""explain(): the chain rule written out path by path, and its total is backward's gradient."""

import re

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value
from autograd_lite.explain import number, summary


def _fresh_grad(build, *data):
    """Build the graph anew from ``data``, run backward, return (root, leaves)."""
    leaves = [Value(d, f"x{i}") for i, d in enumerate(data)]
    root = build(*leaves)
    root.backward()
    return root, leaves


def test_explain_scalar_paths_symbols_values_and_total():
    x = Value(3.0, "x")
    y = x * x
    y.label = "y"
    z = y + x
    z.label = "z"
    e = ag.explain(z, x)
    assert e.n_paths == 3 and not e.truncated
    assert [[f.symbol for f in p] for p in e.paths] == [["1", "x"], ["1", "x"], ["1"]]
    assert [[f.value for f in p] for p in e.paths] == [[1.0, 3.0], [1.0, 3.0], [1.0]]
    assert [[f.partial for f in p] for p in e.paths] == [["∂z/∂y", "∂y/∂x"]] * 2 + [["∂z/∂x"]]
    assert e.products == [3.0, 3.0, 1.0]
    z.backward()
    assert e.total == x.grad == 7.0
    text = str(e)
    assert "3 paths from x to z" in text
    assert "∂z/∂y · ∂y/∂x = 1 · x = 1 · 3 = 3" in text
    assert text.splitlines()[-1] == "dz/dx = Σ over paths Π factors = 3 + 3 + 1 = 7"


@pytest.mark.parametrize("data", [3.0, np.array([3.0, -0.5, 2.0]), np.arange(6.0).reshape(2, 3)])
def test_explain_total_of_x_times_x_plus_x_is_backwards_gradient(data):
    x = Value(data, "x")
    y = x * x
    y.label = "y"
    z = (y + x).sum() if np.ndim(data) else y + x
    e = ag.explain(z, x)
    z.backward()  # a fresh backward, after explain (which never touches .grad)
    np.testing.assert_array_equal(e.total, x.grad)
    np.testing.assert_allclose(e.total, 2 * np.asarray(data) + 1)
    assert e.n_paths == 3 and np.shape(e.total) == x.shape
    np.testing.assert_allclose(sum(e.products), e.total)
    assert ("vector-Jacobian product" in str(e)) == bool(np.ndim(data))


def test_explain_total_equals_backward_for_scalar_graphs():
    def build(a, b, c):
        h = (a * b + c).tanh()
        return (h * a).relu() + (h / b).sigmoid() * h - a.exp().log() * c.abs()

    data = (0.7, -1.3, 0.4)
    root, leaves = _fresh_grad(build, *data)
    for leaf in leaves:
        e = ag.explain(root, leaf)
        assert e.total == leaf.grad  # the same sweep: bitwise
        assert e.n_paths > 1 and not e.truncated
        assert np.isclose(sum(e.products), e.total, rtol=1e-12, atol=1e-15)


def test_explain_total_equals_backward_for_tensor_graphs(rng):
    X = rng.normal(size=(5, 3))

    def build(W, b):
        Z = X @ W + b          # W used on two paths, one through the ReLU
        return ((Z.relu() + Z * 0.5) @ W.T).mean() + (b * b).sum()

    root, (W, b) = _fresh_grad(build, rng.normal(size=(3, 3)), rng.normal(size=3))
    for leaf in (W, b):
        e = ag.explain(root, leaf)
        assert e.tensor and e.total.shape == leaf.shape
        np.testing.assert_array_equal(e.total, leaf.grad)
        assert e.n_paths >= 3
        np.testing.assert_allclose(sum(e.products), e.total, rtol=1e-12, atol=1e-14)
    text = str(ag.explain(root, W))
    assert "vector-Jacobian product" in text and "1[Z>0]" not in text  # Z is unlabelled
    assert "1[v" in text and ">0]" in text


def test_explain_with_respect_to_an_intermediate_node():
    w, x = Value(2.0, "w"), Value(3.0, "x")
    z = w * x
    z.label = "z"
    L = z.tanh() * z
    L.label = "L"
    L.backward()
    e = ag.explain(L, z)
    assert e.total == z.grad and e.n_paths == 2
    assert {f.symbol for p in e.paths for f in p} >= {"1 − tanh²(z)"}


def test_explain_root_is_wrt_and_unrelated_node():
    x, other = Value(2.0, "x"), Value(1.0, "other")
    e = ag.explain(x, x)
    assert e.paths == [[]] and e.total == 1.0 and e.products == [1.0]
    L = x * 3.0
    e = ag.explain(L, other)
    assert e.n_paths == 0 and e.total == 0.0 and "does not depend on other" in str(e)
    T = Value(np.ones((2, 2)), "T")
    e = ag.explain(L, T)
    assert e.total.shape == (2, 2) and not e.total.any()


def test_explain_caps_path_enumeration_and_says_so():
    x = Value(1.0, "x")
    y = x
    for _ in range(14):  # each step doubles the number of paths: 2**14
        y = y + y
    e = ag.explain(y, x, max_paths=10)
    assert e.n_paths == 2**14 and len(e.paths) == 10 and e.truncated
    assert e.total == 2.0**14
    assert "showing the first 10 of 16,384 paths" in str(e)


def test_explain_long_chain_without_recursion():
    x = Value(0.5, "x")
    y = x
    for _ in range(20_000):
        y = y * 1.0
    e = ag.explain(y, x)
    assert e.n_paths == 1 and len(e.paths[0]) == 20_000 and e.total == 1.0
    assert "more …" in str(e)  # a long product is elided in the text


def test_explain_names_constants_and_reports_kinks():
    X = np.array([[1.0, -2.0], [0.5, 0.0]])
    W = Value(np.array([[1.0], [0.5]]), "W")
    Z = X @ W
    Z.label = "Z"
    L = Z.relu().sum()
    e = ag.explain(L, W, constants={"X": X})
    text = str(e)
    assert "Xᵀ @ (·)" in text
    assert "kink" in text and "relu'(0) = 0" in text  # Z[0] = 1 - 1 = 0 sits on the kink


def test_explain_of_a_custom_op_reads_its_symbol():
    cube = ag.custom_op("cube_explain", lambda x: x**3, derivative=lambda x, out: 3 * x**2,
                        symbol="3{x}²")
    x = Value(2.0, "x")
    y = cube(x)
    e = ag.explain(y, x)
    assert e.paths[0][0].symbol == "3x²" and e.total == 12.0


@pytest.mark.parametrize("root,wrt,err", [
    (1.0, Value(1.0), TypeError),
    (Value(1.0), 2.0, TypeError),
    (Value([1.0, 2.0]), None, ValueError),
])
def test_explain_rejects_bad_arguments(root, wrt, err):
    wrt = wrt if wrt is not None else root
    with pytest.raises(err):
        ag.explain(root, wrt)


def test_explain_rejects_bad_max_paths():
    x = Value(1.0)
    with pytest.raises(ValueError, match="max_paths"):
        ag.explain(x, x, max_paths=0)


NEGATIVE_ZERO = re.compile(r"-0(?:\.0*)?(?![\d.])")  # -0, -0., -0.00; not -0.5


def test_number_never_shows_negative_zero_but_the_gradient_keeps_its_sign():
    w = Value(-0.5, "w")
    L = ((w * 2.0).relu() - 1.0) ** 2  # dL/dw = -2 · 0 · 2 = -0.0 in IEEE arithmetic
    L.backward()
    assert w.grad == 0.0 and np.signbit(w.grad)  # only the display changes
    assert number(-0.0) == "0" and number(np.float32(-0.0)) == "0"
    assert "-0." not in number(np.array([-0.0, 0.5]))
    assert not NEGATIVE_ZERO.search(summary(np.array([-0.0, -1e-20, 0.5])))  # NumPy rounds
    assert summary(np.full(10, -0.0)) == "mean 0, range [0, 0]"
    text = str(ag.explain(L, w))
    assert "(-2) · 1 · 0 · 2 = 0\n" in text and not NEGATIVE_ZERO.search(text)
    src = ag.draw(L, wrt=w).source
    assert "grad -0" not in src and "= -0\n" not in src and "= -0<" not in src
    assert not NEGATIVE_ZERO.search(src)
    T = Value(np.array([-1.0, 0.0, 1.0, 2.0]), "T")
    J = ag.mse_loss(T.relu(), np.ones(4))
    J.backward()
    assert np.signbit(T.grad[0])  # 0 times a negative number, kept in .grad
    assert "grad [0, 0, 0, 0.5]" in ag.draw(J, wrt=T).source
    assert not NEGATIVE_ZERO.search(str(ag.explain(J, T)) + ag.draw(J, wrt=T).source)


def test_explain_vjp_factor_with_no_value_is_not_written_as_a_question_mark():
    op = ag.custom_op("gap_vjp", lambda z: 2 * z, vjp=lambda g, z, out: 2 * g, symbol="2·(·)")
    z = Value(np.array([1.0, -1.0]), "z")
    J = op(z).sum()
    J.backward()
    e = ag.explain(J, z)
    f = e.paths[0][1]
    assert f.value is None and f.is_vjp
    assert str(f) == "∂v1/∂z = 2·(·) (a vector-Jacobian product)"
    assert "?" not in str(e) and "2·(·): applied as a vector-Jacobian product" in str(e)
    np.testing.assert_array_equal(e.total, z.grad)

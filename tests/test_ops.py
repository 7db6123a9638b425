"""Table-driven: every rule is checked against central finite differences (float64),
on scalars and on broadcast tensor shapes, at points drawn by hypothesis away from kinks."""

import warnings

import numpy as np
import pytest
from cases import CASES, draw
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import autograd_lite as ag
from autograd_lite.ops import RULES
from autograd_lite.value import apply

BUILTIN = sorted(name for name, rule in RULES.items() if not rule.custom)
CASE_LIST = [(name, i) for name in BUILTIN for i in range(len(CASES.get(name, [])))]
ELEMENTWISE = [(n, i) for n, i in CASE_LIST if CASES[n][i].elementwise]
SHAPED = [(n, i) for n, i in CASE_LIST if not CASES[n][i].elementwise]


def test_every_rule_has_a_case():
    assert set(BUILTIN) == set(CASES), "each rule in ops.py needs a case in tests/cases.py"


def test_table_has_every_promised_op():
    promised = {"add", "sub", "mul", "div", "pow", "neg", "matmul", "relu", "leaky_relu", "abs",
                "tanh", "sigmoid", "exp", "log", "sum", "mean", "reshape", "transpose",
                "getitem"}
    assert promised <= set(BUILTIN), sorted(promised - set(BUILTIN))


def test_table_entries_are_complete():
    for name in BUILTIN:
        rule = RULES[name]
        assert rule.factors, name
        for f in rule.factors:
            assert f.symbol, name
            kinds = (f.const, f.local, f.vjp)
            assert sum(k is not None for k in kinds) == 1, name


@pytest.mark.parametrize("name,i", ELEMENTWISE)
@given(seed=st.integers(0, 2**32 - 1))
def test_rule_gradcheck_scalars(name, i, seed):
    case = CASES[name][i]
    rng = np.random.default_rng(seed)
    inputs = [ag.Value(float(draw(d, (), rng))) for d in case.domains]
    assert ag.gradcheck(case.build, inputs)


@pytest.mark.parametrize("name,i", ELEMENTWISE)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_rule_gradcheck_broadcast_tensors(name, i, data, seed):
    case = CASES[name][i]
    if case.broadcast:
        shapes = data.draw(mutually_broadcastable_shapes(
            num_shapes=len(case.domains), min_dims=0, max_dims=3, max_side=3)).input_shapes
    else:
        shapes = (data.draw(array_shapes(min_dims=0, max_dims=3, max_side=3)),) * len(case.domains)
    rng = np.random.default_rng(seed)
    inputs = [ag.Value(draw(d, s, rng)) for d, s in zip(case.domains, shapes)]
    out = case.build(inputs)
    assert out.shape == np.broadcast_shapes(*shapes)
    assert ag.gradcheck(case.build, inputs)
    out.backward(np.ones(out.shape))
    for v in inputs:  # summed back to each input's own shape
        assert v.grad.shape == v.shape and v.grad.dtype == v.dtype


@pytest.mark.parametrize("name,i", SHAPED)
@given(seed=st.integers(0, 2**32 - 1))
def test_rule_gradcheck_shapes(name, i, seed):
    case = CASES[name][i]
    rng = np.random.default_rng(seed)
    for shapes in case.shapes:
        inputs = [ag.Value(draw(d, s, rng)) if s else ag.Value(float(draw(d, s, rng)))
                  for d, s in zip(case.domains, shapes)]
        assert ag.gradcheck(case.build, inputs), shapes


@pytest.mark.parametrize("name,i", CASE_LIST)
def test_rule_keeps_dtype(name, i, rng):
    case = CASES[name][i]
    shapes = case.shapes[0] if case.shapes else tuple((2, 3) for _ in case.domains)
    for dtype in (np.float16, np.float32, np.float64):
        inputs = [ag.Value(draw(d, s, rng).astype(dtype)) for d, s in zip(case.domains, shapes)]
        out = case.build(inputs)
        assert out.dtype == dtype, (name, dtype)
        out.backward(np.ones(out.shape, dtype))
        for v in inputs:
            assert v.grad.dtype == dtype and v.grad.shape == v.shape


VJP_RULES = {"matmul", "sum", "mean", "reshape", "transpose", "getitem", "cross_entropy",
             "softmax", "log_softmax", "logsumexp", "max", "min", "concatenate", "stack",
             "conv2d", "max_pool2d", "avg_pool2d",
             "scatter"}


def test_elementwise_rules_have_local_derivatives_and_the_others_vjps():
    for name in BUILTIN:
        rule = RULES[name]
        assert all(f.vjp is None for f in rule.factors) == (name not in VJP_RULES), name
        if name in VJP_RULES:
            assert all(f.vjp is not None for f in rule.factors), name


def test_operators_are_each_their_own_rule():
    a, b = ag.Value(1.5, "a"), ag.Value(-2.0, "b")
    built = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b, "neg": -a, "pow": a ** 3}
    for name, out in built.items():
        assert out.op == name
    sub = built["sub"]
    assert [f.symbol for f in sub._op.factors] == ["1", "−1"]
    assert [f.const for f in sub._op.factors] == [1.0, -1.0]
    labels = ag.draw(sub).source
    assert "∂L/∂a = 1\\l" in labels and "∂L/∂b = −1\\l" in labels
    assert (2.0 - b).op == "sub" and (2.0 / b).op == "div"
    t = ag.Value(np.ones((2, 2)))
    assert (t @ t).op == "matmul" and t.T.op == "transpose" and t[0].op == "getitem"
    assert t.reshape(4).op == "reshape" and t.sum().op == "sum" and t.mean().op == "mean"


BINARY_BROADCAST = [n for n in BUILTIN if len(RULES[n].factors) == 2
                    and all(f.vjp is None for f in RULES[n].factors)
                    and all(c.broadcast for c in CASES[n])]


@pytest.mark.parametrize("name", BINARY_BROADCAST)
def test_rules_leave_unbroadcasting_to_the_engine(name, rng):
    # a rule's factor gives g·∂out/∂in in the output's shape; only the engine sums it back
    x, y = rng.uniform(0.5, 2.0, (3, 1)), rng.uniform(0.5, 2.0, (4,))
    rule = RULES[name]
    params = {"cond": np.array([[True], [False], [True]])} if name == "where" else {}
    ctx = () if rule.prepare is None else (rule.prepare(**params),)
    out = rule.forward(x, y, *ctx)
    g = np.ones(out.shape)
    for chain in rule.chains:
        assert np.shape(chain(g, (x, y, out, *ctx))) == (3, 4), name
    v, w = ag.Value(x), ag.Value(y)
    apply(rule, v, w, **params).sum().backward()
    assert v.grad.shape == (3, 1) and w.grad.shape == (4,)


def test_scalar_inputs_give_float_outputs():
    x, y = ag.Value(0.7), ag.Value(-1.3)
    for out in (x + y, x - y, x * y, x / y, -x, x ** 2, x.relu(), x.tanh(), x.sigmoid(),
                x.exp(), x.log(), x.abs(), x.leaky_relu(), x.sum(), x.mean(), x.T):
        assert type(out.data) is float
        out.backward()
    assert type(x.grad) is float and type(y.grad) is float


def test_scalar_math_follows_ieee_not_python_exceptions():
    zero = ag.Value(0.0)
    assert (ag.Value(1.0) / zero).data == np.inf
    assert np.isnan((zero / zero).data)
    assert zero.log().data == -np.inf
    assert np.isnan(ag.Value(-1.0).log().data)
    assert ag.Value(1000.0).exp().data == np.inf
    assert (ag.Value(1e200) ** 2).data == np.inf
    assert (zero ** -1).data == np.inf
    assert np.isnan((ag.Value(-8.0) ** (1 / 3)).data)
    assert ag.Value(-1000.0).sigmoid().data == 0.0
    y = zero.log()
    y.backward()
    assert zero.grad == np.inf


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_of_arrays_is_accurate_from_minus_to_plus_infinity(dtype):
    """Both tensor forms: 1/(1 + exp(−x)) where exp(−x) cannot overflow, the stable form
    otherwise; no warnings, a few ulps from the exact value, NaN passed through."""
    big = [-1000.0, -745.0, -709.5, -708.5, -100.0, -88.5, -87.5, -11.5, -np.inf]
    small = [-10.5, -1.0, -0.0, 0.0, 1e-8, 1.0, 20.0, 1000.0, np.inf]
    info = np.finfo(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for xs in (small, small + big, *([v] for v in big)):  # with inputs where exp(−x) overflows
            x = np.array(xs, dtype)
            got = ag.Value(x).sigmoid().data
            want = (1 / (1 + np.exp(-x.astype(np.longdouble)))).astype(dtype)
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=4 * info.eps, atol=info.smallest_subnormal)
            assert np.isnan(ag.Value(np.append(x, np.nan)).sigmoid().data[-1])


def test_pow_zero_exponent_has_zero_derivative_even_at_zero():
    x = ag.Value(0.0)
    (x ** 0).backward()
    assert x.grad == 0.0
    t = ag.Value(np.array([0.0, 2.0]))
    (t ** 0).sum().backward()
    assert np.array_equal(t.grad, [0.0, 0.0])


def test_pow_rejects_bad_exponents():
    x = ag.Value(2.0)
    for p in ("2", True, np.nan, np.inf, None):
        with pytest.raises(ValueError, match="exponent"):
            x ** p
    with pytest.raises(TypeError, match="exponent"):
        x ** ag.Value(2.0)
    with pytest.raises(TypeError):
        2 ** x


def test_matmul_needs_tensors():
    with pytest.raises(ValueError, match="at least 1 dimension"):
        ag.Value(2.0) @ ag.Value(np.ones(2))
    with pytest.raises(ValueError):
        ag.Value(np.ones((2, 3))) @ ag.Value(np.ones((2, 3)))


def test_getitem_repeated_indices_add_up():
    x = ag.Value(np.array([1.0, 2.0, 3.0]))
    x[[0, 0, 2, 0]].sum().backward()
    assert np.array_equal(x.grad, [3.0, 0.0, 1.0])


def test_getitem_rejects_bad_indices():
    x = ag.Value(np.ones((2, 2)))
    with pytest.raises(TypeError):
        x[ag.Value(1.0)]
    with pytest.raises(TypeError):
        x[np.array([0.5])]
    with pytest.raises(TypeError):
        x["a"]
    with pytest.raises(TypeError, match="scalar"):
        ag.Value(1.0)[0]


# --- softmax, log_softmax, logsumexp; max/min; where, clip, sqrt; comparisons ---------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_softmax_family_is_finite_at_logits_of_1000(dtype):
    z = ag.Value(np.array([[1000.0, -1000.0, 1000.0], [-1000.0, -1000.0, -1000.0]], dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, lp, lse = ag.softmax(z), ag.log_softmax(z), ag.logsumexp(z, axis=-1)
        (p.sum() + lp[:, 0].sum() + lse.sum()).backward()
    assert p.dtype == lp.dtype == lse.dtype == z.grad.dtype == dtype
    assert np.allclose(p.data, [[0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]], atol=1e-3)
    assert np.allclose(lp.data[0], [-np.log(2), -2000.0, -np.log(2)], rtol=1e-3)
    assert np.allclose(lse.data, [1000 + np.log(2), -1000 + np.log(3)], rtol=1e-3)
    assert np.all(np.isfinite(z.grad))
    assert np.allclose(np.exp(lp.data.astype(np.float64)), p.data, atol=1e-3)


def test_logsumexp_of_infinities_and_scalars():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ag.logsumexp(ag.Value(np.array([-np.inf, -np.inf]))).item() == -np.inf
        assert ag.logsumexp(ag.Value(np.array([np.inf, 1.0]))).item() == np.inf
    x = ag.Value(2.5)
    y = ag.logsumexp(x)
    y.backward()
    assert type(y.data) is float and y.data == 2.5 and x.grad == 1.0
    s = ag.softmax(ag.Value(np.array([3.0])))
    assert s.data.tolist() == [1.0]


def test_softmax_gradient_is_a_vjp_and_log_softmax_is_its_log():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 5))
    g = rng.normal(size=(3, 5))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    x = ag.Value(z)
    ag.softmax(x, axis=1).backward(g)
    jac_t_g = np.stack([(np.diag(p[i]) - np.outer(p[i], p[i])) @ g[i] for i in range(3)])
    assert np.allclose(x.grad, jac_t_g)
    assert np.allclose(ag.log_softmax(ag.Value(z), axis=1).data, np.log(p))
    assert np.allclose(ag.logsumexp(ag.Value(z), axis=(0, 1)).data, np.log(np.exp(z).sum()))


@pytest.mark.parametrize("build", [
    lambda v: ag.softmax(v, axis=2), lambda v: ag.log_softmax(v, axis=-3),
    lambda v: ag.logsumexp(v, axis=(0, 0)), lambda v: v.max(axis=5), lambda v: v.min(axis=-3),
    lambda v: v.max(axis=(1, -1))])
def test_reductions_reject_a_bad_axis_naming_the_range(build):
    with pytest.raises(ValueError, match=r"axis .* out of range or repeated .* 2 dimension\(s\): "
                                         r"each axis must lie in \[-2, 1\]"):
        build(ag.Value(np.ones((2, 3))))
    with pytest.raises(TypeError, match="axis takes ints"):
        ag.Value(np.ones(2)).max(axis=0.5)


def test_max_and_min_values_and_shapes():
    x = np.arange(24.0).reshape(2, 3, 4) % 7
    v = ag.Value(x)
    for axis in (None, 0, (1, 2), -1):
        for keepdims in (False, True):
            assert np.array_equal(v.max(axis=axis, keepdims=keepdims).data,
                                  x.max(axis=axis, keepdims=keepdims))
            assert np.array_equal(v.min(axis=axis, keepdims=keepdims).data,
                                  x.min(axis=axis, keepdims=keepdims))
    assert v.max().op == "max" and v.min().op == "min"
    assert type(ag.Value(1.5).max().data) is float


def test_maximum_minimum_broadcast_and_take_constants():
    a = ag.Value(np.array([[1.0], [4.0]]))
    out = ag.maximum(a, np.array([0.0, 2.0, 5.0]))
    assert out.shape == (2, 3) and np.array_equal(out.data, [[1, 2, 5], [4, 4, 5]])
    out.sum().backward()
    assert np.array_equal(a.grad, [[1.0], [2.0]])
    assert ag.minimum(3.0, ag.Value(2.0)).data == 2.0
    assert np.isnan(ag.maximum(ag.Value(np.nan), 1.0).data)  # NaN passes, as np.maximum


def test_where_picks_and_routes_the_gradient():
    x, y = ag.Value(np.array([1.0, -2.0, 3.0])), ag.Value(np.array([10.0, 20.0, 30.0]))
    out = ag.where(x > 0, x, y)
    assert np.array_equal(out.data, [1.0, 20.0, 3.0])
    (out * np.array([1.0, 2.0, 3.0])).sum().backward()
    assert np.array_equal(x.grad, [1.0, 0.0, 3.0]) and np.array_equal(y.grad, [0.0, 2.0, 0.0])
    s = ag.Value(2.0)
    r = ag.where(True, s, 0.0)
    r.backward()
    assert type(r.data) is float and s.grad == 1.0
    b = ag.Value(np.array([1.0, 2.0]))
    ag.where(np.array([[True], [False]]), b, 0.0).sum().backward()  # cond broadcasts the output
    assert np.array_equal(b.grad, [1.0, 1.0])


@pytest.mark.parametrize(("cond", "got"), [
    (np.array([1.0, 0.0]), "dtype float64"), ([1, 0], "dtype int64"), (1, "dtype int64"),
    (ag.Value(np.array([1.0, 0.0])), "got Value"), ("yes", "dtype <U3")])
def test_where_needs_a_boolean_cond(cond, got):
    with pytest.raises(TypeError, match=r"cond must be a boolean array .*x > 0.*" + got):
        ag.where(cond, ag.Value(np.ones(2)), 0.0)


def test_clip_values_and_bad_bounds():
    x = ag.Value(np.array([-3.0, 0.2, 3.0]))
    assert np.array_equal(x.clip(-1, 1).data, [-1.0, 0.2, 1.0])
    assert np.array_equal(ag.clip(x, None, 0).data, [-3.0, 0.0, 0.0])
    assert ag.clip(x, 0, None).op == "clip" and type(ag.Value(5.0).clip(0, 1).data) is float
    with pytest.raises(ValueError, match=r"clip needs lo ≤ hi, got lo = 2 > hi = 1"):
        x.clip(2, 1)
    for bad in (np.nan, "0", np.inf, True):
        with pytest.raises(ValueError, match=r"clip's lo .* must be a finite real number"):
            x.clip(bad, 1)
    with pytest.raises(ValueError, match=r"clip's hi"):
        ag.clip(x, 0, [1])


def test_sqrt_values():
    assert ag.Value(4.0).sqrt().data == 2.0
    assert np.array_equal(ag.sqrt(ag.Value(np.array([0.0, 9.0], np.float32))).data, [0.0, 3.0])
    assert np.isnan(ag.Value(-1.0).sqrt().data)  # IEEE, not Python's ValueError


def test_comparisons_give_plain_boolean_arrays_and_no_graph():
    v, w = ag.Value(np.array([1.0, 2.0, 3.0])), ag.Value(np.array([2.0, 2.0, 2.0]))
    for got, want in ((v < w, [True, False, False]), (v <= w, [True, True, False]),
                      (v > w, [False, False, True]), (v >= w, [False, True, True]),
                      (v > 1.5, [False, True, True]), (np.array([0.0, 5.0, 3.0]) < v,
                                                       [True, False, False]),
                      (2.0 >= v, [True, True, False])):
        assert type(got) is np.ndarray and got.dtype == bool and got.tolist() == want
    s = ag.Value(1.0)
    assert (s < 2) is np.True_ and (s > ag.Value(2.0)) is np.False_
    assert v.grad.tolist() == [0.0, 0.0, 0.0] and v.rule is None


def test_stack_of_scalar_values_makes_a_tensor():
    a, x = ag.Value(0.5, "a"), ag.Value(-2.0, "x")
    h = ag.stack([a, x, 1.0])  # an RNN's [a_prev, x_t], with a constant
    assert h.shape == (3,) and h.op == "stack" and h.dtype == np.float64
    (h * np.array([1.0, 2.0, 3.0])).sum().backward()
    assert (a.grad, x.grad) == (1.0, 2.0) and type(a.grad) is float
    t = ag.stack([ag.Value(np.ones(2, np.float32)), np.zeros(2, np.float32)], axis=1)
    assert t.shape == (2, 2) and t.dtype == np.float32
    assert np.array_equal(t.data, [[1.0, 0.0], [1.0, 0.0]])
    u = ag.stack([ag.Value(np.array(1.0, np.float16)), 3.0])
    assert u.dtype == np.float16  # a number takes the Values' dtype, as in x * 3.0


def test_concatenate_gives_each_input_its_block():
    a, b = ag.Value(np.arange(6.0).reshape(2, 3)), ag.Value(np.ones((2, 1)))
    c = ag.concatenate([a, b, np.zeros((2, 2))], axis=1)
    assert c.shape == (2, 6) and c.op == "concatenate" and len(c.parents) == 3
    (c * np.arange(12.0).reshape(2, 6)).sum().backward()
    assert np.array_equal(a.grad, [[0, 1, 2], [6, 7, 8]]) and np.array_equal(b.grad, [[3], [9]])
    d = ag.Value(np.ones(2), "d")
    e = ag.concatenate((d, d))  # one input twice: both blocks come back to it
    (e * np.array([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert np.array_equal(d.grad, [4.0, 6.0])
    e.label = "e"
    assert "e = concatenate(d, d)" in str(ag.explain(e.sum(), d))


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: ag.concatenate([]), ValueError, "at least one value"),
    (lambda: ag.stack(3.0), TypeError, "a list of Values, arrays or numbers, got float"),
    (lambda: ag.concatenate([ag.Value(1.0), ag.Value(2.0)]), ValueError, "use ag.stack"),
    (lambda: ag.concatenate([np.ones(2)], axis=1), ValueError,
     r"concatenate: axis 1 is out of range for 1 dimension\(s\): it must lie in \[-1, 0\]"),
    (lambda: ag.stack([np.ones(2)], axis=-3), ValueError, r"stack: axis -3 .* \[-2, 1\]"),
    (lambda: ag.stack([np.ones(2)], axis=(0,)), TypeError, "axis takes ints"),
    (lambda: ag.stack([np.ones(2), np.ones(3)]), ValueError, "same shape"),
    (lambda: ag.Value(np.ones((2, 3))).squeeze(0), ValueError, "size not equal to one"),
    (lambda: ag.expand_dims(ag.Value(np.ones(2)), 3), ValueError, "out of bounds"),
])
def test_joining_and_shape_ops_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_var_and_std_are_population_statistics():
    x = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    v = ag.Value(x)
    assert np.allclose(v.var().data, x.var()) and np.allclose(v.std(axis=1).data, x.std(axis=1))
    assert v.var(axis=0, keepdims=True).shape == (1, 3)
    assert ag.gradcheck(lambda vs: vs[0].std(axis=1).sum() + vs[0].var(), [ag.Value(x[:1])])
    with np.errstate(invalid="ignore"):
        s = v.std(axis=1)
        s.sum().backward()
    assert np.all(np.isnan(v.grad[1]))  # a constant row: sqrt'(0) = inf times 0, as PyTorch
    assert [(k.op, k.count) for k in ag.kinks(s.sum())] == [("sqrt", 1)]


def test_squeeze_flatten_expand_dims_are_reshapes():
    v = ag.Value(np.arange(6.0).reshape(1, 3, 1, 2))
    assert v.squeeze().shape == (3, 2) and v.squeeze(2).shape == (1, 3, 2)
    assert v.squeeze((0, 2)).shape == (3, 2) and v.flatten().shape == (6,)
    assert ag.expand_dims(v, 0).shape == (1, 1, 3, 1, 2) and ag.expand_dims(v, (1, -1)).ndim == 6
    assert ag.expand_dims(2.0, 0).shape == (1,) and ag.Value(2.0).flatten().shape == (1,)
    out = ag.expand_dims(v.squeeze(), -1).flatten()
    assert out.op == "reshape"
    (out * np.arange(6.0)).sum().backward()
    assert v.grad.shape == v.shape and np.array_equal(v.grad.ravel(), np.arange(6.0))

"""Reliability of the classification losses (the reliability issue's cases 1, 4, 9, 11, 15).

- 1: finite float32 logits whose gap overflows (``log_softmax = -inf`` for a
  class): exact values (0, or +inf where the target class itself is at -inf),
  never ``0 * -inf = NaN``, on the native and the generic path alike, with
  finite gradients.
- 4: a torch ``pos_weight`` that requires grad is differentiated.
- 9: out-of-range class indices raise on concrete jax arrays (as on NumPy) and
  give a NaN sample under ``jax.jit`` unless masked or ignored.
- 11: value checks read detached values (no torch "requires_grad to a
  scalar" warning).
- 15: targets outside [0, 1] raise naming ``'target'``; infinite ``gamma`` and
  temperatures raise naming the option.
"""

from __future__ import annotations

import math
import warnings

import _backends
import numpy as np
import pytest
from _helpers import assert_close, grad, numeric_grad, run

import corelosses as cl
from corelosses import _core as c

BIG = np.array([[3e38, -3e38, 0.0]], dtype=np.float32)  # the gap 6e38 overflows float32


def _eager(tb, fn, *args, **kwargs):
    """Call on backend ``tb`` without ``jax.jit`` (XLA's jit happens to simplify
    ``one_hot * log_softmax`` to a select; eager jax runs the ops as written)."""
    a = [tb.asarray(x) if isinstance(x, np.ndarray) else x for x in args]
    k = {n: tb.asarray(v) if isinstance(v, np.ndarray) else v for n, v in kwargs.items()}
    return tb.to_numpy(fn(*a, **k))


CALLS = {"jit": run, "eager": _eager}


def _with_native(flag, fn):
    def call(*a, **k):
        with cl.native(flag):
            return fn(*a, **k)

    return call


# -------------------------------------------- 1: logit gaps past the float range
# (NumPy rightly warns of the overflow in ``x - max(x)``.)
overflow_ok = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")

CE_OPTIONS = {
    "plain": {},
    "mask": {"mask": np.array([True])},
    "weight": {"weight": np.array([1.0], dtype=np.float32)},
    "class_weight": {"class_weight": np.ones(3, dtype=np.float32)},
    "ignore_index": {"ignore_index": -100},
}
FOCAL_OPTIONS = {
    "plain": {},
    "mask": {"mask": np.array([True])},
    "weight": {"weight": np.array([1.0], dtype=np.float32)},
    "alpha": {"alpha": np.ones(3, dtype=np.float32)},
    "ignore_index": {"ignore_index": -100},
}
CASES = [("cross_entropy", k) for k in CE_OPTIONS] + [
    ("softmax_focal_loss", k) for k in FOCAL_OPTIONS
]


def _case(name, opt):
    fn = getattr(cl, name)
    kw = (CE_OPTIONS if name == "cross_entropy" else FOCAL_OPTIONS)[opt]
    return fn, dict(kw)


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("native", [True, False], ids=["native", "generic"])
@pytest.mark.parametrize("name,opt", CASES)
@overflow_ok
def test_overflowing_logit_gap_value(xp, name, opt, native, call):
    fn, kw = _case(name, opt)
    f = _with_native(native, fn)
    # the target class has probability 1: loss 0 (was 0 * -inf = NaN)
    out = CALLS[call](xp, f, BIG, np.array([0]), **kw)
    assert out == 0.0, out
    # the target class is at log p = -inf: the exact loss is +inf, not NaN
    out = CALLS[call](xp, f, BIG, np.array([1]), **kw)
    assert np.isposinf(out), out


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("name", ["cross_entropy", "softmax_focal_loss"])
@pytest.mark.parametrize("native", [True, False], ids=["native", "generic"])
@overflow_ok
def test_overflowing_logit_gap_probability_targets(xp, name, native, call):
    f = _with_native(native, getattr(cl, name))
    ev = CALLS[call]
    out = ev(xp, f, BIG, np.array([[1.0, 0.0, 0.0]], dtype=np.float32), reduction="none")
    assert out.tolist() == [0.0]
    out = ev(xp, f, BIG, np.array([[0.0, 1.0, 0.0]], dtype=np.float32), reduction="none")
    assert np.isposinf(out).all(), out
    # mass on the -inf class and on a finite one: still +inf
    out = ev(xp, f, BIG, np.array([[0.5, 0.5, 0.0]], dtype=np.float32), reduction="none")
    assert np.isposinf(out).all(), out


@overflow_ok
def test_overflowing_logit_gap_label_smoothing(xp):
    # smoothing puts mass on the class at -inf: the exact loss is +inf (not NaN)
    for t in (np.array([0]), np.array([[1.0, 0.0, 0.0]], dtype=np.float32)):
        out = run(xp, cl.cross_entropy, BIG, t, label_smoothing=0.1)
        assert np.isposinf(out), out
    # ... unless that class weighs 0
    cw = np.array([1.0, 0.0, 1.0], dtype=np.float32)
    out = run(xp, cl.cross_entropy, BIG, np.array([0]), label_smoothing=0.1, class_weight=cw)
    assert np.isfinite(out), out


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("name", ["cross_entropy", "softmax_focal_loss"])
def test_overflowing_logit_gap_native_and_generic_agree(ad, name, call):
    fn = getattr(cl, name)
    for t in (np.array([0]), np.array([1]), np.array([[1.0, 0.0, 0.0]], dtype=np.float32)):
        native = CALLS[call](ad, fn, BIG, t, reduction="none")
        generic = CALLS[call](ad, _with_native(False, fn), BIG, t, reduction="none")
        np.testing.assert_array_equal(native, generic)


@pytest.mark.parametrize("native", [True, False], ids=["native", "generic"])
@pytest.mark.parametrize("name,opt", CASES)
def test_overflowing_logit_gap_gradient(ad, name, opt, native):
    fn, kw = _case(name, opt)
    f = _with_native(native, fn)
    (g,) = grad(ad, f, BIG, np.array([0]), **kw)
    # p = (1, 0, 0) exactly: the gradient (softmax - one-hot, times a zero
    # modulating factor for focal) is exactly 0, and finite in any case
    assert np.all(np.isfinite(g)), g
    assert_close(g, np.zeros_like(g), "float32")
    (g,) = grad(ad, f, BIG, np.array([[1.0, 0.0, 0.0]], dtype=np.float32))
    assert_close(g, np.zeros_like(g), "float32")
    if name == "cross_entropy":
        # target at -inf: infinite loss, finite gradient softmax - one-hot
        (g,) = grad(ad, f, BIG, np.array([1]), **kw)
        assert_close(g, [[1.0, -1.0, 0.0]], "float32")


# ---------------------------------------------- 4: pos_weight requiring grad
def _bce_pw(x, y, pw, **kw):
    return cl.binary_cross_entropy(x, y, pos_weight=pw, **kw)


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1, "reduction": "sum"}])
def test_bce_pos_weight_gradient(ad, rng, kw):
    x = rng.normal(size=(4, 5)) * 2
    y = rng.uniform(size=(4, 5))
    pw = rng.uniform(0.5, 2.0, size=(5,))
    gx, gpw = grad(ad, _bce_pw, x, y, pw, argnums=(0, 2), **kw)
    assert_close(gpw, numeric_grad(_bce_pw, x, y, pw, argnum=2, **kw), rtol=1e-6, atol=1e-9)
    assert_close(gx, numeric_grad(_bce_pw, x, y, pw, argnum=0, **kw), rtol=1e-6, atol=1e-9)


def test_bce_pos_weight_gradient_torch_matches_jax(rng):
    for b in ("torch", "jax"):
        if b not in _backends.selected():
            pytest.skip(f"needs {b}")
    x = rng.normal(size=(3, 4))
    y = rng.uniform(size=(3, 4))
    pw = rng.uniform(0.5, 2.0, size=(4,))
    gt = grad(_backends.get("torch"), _bce_pw, x, y, pw, argnums=(0, 2))
    gj = grad(_backends.get("jax"), _bce_pw, x, y, pw, argnums=(0, 2))
    for a, b in zip(gt, gj):
        assert_close(a, b, rtol=1e-12, atol=1e-15)


def test_bce_pos_weight_requiring_grad_under_no_grad():
    torch = pytest.importorskip("torch")
    x, y = torch.randn(3, 4, dtype=torch.float64), torch.rand(3, 4, dtype=torch.float64)
    pw = torch.rand(4, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        out = cl.binary_cross_entropy(x, y, pos_weight=pw)
    assert_close(out, cl.binary_cross_entropy(x, y, pos_weight=pw.detach()))


# -------------------------------------------- 9: class indices out of range on jax
@pytest.fixture
def jx():
    if "jax" not in _backends.selected():
        pytest.skip("needs jax")
    return _backends.get("jax")


INDEX_LOSSES = {
    "cross_entropy": lambda x, t, **k: cl.cross_entropy(x, t, **k),
    "cross_entropy_generic": lambda x, t, **k: _with_native(False, cl.cross_entropy)(x, t, **k),
    "cross_entropy_class_weight": lambda x, t, **k: cl.cross_entropy(
        x, t, class_weight=x[0] * 0 + 1, **k
    ),
    "cross_entropy_smoothing": lambda x, t, **k: cl.cross_entropy(x, t, label_smoothing=0.1, **k),
    "softmax_focal_loss": lambda x, t, **k: cl.softmax_focal_loss(x, t, **k),
    "bi_tempered_logistic_loss": lambda x, t, **k: cl.bi_tempered_logistic_loss(
        x, t, t1=0.8, t2=1.2, **k
    ),
}


def test_jax_concrete_is_cpu_and_not_traced(jx):
    jax = jx.jax
    x = jx.asarray(np.zeros(3))
    be = cl.backend_of(x)
    assert be.concrete(x)
    seen = []

    def f(a):
        seen.append(be.concrete(a))
        return a.sum()

    jax.jit(f)(x)
    jax.grad(f)(x)
    jax.vmap(f)(jx.asarray(np.zeros((2, 3))))

    def closure(a):  # a concrete array closed over by a traced function
        seen.append(be.concrete(x))
        return a.sum()

    jax.jit(closure)(x)
    assert seen == [False, False, False, False]
    # ... so a loss on closed-over bad indices traces (NaN), it does not fail
    t = jx.asarray(np.array([0, 5]))
    for name, fn in INDEX_LOSSES.items():
        out = jax.jit(lambda a, fn=fn: fn(a, t, reduction="none"))(jx.asarray(np.zeros((2, 3))))
        assert np.isnan(np.asarray(out)).tolist() == [False, True], name


@pytest.mark.parametrize("name", list(INDEX_LOSSES))
@pytest.mark.parametrize("bad", [4, -1])
def test_jax_eager_out_of_range_index_raises(jx, name, bad):
    fn = INDEX_LOSSES[name]
    x = jx.asarray(np.zeros((3, 4)))
    t = jx.asarray(np.array([0, bad, 1]))
    with pytest.raises(ValueError, match="'target'"):
        fn(x, t)
    if name != "bi_tempered_logistic_loss":  # (it has no ignore_index)
        out = fn(x, jx.asarray(np.array([0, -100, 1])), ignore_index=-100)
        assert np.isfinite(float(out))


@pytest.mark.parametrize("name", list(INDEX_LOSSES))
@pytest.mark.parametrize("bad", [4, -1, 2**31 - 1])
def test_jax_jit_out_of_range_index_is_nan(jx, rng, name, bad):
    fn = INDEX_LOSSES[name]
    x = rng.normal(size=(3, 4))
    t = np.array([0, bad, 1])
    none = run(jx, fn, x, t, reduction="none")
    assert np.isnan(none[1]) and np.all(np.isfinite(none[[0, 2]])), none
    assert np.isnan(run(jx, fn, x, t))
    assert np.isnan(run(jx, fn, x, t, reduction="sum"))
    # the rows in range are the loss of the valid rows alone
    ok = run(jx, fn, x[[0, 2]], t[[0, 2]], reduction="none")
    assert_close(none[[0, 2]], ok)
    # masked out: the bad row gives exactly 0 and no NaN anywhere, gradient included
    m = np.array([True, False, True])
    assert_close(run(jx, fn, x, t, mask=m), run(jx, fn, x[[0, 2]], t[[0, 2]]))
    (g,) = grad(jx, fn, x, t, mask=m)
    assert np.all(np.isfinite(g)) and np.all(g[1] == 0)


@pytest.mark.parametrize("name", [n for n in INDEX_LOSSES if not n.startswith("bi_tempered")])
def test_jax_jit_ignored_index_is_not_nan(jx, rng, name):
    fn = INDEX_LOSSES[name]
    x = rng.normal(size=(3, 4))
    t = np.array([0, -100, 1])
    out = run(jx, fn, x, t, ignore_index=-100, reduction="none")
    assert np.all(np.isfinite(out)) and out[1] == 0
    (g,) = grad(jx, fn, x, t, ignore_index=-100)
    assert np.all(np.isfinite(g))


def test_jax_jit_native_and_generic_agree_on_bad_indices(jx, rng):
    x = rng.normal(size=(5, 4)) * 3
    t = np.array([0, 3, -2, 7, 2])
    native = run(jx, cl.cross_entropy, x, t, reduction="none")
    generic = run(jx, _with_native(False, cl.cross_entropy), x, t, reduction="none")
    np.testing.assert_array_equal(np.isnan(native), [False, False, True, True, False])
    assert_close(native, generic, rtol=1e-12, atol=1e-15)


# -------------------------------------------- 11: value checks on tensors requiring grad
def test_value_checks_do_not_warn_on_tensors_requiring_grad():
    torch = pytest.importorskip("torch")
    p = torch.tensor([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cl.binary_cross_entropy(p, y, from_logits=False).backward()
        cl.one_hot_penalty(p).backward()
        cl.cross_entropy(p, y, from_logits=False).backward()  # probability target
        cl.cross_entropy(p, t, from_logits=False).backward()  # class indices
        cl.focal_loss(p, y).backward()  # binary target
        cl.binary_cross_entropy(p, y).backward()  # plain native path checks the target


# -------------------------------------------- 15: targets outside [0, 1], infinite options
def _checked(xp, a):
    return cl.backend_of(a).concrete(a)


BINARY_TARGET_LOSSES = {
    "bce": lambda x, y, **k: cl.binary_cross_entropy(x, y, **k),
    "bce_generic": lambda x, y, **k: _with_native(False, cl.binary_cross_entropy)(x, y, **k),
    "bce_pos_weight": lambda x, y, **k: cl.binary_cross_entropy(x, y, pos_weight=x * 0 + 2, **k),
    "bce_probabilities": lambda x, y, **k: cl.binary_cross_entropy(
        x * 0.0 + 0.5, y, from_logits=False, **k
    ),
    "focal_loss": lambda x, y, **k: cl.focal_loss(x, y, **k),
    "focal_loss_probabilities": lambda x, y, **k: cl.focal_loss(
        x * 0.0 + 0.5, y, from_logits=False, **k
    ),
}


@pytest.mark.parametrize("name", list(BINARY_TARGET_LOSSES))
@pytest.mark.parametrize("bad", [1.5, -0.5])
def test_binary_target_outside_unit_interval_raises(xp, name, bad):
    fn = BINARY_TARGET_LOSSES[name]
    x = xp.asarray(np.array([0.5, -1.0, 2.0]))
    y = xp.asarray(np.array([1.0, bad, 0.0]))
    if not _checked(xp, y):
        pytest.skip("value checks run only where concrete (documented)")
    with pytest.raises(ValueError, match="'target'"):
        fn(x, y)
    # a bad target under the mask is never looked at
    out = fn(x, y, mask=xp.asarray(np.array([True, False, True])))
    assert np.isfinite(float(out))
    # in range (soft labels included): fine
    fn(x, xp.asarray(np.array([1.0, 0.3, 0.0])))


@pytest.mark.parametrize(
    "name", ["cross_entropy", "softmax_focal_loss", "bi_tempered_logistic_loss"]
)
@pytest.mark.parametrize("bad", [1.5, -0.5])
def test_probability_target_outside_unit_interval_raises(xp, name, bad):
    fn = INDEX_LOSSES[name]
    x = xp.asarray(np.zeros((2, 3)))
    y = xp.asarray(np.array([[0.2, 0.8, 0.0], [bad, 1.0 - bad, 1.0]]))
    if not _checked(xp, y):
        pytest.skip("value checks run only where concrete (documented)")
    with pytest.raises(ValueError, match="'target'"):
        fn(x, y)
    out = fn(x, y, mask=xp.asarray(np.array([True, False])))
    assert np.isfinite(float(out))


def test_bad_target_message_names_target_without_logits_hint():
    with pytest.raises(ValueError, match="'target'") as e:
        cl.binary_cross_entropy(np.zeros(2), np.array([0.0, 2.0]))
    assert "from_logits" not in str(e.value)
    with pytest.raises(ValueError, match="from_logits=True"):
        cl.binary_cross_entropy(np.array([0.5, 2.0]), np.zeros(2), from_logits=False)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_infinite_options_rejected(value):
    x, t, y = np.zeros((2, 3)), np.array([0, 1]), np.zeros((2, 3))
    cases = [
        ("gamma", lambda v: cl.focal_loss(x, y, gamma=v)),
        ("gamma", lambda v: cl.softmax_focal_loss(x, t, gamma=v)),
        ("alpha", lambda v: cl.softmax_focal_loss(x, t, alpha=v)),
        ("t1", lambda v: cl.bi_tempered_logistic_loss(x, t, t1=v, t2=1.2)),
        ("t2", lambda v: cl.bi_tempered_logistic_loss(x, t, t1=0.8, t2=v)),
        ("t1", lambda v: cl.bi_tempered_binary_logistic_loss(x, y, t1=v, t2=1.2)),
        ("t2", lambda v: cl.bi_tempered_binary_logistic_loss(x, y, t1=0.8, t2=v)),
        ("t", lambda v: cl.tempered_softmax(x, t=v)),
    ]
    for argname, f in cases:
        with pytest.raises(ValueError, match=f"'{argname}'"):
            f(value)


def test_check_number_finite_option():
    c.check_number("f", "x", math.inf, low=0)  # allowed unless asked
    c.check_number("f", "x", 1e308, low=0, finite=True)
    for v in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError, match="'x'"):
            c.check_number("f", "x", v, finite=True)
    c.check_number("f", "x", None, allow_none=True, finite=True)


# ---------------------------------------------- found by tests/test_adversarial.py
def test_focal_gradient_finite_past_half_the_float32_maximum(ad):
    """ce ~ 3e38 times (1 - p_t)'s slope overflowed before meeting sigmoid's zero slope."""
    x = np.array([3e38, -3e38, 2e38, -2e38, 1e30, 0.5], dtype=np.float32)
    for y in (np.zeros_like(x), np.ones_like(x)):
        for alpha in (None, 0.25):
            g = grad(ad, cl.focal_loss, x, y, alpha=alpha, gamma=2.0, reduction="sum")[0]
            assert np.all(np.isfinite(g)), (y[0], alpha, g)
            # the exact slope there: alpha_t (p - y) (1 - p_t)^2 = +-alpha_t (p_t = 0)
            wrong = (x > 0) != (y > 0.5)
            a_t = 1.0 if alpha is None else (alpha if y[0] else 1 - alpha)
            np.testing.assert_allclose(g[:5][wrong[:5]], (np.sign(x) * a_t)[:5][wrong[:5]])


def test_softmax_focal_target_at_minus_inf_has_no_nan_gradient(ad):
    """A target class at log p = -inf (logit gap past the float max): loss +inf, no NaN."""
    x = np.array([[3e38, -3e38, 0.0], [1.0, 2.0, 0.5]], dtype=np.float32)
    t = np.array([1, 0])
    out = run(ad, cl.softmax_focal_loss, x, t, gamma=2.0, reduction="none")
    assert np.isinf(out[0]) and np.isfinite(out[1])
    g = grad(ad, cl.softmax_focal_loss, x, t, gamma=2.0)[0]
    assert not np.any(np.isnan(g)), g


def test_label_smoothing_with_class_weights_near_the_float_maximum(xp):
    """(s / C) w_c log p_c: w_c log p_c alone overflowed float32 where the loss fits."""
    x = np.array([[0.03, 1.0, -3e38, 1e4, -0.5]], dtype=np.float32)
    cw = np.array([0.8, 1.3, 1.8, 0.76, 1.0], dtype=np.float32)
    out = run(xp, cl.cross_entropy, x, np.array([0]), class_weight=cw, label_smoothing=0.1)
    ref = cl.cross_entropy(
        x.astype(np.float64), np.array([0]), class_weight=cw.astype(np.float64), label_smoothing=0.1
    )
    assert np.isfinite(out), out
    np.testing.assert_allclose(out, ref, rtol=1e-5)


def test_generic_log_softmax_keeps_the_digits_of_large_logits(xp):
    """x - logsumexp(x) lost log 2 next to 1e30: the generic path now agrees with native."""
    x = np.array([[1e30, 1e30, -1.0], [1e300, 1e300, 0.0]])
    with cl.native(False):
        out = run(xp, cl.entropy_penalty, x, reduction="none")
    np.testing.assert_allclose(out, [np.log(2.0), np.log(2.0)], rtol=1e-12)


def test_check_number_names_an_int_past_the_float_range():
    """math.isnan(10**400) raised OverflowError instead of a named ValueError."""
    with pytest.raises(ValueError, match="'delta'"):
        cl.huber_loss(np.zeros(3), np.ones(3), delta=10**400)
    with pytest.raises(ValueError, match="'gamma'"):
        cl.focal_loss(np.zeros(3), np.ones(3), gamma=10**400)

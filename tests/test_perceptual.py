"""Perceptual and style losses: float64 NumPy references, conv nets in torch and jax."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl
from corelosses.perceptual import example_features

SHAPE = (3, 2, 5, 6)


def _pair(seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), rng.normal(size=shape)


# ------------------------------------------------------------- references
def np_example_features(x):
    """``example_features`` rewritten in NumPy (independent of the array-API version)."""
    s = x[..., ::2]
    return [np.tanh(x), np.tanh(s.sum(axis=1, keepdims=True) + 0.5 * s**2)]


def np_gram(f):
    n, c = f.shape[:2]
    m = int(np.prod(f.shape[2:]))
    F = f.reshape(n, c, m)
    return np.einsum("ncm,ndm->ncd", F, F) / (c * m)


def ref_loss(feats, x, y, *, layer_weights=None, distance="l2", gram=False, reduction="mean"):
    fx, fy = feats(x), feats(y)
    lw = layer_weights or [1.0] * len(fx)
    per = 0.0
    for a, b, w in zip(fx, fy, lw, strict=True):
        if gram:
            a, b = np_gram(a), np_gram(b)
        d = (a - b) ** 2 if distance == "l2" else np.abs(a - b)
        per = per + w * d.reshape(d.shape[0], -1).mean(axis=1)
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]


LOSSES = {"perceptual": (cl.perceptual_loss, False), "style": (cl.style_loss, True)}


# ----------------------------------------------- every backend, array-API features
@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("distance", ["l2", "l1"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_reference(xp, name, distance, reduction):
    fn, gram = LOSSES[name]
    x, y = _pair()
    ref = ref_loss(
        np_example_features,
        x,
        y,
        layer_weights=[0.7, 1.3],
        distance=distance,
        gram=gram,
        reduction=reduction,
    )
    out = run(
        xp,
        fn,
        x,
        y,
        features=example_features,
        layer_weights=[0.7, 1.3],
        distance=distance,
        reduction=reduction,
    )
    assert out.shape == np.shape(ref)
    assert_close(out, ref)


def test_mean_is_sum_over_layers_of_means():
    """The API's formula: sum_l w_l * mean(|f_l(x) - f_l(y)|^2)."""
    x, y = _pair(1)
    fx, fy = np_example_features(x), np_example_features(y)
    want = 2.0 * np.mean((fx[0] - fy[0]) ** 2) + 0.5 * np.mean((fx[1] - fy[1]) ** 2)
    out = cl.perceptual_loss(x, y, features=example_features, layer_weights=(2.0, 0.5))
    assert_close(out, want)


def test_gram_normalisation():
    f = np.arange(24.0).reshape(1, 2, 3, 4)
    g = np_gram(f)
    F = f.reshape(2, 12)
    assert_close(g[0], F @ F.T / 24)
    # style of a single layer identity extractor against zeros: mean(G^2)
    out = cl.style_loss(f, np.zeros_like(f), features=lambda a: [a])
    assert_close(out, np.mean(g**2))


def test_single_array_is_one_layer(xp):
    x, y = _pair(2)
    out = run(xp, cl.perceptual_loss, x, y, features=lambda a: a * a, distance="l1")
    assert_close(out, np.mean(np.abs(x * x - y * y)))


def test_scalar_layer_weight():
    x, y = _pair(3)
    a = cl.perceptual_loss(x, y, features=example_features, layer_weights=2.0)
    b = cl.perceptual_loss(x, y, features=example_features)
    assert_close(a, 2 * b)


@pytest.mark.parametrize("name", list(LOSSES))
def test_weight_mask_and_nan_under_mask(xp, name):
    fn, gram = LOSSES[name]
    x, y = _pair(4)
    w = np.array([0.5, 2.0, 1.5])
    m = np.array([True, False, True])
    x[1] = np.nan
    y[1, 0, 0, 0] = np.inf
    per = ref_loss(np_example_features, x[m], y[m], gram=gram, reduction="none")
    out = run(xp, fn, x, y, features=example_features, weight=w, mask=m)
    assert_close(out, (per * w[m]).sum() / m.sum())
    out = run(xp, fn, x, y, features=example_features, mask=m, reduction="none")
    assert_close(out, np.array([per[0], 0.0, per[1]]))
    allm = run(xp, fn, x, y, features=example_features, mask=np.zeros(3, bool))
    assert float(allm) == 0.0


@pytest.mark.parametrize("name", list(LOSSES))
def test_nan_under_mask_zero_gradient(ad, name):
    fn, _ = LOSSES[name]
    x, y = _pair(5)
    m = np.array([True, False, True])
    x[1] = np.nan
    gx, gy = grad(ad, fn, x, y, features=example_features, mask=m, argnums=(0, 1))
    for g in (gx, gy):
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0)


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("distance", ["l2", "l1"])
def test_gradient_finite_differences(ad, name, distance):
    fn, gram = LOSSES[name]
    x, y = _pair(6, shape=(2, 2, 3, 4))
    if distance == "l1":
        y = x + np.sign(np.random.default_rng(0).normal(size=x.shape)) * 0.8  # off the kink
    gs = grad(
        ad,
        fn,
        x,
        y,
        features=example_features,
        layer_weights=[1.0, 0.5],
        distance=distance,
        argnums=(0, 1),
    )
    for i, g in enumerate(gs):
        num = numeric_grad(
            lambda a, b: ref_loss(
                np_example_features, a, b, layer_weights=[1.0, 0.5], distance=distance, gram=gram
            ),
            x,
            y,
            argnum=i,
        )
        assert_close(g, num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", list(LOSSES))
def test_torch_compile_fullgraph(name):
    torch = pytest.importorskip("torch")
    fn, gram = LOSSES[name]
    x, y = _pair(7)
    out = compile_fullgraph(
        fn,
        torch.from_numpy(x),
        torch.from_numpy(y),
        features=example_features,
        layer_weights=[1.0, 2.0],
    )
    assert_close(
        out.numpy(), ref_loss(np_example_features, x, y, layer_weights=[1.0, 2.0], gram=gram)
    )


def test_half_precision_features_computed_in_float32():
    torch = pytest.importorskip("torch")
    x, y = _pair(8)
    xh, yh = torch.from_numpy(x).half(), torch.from_numpy(y).half()
    out = cl.style_loss(xh, yh, features=lambda a: [a * a])
    assert out.dtype == torch.float32
    ref = cl.style_loss(xh.float(), yh.float(), features=lambda a: [a * a])
    assert_close(out.numpy(), ref.numpy(), dtype="float32")


# -------------------------------------------- a small random conv net, torch and jax
def _conv_params(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(size=(4, 2, 3, 3)) * 0.4,
        "b1": rng.normal(size=(4,)) * 0.1,
        "W2": rng.normal(size=(3, 4, 3, 3)) * 0.3,
        "b2": rng.normal(size=(3,)) * 0.1,
    }


def _np_conv(x, W, b, stride):
    """'same' padding (1), 3x3 kernel, NCHW / OIHW, in float64 loops over the kernel."""
    n, c, h, w = x.shape
    xp_ = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, W.shape[0], h, w))
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,oc->nohw", xp_[:, :, i : i + h, j : j + w], W[:, :, i, j])
    out = out + b[None, :, None, None]
    return out[:, :, ::stride, ::stride]


def np_conv_features(p):
    def f(x):
        h1 = np.tanh(_np_conv(x, p["W1"], p["b1"], 1))
        h2 = np.tanh(_np_conv(h1, p["W2"], p["b2"], 2))
        return [h1, h2]

    return f


def torch_conv_features(tp):
    import torch.nn.functional as F

    def f(x):
        h1 = (F.conv2d(x, tp["W1"], tp["b1"], padding=1)).tanh()
        h2 = (F.conv2d(h1, tp["W2"], tp["b2"], padding=1, stride=2)).tanh()
        return [h1, h2]

    return f


def jax_conv_features(jp):
    import jax
    import jax.numpy as jnp

    def conv(x, W, b, stride):
        y = jax.lax.conv_general_dilated(
            x,
            W,
            (stride, stride),
            ((1, 1), (1, 1)),
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
            precision=jax.lax.Precision.HIGHEST,
        )
        return y + b[None, :, None, None]

    def f(x):
        h1 = jnp.tanh(conv(x, jp["W1"], jp["b1"], 1))
        return [h1, jnp.tanh(conv(h1, jp["W2"], jp["b2"], 2))]

    return f


def _conv_data(seed=9):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2, 2, 5, 6)), rng.normal(size=(2, 2, 5, 6))


@pytest.mark.parametrize("name", list(LOSSES))
def test_conv_net_torch_and_jax(name):
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    fn, gram = LOSSES[name]
    p = _conv_params()
    x, y = _conv_data()
    kw = {"layer_weights": [1.0, 3.0]}
    ref = ref_loss(np_conv_features(p), x, y, gram=gram, **kw)

    # torch: value, gradient w.r.t. the input and the network's weights
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    xt = torch.tensor(x, requires_grad=True)
    vt = fn(xt, torch.from_numpy(y), features=torch_conv_features(tp), **kw)
    vt.backward()

    # jax: jit(value_and_grad) over (input, params)
    def lj(x, jp):
        return fn(x, jnp.asarray(y), features=jax_conv_features(jp), **kw)

    vj, (gxj, gpj) = jax.jit(jax.value_and_grad(lj, argnums=(0, 1)))(
        jnp.asarray(x), {k: jnp.asarray(v) for k, v in p.items()}
    )

    assert_close(vt.detach().numpy(), ref)
    assert_close(np.asarray(vj), ref)
    assert_close(xt.grad.numpy(), np.asarray(gxj))
    for k in p:
        assert_close(tp[k].grad.numpy(), np.asarray(gpj[k]), err_msg=k)
    # and one of them against finite differences of the NumPy reference
    num = numeric_grad(lambda a: ref_loss(np_conv_features(p), a, y, gram=gram, **kw), x)
    assert_close(xt.grad.numpy(), num, rtol=1e-5, atol=1e-7)

    def ref_w1(W1):
        q = dict(p)
        q["W1"] = W1
        return ref_loss(np_conv_features(q), x, y, gram=gram, **kw)

    assert_close(tp["W1"].grad.numpy(), numeric_grad(ref_w1, p["W1"]), rtol=1e-5, atol=1e-7)


def test_conv_net_torch_module_compiles():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(2, 4, 3, padding=1)
            self.c2 = torch.nn.Conv2d(4, 3, 3, padding=1, stride=2)

        def forward(self, x):
            h1 = torch.relu(self.c1(x))
            return [h1, torch.relu(self.c2(h1))]

    net = Net().double()
    x, y = (torch.from_numpy(a) for a in _conv_data())
    for fn in (cl.perceptual_loss, cl.style_loss):
        eager = fn(x, y, features=net)
        out = compile_fullgraph(fn, x, y, features=net)
        assert_close(out.detach().numpy(), eager.detach().numpy())


# ---------------------------------------------------------------- bad input
def test_bad_input():
    x, y = _pair()
    with pytest.raises(ValueError, match="distance"):
        cl.perceptual_loss(x, y, features=example_features, distance="l3")
    with pytest.raises(ValueError, match="layer_weights.*2.*3"):
        cl.style_loss(x, y, features=example_features, layer_weights=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="layer_weights"):
        cl.perceptual_loss(x, y, features=example_features, layer_weights=[1.0, -1.0])
    with pytest.raises(TypeError, match="features"):
        cl.perceptual_loss(x, y, features=None)
    with pytest.raises(TypeError, match="features.*sequence"):
        cl.perceptual_loss(x, y, features=lambda a: {"relu1": a})
    with pytest.raises(ValueError, match="features"):
        cl.perceptual_loss(x, y, features=lambda a: [])
    with pytest.raises(ValueError, match="layer 0"):
        cl.perceptual_loss(x, y, features=lambda a: [a.sum()])
    with pytest.raises(ValueError, match="layer 0.*channels-first"):
        cl.style_loss(x, y, features=lambda a: [a.reshape(a.shape[0], -1)[:, 0]])
    with pytest.raises(ValueError, match="target"):
        cl.perceptual_loss(x, y[:2], features=example_features)
    with pytest.raises(ValueError, match="reduction"):
        cl.style_loss(x, y, features=example_features, reduction="batch")
    with pytest.raises(ValueError, match="mask"):
        cl.perceptual_loss(x, y, features=example_features, mask=np.ones(4, bool))
    with pytest.raises(TypeError, match="input"):
        cl.perceptual_loss(x.astype(np.int64), y, features=example_features)


def test_catalog_entries():
    for name in ("perceptual_loss", "style_loss"):
        info = cl.get(name)
        assert info.family == "perceptual" and info.example is not None


# --------------------------------------------------------------- VGG16 adapter
def test_vgg_needs_torchvision(monkeypatch):
    pytest.importorskip("torch")
    from corelosses.adapters.extras import torch_vgg

    monkeypatch.setitem(sys.modules, "torchvision", None)  # import fails as if not installed
    with pytest.raises(ImportError, match="torchvision"):
        torch_vgg.vgg16_features()


def test_vgg_unknown_layer():
    from corelosses.adapters.extras import torch_vgg

    with pytest.raises(ValueError, match="relu9_9"):
        torch_vgg.vgg16_features(layers=("relu9_9",))


def _fake_torchvision(torch, width=2):
    """A stand-in for torchvision.models.vgg16: VGG16's layer layout, tiny channels."""
    nn = torch.nn

    def vgg16(weights=None):
        assert weights is None, "must never ask torchvision to download"
        layers, c_in = [], 3
        for nconv in (2, 2, 3, 3, 3):
            for _ in range(nconv):
                layers += [nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU(inplace=True)]
                c_in = width
            layers.append(nn.MaxPool2d(2, 2))
        m = nn.Module()
        m.features = nn.Sequential(*layers)
        return m

    tv = types.ModuleType("torchvision")
    tv.models = types.SimpleNamespace(vgg16=vgg16)
    return tv


def test_vgg_no_weights_on_disk(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    from corelosses.adapters.extras import torch_vgg

    monkeypatch.setitem(sys.modules, "torchvision", _fake_torchvision(torch))
    missing = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match="never downloads"):
        torch_vgg.vgg16_features(weights_path=missing)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # default location, empty here
    with pytest.raises(FileNotFoundError, match=torch_vgg.VGG16_WEIGHTS_FILE):
        torch_vgg.vgg16_features()


def test_vgg_extracts_requested_layers(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    from corelosses.adapters.extras import torch_vgg

    tv = _fake_torchvision(torch)
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    torch.manual_seed(0)
    src = tv.models.vgg16()
    path = tmp_path / "w.pth"
    torch.save(src.state_dict(), path)
    ext = torch_vgg.vgg16_features(layers=("relu2_2", "conv1_1"), weights_path=path)
    assert not any(p.requires_grad for p in ext.parameters())
    x = torch.rand(2, 3, 8, 8)
    got = ext(x)
    # reference: the source network run by hand, normalised input, out-of-place relu
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    h = (x - mean) / std
    outs = []
    for m in list(src.features)[:9]:  # up to relu2_2
        h = torch.relu(h) if isinstance(m, torch.nn.ReLU) else m(h)
        outs.append(h)
    names = torch_vgg.VGG16_LAYERS
    assert_close(got[0].numpy(), outs[names.index("relu2_2")].detach().numpy(), dtype="float32")
    assert_close(got[1].numpy(), outs[names.index("conv1_1")].detach().numpy(), dtype="float32")
    # usable as features=, gradients reach the input
    xi = x.clone().requires_grad_(True)
    loss = cl.perceptual_loss(xi, torch.rand(2, 3, 8, 8), features=ext)
    loss.backward()
    assert xi.grad is not None and torch.isfinite(xi.grad).all()

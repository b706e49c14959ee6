r"""GAN objectives on discriminator logits, and the gradient penalties.

The losses take the discriminator's (critic's) raw outputs: logits for the
``minimax``/``non_saturating`` objectives, raw scores for ``least_squares``,
``wasserstein`` and ``hinge``. With ``r = D(x)`` on real data and
``f = D(G(z))`` on generated data:

============== ============================================ =================================
kind           discriminator (minimised)                    generator (minimised)
============== ============================================ =================================
minimax        ``softplus(-r) + softplus(f)``               ``-softplus(f) = log(1 - s(f))``
non_saturating (same as minimax)                            ``softplus(-f) = -log s(f)``
least_squares  ``((r - 1)^2 + f^2) / 2``                    ``(f - 1)^2 / 2``
wasserstein    ``f - r``                                    ``-f``
hinge          ``relu(1 - r) + relu(1 + f)``                ``-f``
============== ============================================ =================================

(``s`` is the logistic sigmoid.) The penalties :func:`gradient_penalty` and
:func:`r1_penalty` take the critic itself, a callable, and differentiate it
with the framework's autodiff (``torch.autograd.grad(create_graph=True)``,
``jax.vjp``), so the penalty is itself differentiable with respect to the
critic's parameters. Namespaces without autodiff raise ``TypeError``.

Under ``torch.compile`` the critic's gradient is taken with
``torch.func.vjp`` instead: dynamo breaks the graph on
``torch.autograd.grad`` (``fullgraph=True`` raises ``Unsupported``), and
even with ``torch._dynamo.config.trace_autograd_ops = True`` (torch 2.13)
it refuses this use: a ``create_graph`` gradient, with respect to a tensor
made to require grad inside the compiled region, that flows into the
output. ``torch.func.vjp`` traces with ``fullgraph=True`` and gives the same value and the same
gradients (parameters and inputs, as ``create_graph=True``). One limit
there: ``torch.func`` rejects a critic that mutates a tensor in place during
its forward, such as ``BatchNorm`` in training mode updating its running
statistics ("... attempted to call in-place operation ... that would mutate
a captured Tensor"). Use a norm without running statistics (``LayerNorm``,
as Gulrajani et al. recommend for a WGAN-GP critic), or call the penalty
outside the compiled region (eager torch has no such limit).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import _core as c
from ._registry import register

Array = Any

__all__ = ["gan_discriminator_loss", "gan_generator_loss", "gradient_penalty", "r1_penalty"]

DISCRIMINATOR_KINDS = ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge")
GENERATOR_KINDS = ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge")

#: Added under the square root of the gradient norm (TF-GAN's value): finite gradient at 0.
GP_EPS = 1e-10


# ------------------------------------------------------------------ examples
def _away_from(x, point, gap=0.2):
    """Move entries of ``x`` that lie within ``gap`` of ``point`` (a kink) away from it."""
    d = x - point
    return x + (gap - abs(d)) * ((d >= 0) * 2.0 - 1.0) * (abs(d) < gap)


def _ex_discriminator(rng):
    r = _away_from(rng.normal(size=(6, 3)) * 2, 1.0)
    f = _away_from(rng.normal(size=(6, 3)) * 2, -1.0)
    return (r, f), {"kind": "hinge", "weight": rng.uniform(0.5, 2.0, size=(3,))}


def _ex_generator(rng):
    return (rng.normal(size=(7, 4)) * 3,), {"kind": "minimax"}


def _relu(xp: Any, z: Array) -> Array:
    return xp.where(z > 0, z, 0.0)


# ------------------------------------------------------------------- losses
@register(
    "gan",
    "Goodfellow et al. 2014 (minimax); Mao et al. 2017 (LSGAN); Arjovsky et al. 2017 "
    "(WGAN); Lim & Ye 2017 and Miyato et al. 2018 (hinge)",
    peers=(
        "tfgan.losses.modified_discriminator_loss",
        "tfgan.losses.least_squares_discriminator_loss",
        "tfgan.losses.wasserstein_discriminator_loss",
        "torchgan.losses",
    ),
    example=_ex_discriminator,
    grad_argnums=(0, 1),
)
def gan_discriminator_loss(
    real: Array,
    fake: Array,
    /,
    *,
    kind: str = "minimax",
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Discriminator (critic) loss of a GAN, on logits, elementwise.

    With ``r = D(x)`` the outputs on real samples and ``f = D(G(z))`` on
    generated ones (same shape, paired elementwise):

    - ``"minimax"`` (Goodfellow et al. 2014; also ``"non_saturating"``, whose
      discriminator is the same):
      ``-log s(r) - log(1 - s(f)) = softplus(-r) + softplus(f)``, i.e. binary
      cross entropy with label 1 on real and 0 on fake, finite for logits of
      any magnitude.
    - ``"least_squares"`` (Mao et al. 2017, labels ``a = 0, b = 1``, halved):
      ``((r - 1)^2 + f^2) / 2`` on the raw scores (no sigmoid).
    - ``"wasserstein"`` (Arjovsky et al. 2017): ``f - r``; add
      :func:`gradient_penalty` (WGAN-GP) or clip the critic's weights.
    - ``"hinge"`` (Lim & Ye 2017; Miyato et al. 2018):
      ``relu(1 - r) + relu(1 + f)``.

    ``"mean"`` is the mean over pairs, i.e. ``mean(real term) + mean(fake term)``
    as in TF-GAN and torchgan.

    Parameters
    ----------
    real, fake : array
        Discriminator outputs on a real and a generated batch, same shape
        (e.g. ``(N,)`` or ``(N, 1)``; patch discriminators ``(N, 1, H, W)``).
    kind : {"minimax", "non_saturating", "least_squares", "wasserstein", "hinge"}
        The objective.
    weight : array, optional
        Elementwise weights broadcastable to the unreduced loss.
    mask : array, optional
        Boolean or 0/1, broadcastable to the unreduced loss; masked entries
        give exactly zero value and gradient.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    array
        Scalar, or the elementwise loss (the inputs' shape) for ``"none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> r = np.array([2.0, 0.5]); f = np.array([-1.0, 0.3])
    >>> round(float(cl.gan_discriminator_loss(r, f)), 6)
    0.884311
    >>> round(float(cl.gan_discriminator_loss(r, f, kind="hinge")), 6)
    0.9
    >>> float(cl.gan_discriminator_loss(r, f, kind="wasserstein"))
    -1.6
    """
    fname = "gan_discriminator_loss"
    c.check_choice(fname, "kind", kind, DISCRIMINATOR_KINDS)
    be, xp, r, f, weight, valid = _pair(fname, real, fake, weight, mask, reduction)
    if kind in ("minimax", "non_saturating"):
        loss = be.softplus(-r) + be.softplus(f)
    elif kind == "least_squares":
        loss = 0.5 * ((r - 1.0) ** 2 + f * f)
    elif kind == "wasserstein":
        loss = f - r
    else:
        loss = _relu(xp, 1.0 - r) + _relu(xp, 1.0 + f)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


def _pair(fname, real, fake, weight, mask, reduction):
    c.check_reduction(fname, reduction)
    be = c.backend_of(real, fake, weight, mask)
    xp = be.xp
    r = c.floating(be, real, fname, "real")
    f = c.floating(be, fake, fname, "fake")
    if tuple(r.shape) != tuple(f.shape):
        raise ValueError(
            f"{fname}: 'fake' must have the shape of 'real' {tuple(r.shape)}, got {tuple(f.shape)}"
        )
    dt = xp.result_type(r.dtype, f.dtype)
    r, f = c.cast_to(be, r, dt), c.cast_to(be, f, dt)
    valid, weight = c.mask_and_weight(be, mask, weight, r.shape, dt, fname)
    return be, xp, c.sanitize(xp, valid, r), c.sanitize(xp, valid, f), weight, valid


@register(
    "gan",
    "Goodfellow et al. 2014 (minimax, non-saturating); Mao et al. 2017 (LSGAN); "
    "Arjovsky et al. 2017 (WGAN); Lim & Ye 2017 and Miyato et al. 2018 (hinge)",
    peers=(
        "tfgan.losses.minimax_generator_loss",
        "tfgan.losses.modified_generator_loss",
        "tfgan.losses.least_squares_generator_loss",
        "tfgan.losses.wasserstein_generator_loss",
        "torchgan.losses",
    ),
    example=_ex_generator,
)
def gan_generator_loss(
    fake: Array,
    /,
    *,
    kind: str = "minimax",
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Generator loss of a GAN, on the discriminator's logits ``f = D(G(z))``.

    - ``"minimax"`` (the default, as in API.md; Goodfellow et al. 2014):
      ``log(1 - s(f)) = -softplus(f)``, the original objective; its gradient
      vanishes when the discriminator rejects the samples confidently
      (``f -> -inf``), so most training uses ``"non_saturating"``.
    - ``"non_saturating"`` (Goodfellow et al. 2014, section 3):
      ``-log s(f) = softplus(-f)``, i.e. binary cross entropy with label 1.
    - ``"least_squares"`` (Mao et al. 2017, ``c = 1``, halved): ``(f - 1)^2 / 2``.
    - ``"wasserstein"`` (Arjovsky et al. 2017) and ``"hinge"`` (Lim & Ye 2017;
      Miyato et al. 2018): ``-f``.

    Every form is computed from ``softplus`` and is finite for logits of any
    magnitude. Pair it with :func:`gan_discriminator_loss` of the same
    ``kind`` (``"minimax"`` and ``"non_saturating"`` share one discriminator).

    Parameters
    ----------
    fake : array
        Discriminator outputs on a generated batch, any shape.
    kind : {"minimax", "non_saturating", "least_squares", "wasserstein", "hinge"}
        The objective.
    weight, mask, reduction
        As for every loss (elementwise weight, boolean mask, ``"mean"``/``"sum"``/``"none"``).

    Returns
    -------
    array
        Scalar, or the elementwise loss for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> f = np.array([-1.0, 0.3])
    >>> round(float(cl.gan_generator_loss(f)), 6)  # minimax: log(1 - s(f))
    -0.583808
    >>> round(float(cl.gan_generator_loss(f, kind="non_saturating")), 6)
    0.933808
    >>> round(float(cl.gan_generator_loss(f, kind="minimax")), 6)
    -0.583808
    >>> round(float(cl.gan_generator_loss(f, kind="least_squares")), 6)
    1.1225
    """
    fname = "gan_generator_loss"
    c.check_choice(fname, "kind", kind, GENERATOR_KINDS)
    c.check_reduction(fname, reduction)
    be = c.backend_of(fake, weight, mask)
    xp = be.xp
    f = c.floating(be, fake, fname, "fake")
    valid, weight = c.mask_and_weight(be, mask, weight, f.shape, f.dtype, fname)
    f = c.sanitize(xp, valid, f)
    if kind == "minimax":
        loss = -be.softplus(f)
    elif kind == "non_saturating":
        loss = be.softplus(-f)
    elif kind == "least_squares":
        loss = 0.5 * (f - 1.0) ** 2
    else:
        loss = -f
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


# ---------------------------------------------------------------- penalties
def _critic_grad(fname: str, be: Any, critic: Callable, x: Array) -> Array:
    """The critic's gradient at ``x`` (one value per sample), differentiable itself."""
    if not callable(critic):
        raise TypeError(f"{fname}: 'critic' must be a callable, got {type(critic).__name__}")
    y, g = be.grad_of(critic, x)
    n = x.shape[0]
    shape = tuple(getattr(y, "shape", ()))
    if shape not in ((n,), (n, 1)):
        raise ValueError(
            f"{fname}: 'critic' must return one value per sample, of shape ({n},) or "
            f"({n}, 1) for a batch of {n}, got shape {shape}"
        )
    return g


def _sq_norm(be: Any, g: Array) -> Array:
    """Per-sample squared gradient norm over every non-batch axis (float32 for halves)."""
    xp = be.xp
    g = c.floating(be, g, "gradient")
    sq = g * g
    if sq.ndim == 1:
        return sq
    return xp.sum(sq, axis=tuple(range(1, sq.ndim)))


def _check_epsilon(fname: str, be: Any, epsilon: Array) -> None:
    """An array ``epsilon`` in [0, 1] (NaN rejected, as for a scalar), where checkable.

    Checked where ``be.concrete`` says values can be read without a device sync
    or a trace (as the losses' probability checks); elsewhere the values are
    used as given.
    """
    if be.concrete(epsilon) and math.prod(epsilon.shape) > 0:
        lo, hi = be.value_range(epsilon)
        lo, hi = float(lo), float(hi)
        if not (lo >= 0 and hi <= 1):  # NaN fails both comparisons
            raise ValueError(
                f"{fname}: 'epsilon' must hold interpolation weights in [0, 1], "
                f"got values in [{lo}, {hi}]"
            )


def _check_batch(fname: str, argname: str, x: Array) -> None:
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(
            f"{fname}: '{argname}' must be a batch with a leading sample axis of size >= 1, "
            f"got shape {tuple(x.shape)}"
        )


@register(
    "gan",
    "Gulrajani et al. 2017 (WGAN-GP); per-sample norm with 1e-10 under the root as TF-GAN",
    peers=("tfgan.losses.wasserstein_gradient_penalty",),
    backends=("torch", "jax"),  # needs autodiff; other namespaces raise TypeError
    example=None,  # takes a callable: covered by tests/test_gan.py
    kind="penalty",
    follows="TF-GAN's per-sample gradient norm sqrt(sum g^2 + 1e-10); not torchgan's "
    "whole-batch norm; no division by target**2 (TF-GAN divides)",
)
def gradient_penalty(
    critic: Callable[[Array], Array],
    real: Array,
    fake: Array,
    /,
    *,
    epsilon: float | Array,
    weight: float = 10.0,
    target: float = 1.0,
) -> Array:
    r"""WGAN-GP gradient penalty (Gulrajani et al. 2017).

    At the interpolates :math:`\hat x = \epsilon\, x_r + (1 - \epsilon)\, x_f`,

    .. math::
        \mathrm{GP} = \lambda\, \frac{1}{N} \sum_{n=1}^{N}
        \Big(\sqrt{\textstyle\sum_j (\partial D(\hat x)_n / \partial \hat x_{nj})^2
        + 10^{-10}} - t\Big)^2

    where ``j`` runs over every non-batch axis (one gradient norm per sample,
    as in the paper and TF-GAN; the ``1e-10`` is TF-GAN's, it keeps the
    gradient finite where the critic is flat). ``lambda = weight``,
    ``t = target``. TF-GAN further divides by ``target**2``: pass
    ``weight=weight / target**2`` for its value.

    The critic's gradient is taken with the framework's autodiff
    (``torch.autograd.grad(..., create_graph=True)`` or ``jax.vjp``), so the
    returned penalty is differentiable with respect to the critic's
    parameters: add it to the critic's loss and call ``backward()`` or
    ``jax.grad``. Detach ``fake`` (``fake.detach()``) in the critic's step as
    usual. Under ``torch.compile`` (``fullgraph=True`` too) it is taken with
    ``torch.func.vjp``, with the same value and gradients; a critic that
    updates buffers in place (``BatchNorm`` in training mode) cannot be
    traced there (see :mod:`corelosses.gan`).

    Parameters
    ----------
    critic : callable
        ``critic(x) -> scores`` of shape ``(N,)`` or ``(N, 1)``: one value per
        sample. A torch ``nn.Module`` or a function closing over JAX
        parameters (call the penalty inside the function that ``jax.grad``
        differentiates).
    real, fake : array
        A real and a generated batch of the same shape ``(N, ...)``.
    epsilon : float or array
        Interpolation weights, drawn by the caller with its own RNG
        (typically uniform in [0, 1]): a scalar, or one value per sample of
        shape ``(N,)`` or ``(N, 1, ..., 1)``; broadcast over the non-batch axes.
    weight : float
        ``lambda`` (10 in the paper).
    target : float
        The target norm ``t`` (1 in the paper).

    Returns
    -------
    array
        Scalar penalty of the namespace of ``real`` (float32 for half inputs).

    Raises
    ------
    TypeError
        On a namespace without automatic differentiation (NumPy, Dask, ...).
    ValueError
        If the critic does not return one value per sample, or ``epsilon``
        has the wrong shape or lies outside [0, 1] (NaN included): a scalar
        always, an array where its values can be read without a device sync
        or a trace (the rule of the losses' probability checks, see
        ``docs/reliability.md``; under ``torch.compile``, ``jax.jit`` or on a
        GPU it is used as given).

    Examples
    --------
    >>> import torch, corelosses as cl
    >>> w = torch.tensor([3.0, 4.0], requires_grad=True)
    >>> critic = lambda x: x @ w          # gradient w everywhere: norm 5
    >>> x = torch.zeros(4, 2)
    >>> gp = cl.gradient_penalty(critic, x, x + 1, epsilon=torch.rand(4), weight=10.0)
    >>> round(gp.item(), 4)
    160.0
    >>> gp.backward(); w.grad                # d/dw 10 (|w| - 1)^2 = 20 (5 - 1) w / 5
    tensor([48., 64.])

    On NumPy arrays it raises, since NumPy has no autodiff:

    >>> import numpy as np
    >>> cl.gradient_penalty(lambda x: x.sum(axis=1), np.zeros((2, 2)), np.ones((2, 2)),
    ...                     epsilon=0.5)
    Traceback (most recent call last):
    ...
    TypeError: the 'numpy' namespace has no automatic differentiation: ...
    """
    fname = "gradient_penalty"
    c.check_number(fname, "weight", weight, low=0)
    c.check_number(fname, "target", target)
    be = c.backend_of(real, fake, None if isinstance(epsilon, (int, float)) else epsilon)
    xp = be.xp
    if not be.has_autodiff:
        be.grad_of(critic, real)  # raises the namespace's TypeError
    _check_batch(fname, "real", real)
    for name, a in (("real", real), ("fake", fake)):
        if not xp.isdtype(a.dtype, "real floating"):
            raise TypeError(
                f"{fname}: '{name}' must be a real floating-point array, got dtype {a.dtype}"
            )
    if tuple(real.shape) != tuple(fake.shape):
        raise ValueError(
            f"{fname}: 'fake' must have the shape of 'real' {tuple(real.shape)}, "
            f"got {tuple(fake.shape)}"
        )
    dt = xp.result_type(real.dtype, fake.dtype)
    real, fake = c.cast_to(be, real, dt), c.cast_to(be, fake, dt)
    n = real.shape[0]
    if isinstance(epsilon, (int, float)):
        c.check_number(fname, "epsilon", epsilon, low=0, high=1)
        eps = epsilon
    else:
        ok = (n,) + (1,) * (real.ndim - 1)
        es = tuple(epsilon.shape)
        if es not in ((), (n,), ok):
            raise ValueError(
                f"{fname}: 'epsilon' must be a scalar or hold one value per sample, shape "
                f"({n},) or {ok}, got shape {es}"
            )
        eps = c.cast_to(be, epsilon, dt)
        _check_epsilon(fname, be, eps)
        if es == (n,):
            eps = xp.reshape(eps, ok)
    x_hat = eps * real + (1.0 - eps) * fake
    g = _critic_grad(fname, be, critic, x_hat)
    norm = xp.sqrt(_sq_norm(be, g) + GP_EPS)
    d = norm - target
    return weight * xp.mean(d * d)


@register(
    "gan",
    "Mescheder et al. 2018 (Which training methods for GANs do actually converge?), R1",
    peers=("StyleGAN2 r1 regularisation",),
    backends=("torch", "jax"),  # needs autodiff; other namespaces raise TypeError
    example=None,  # takes a callable: covered by tests/test_gan.py
    kind="penalty",
    follows="Mescheder et al.: weight / 2 * mean over the batch of sum g^2 (no square root)",
)
def r1_penalty(
    critic: Callable[[Array], Array],
    real: Array,
    /,
    *,
    weight: float = 10.0,
) -> Array:
    r"""R1 gradient penalty on real data (Mescheder et al. 2018).

    .. math::
        R_1 = \frac{\gamma}{2}\, \frac{1}{N} \sum_{n=1}^{N}
        \sum_j \big(\partial D(x)_n / \partial x_{nj}\big)^2

    with ``gamma = weight`` and ``j`` over every non-batch axis. Like
    :func:`gradient_penalty` it differentiates the critic with the
    framework's autodiff (``create_graph=True`` / ``jax.vjp``), so the
    penalty is differentiable with respect to the critic's parameters; NumPy
    and other namespaces without autodiff raise ``TypeError``. It compiles
    under ``torch.compile(fullgraph=True)`` through ``torch.func.vjp``, with
    the limit on critics that update buffers in place described in
    :mod:`corelosses.gan`.

    Parameters
    ----------
    critic : callable
        ``critic(x) -> logits`` of shape ``(N,)`` or ``(N, 1)``.
    real : array
        A batch of real samples ``(N, ...)``.
    weight : float
        ``gamma`` (Mescheder et al. use 10 for most experiments; StyleGAN2
        tunes it per data set).

    Returns
    -------
    array
        Scalar penalty (float32 for half inputs).

    Examples
    --------
    >>> import torch, corelosses as cl
    >>> critic = lambda x: (x**2).sum(dim=1)     # gradient 2x
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> cl.r1_penalty(critic, x, weight=1.0).item()  # 1/2 * mean(4, 16)
    5.0
    """
    fname = "r1_penalty"
    c.check_number(fname, "weight", weight, low=0)
    be = c.backend_of(real)
    xp = be.xp
    if not be.has_autodiff:
        be.grad_of(critic, real)  # raises the namespace's TypeError
    _check_batch(fname, "real", real)
    if not xp.isdtype(real.dtype, "real floating"):
        raise TypeError(
            f"{fname}: 'real' must be a real floating-point array, got dtype {real.dtype}"
        )
    g = _critic_grad(fname, be, critic, real)
    return (0.5 * weight) * xp.mean(_sq_norm(be, g))

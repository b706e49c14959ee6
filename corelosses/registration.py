"""Registration losses and regularizers: local normalized cross-correlation, bending energy, diffusion.

Images and displacement fields are channels-first ``(N, C, *spatial)`` arrays
with one to three (or more) spatial axes. The local statistics of
:func:`lncc_loss` run through the backend's separable window filter
(``be.window_filter``: a native 1-D convolution per axis on torch and jax);
the regularizers are central finite differences written as array slices.
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._registry import register

Array = Any

__all__ = ["lncc_loss", "bending_energy", "diffusion_regularizer"]

_KERNELS = ("rectangular", "triangular", "gaussian")


# ------------------------------------------------------------------ examples
def _ex_lncc(rng):
    x = rng.normal(size=(1, 1, 8, 8))
    y = 0.7 * x + 0.5 * rng.normal(size=(1, 1, 8, 8))
    return (x, y), {"kernel_size": 3}


def _ex_ddf(rng):
    return (rng.normal(size=(1, 2, 5, 6)),), {}


# ------------------------------------------------------------------- kernels
def _kernel(kind: str, size: int) -> tuple[float, ...]:
    """MONAI's 1-D window of ``size`` (odd): unnormalised ones, a triangle, a Gaussian."""
    if kind == "rectangular":
        return (1.0,) * size
    if kind == "gaussian":
        sigma = size / 3.0
        half = size // 2
        return tuple(math.exp(-0.5 / (sigma * sigma) * i * i) for i in range(-half, half + 1))
    # triangular: a box of odd width f (1/f each) correlated with itself, zero-padded to size
    f = (size + 1) // 2
    if f % 2 == 0:
        f -= 1
    tri = [(f - abs(i)) / (f * f) for i in range(-(f - 1), f)]
    pad = (size - len(tri)) // 2
    return (0.0,) * pad + tuple(tri) + (0.0,) * pad


def _image_layout(fname: str, x: Array, channel_axis: int) -> tuple[int, ...]:
    if x.ndim < 3:
        raise ValueError(
            f"{fname}: 'input' must have a batch axis, a channel axis and at least one "
            f"spatial axis (rank >= 3), got shape {tuple(x.shape)}"
        )
    ax = c.normalize_axis(fname, "channel_axis", channel_axis, x.ndim)
    if ax == 0:
        raise ValueError(
            f"{fname}: 'channel_axis' must not be the batch axis 0, got {channel_axis!r}"
        )
    if x.shape[ax] == 0:
        raise ValueError(
            f"{fname}: 'input' needs at least one channel on 'channel_axis' {ax}, got shape "
            f"{tuple(x.shape)}"
        )
    return tuple(i for i in range(1, x.ndim) if i != ax)


# ---------------------------------------------------------------------- LNCC
@register(
    "registration",
    "MONAI LocalNormalizedCrossCorrelationLoss (squared local NCC, VoxelMorph / DeepReg)",
    peers=("monai.losses.LocalNormalizedCrossCorrelationLoss",),
    example=_ex_lncc,
    mask="renormalised",
    coupled=True,
)
def lncc_loss(
    input: Array,
    target: Array,
    /,
    *,
    kernel_size: int = 9,
    kernel_type: str = "rectangular",
    smooth_nr: float = 0.0,
    smooth_dr: float = 1e-5,
    channel_axis: int = 1,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Negative squared local normalized cross-correlation.

    With ``k`` the separable window (``kernel_size`` taps per spatial axis),
    ``S[a] = k * a`` the windowed sum around each pixel (zero padding: the
    output keeps the input's size) and ``V`` the window's total weight
    (``sum(k) ** d`` over ``d`` spatial axes), for ``p = input``, ``t = target``:

    .. math::
        \mathrm{cross} &= S[tp] - S[t] S[p] / V, \\
        \sigma_t &= \max(S[t^2] - S[t]^2 / V,\ s_{dr}), \quad
        \sigma_p = \max(S[p^2] - S[p]^2 / V,\ s_{dr}), \\
        \ell &= -\frac{\mathrm{cross}^2 + s_{nr}}{\sigma_t \sigma_p},

    per pixel and channel, in ``[-1, 0]`` for ``smooth_nr=0`` (``-1``: a
    perfect local linear match). This is MONAI's
    ``LocalNormalizedCrossCorrelationLoss(spatial_dims=d, kernel_size,
    kernel_type, smooth_nr, smooth_dr)`` exactly, its window included (the
    rectangular and Gaussian windows unnormalised, the triangular one a box
    correlated with itself; MONAI builds them in float32, so float64 results
    differ from its in the 8th digit for those two windows).

    An image too large for its squared local sums (``max|x|`` beyond about 1e7 to
    1e8 in float32 depending on the window, 1e75 in float64) is first scaled by a power of two,
    and ``smooth_nr``, ``smooth_dr`` with it: the same ratio, no overflow, no
    NaN. Other images are computed exactly as above.

    Parameters
    ----------
    input, target : array
        Images ``(N, C, *spatial)`` of the same shape (``C`` anywhere but the
        batch axis, see ``channel_axis``); the target is cast to the input's dtype.
    kernel_size : int
        Odd window size along every spatial axis.
    kernel_type : {"rectangular", "triangular", "gaussian"}
    smooth_nr : float
        Added to the squared cross term.
    smooth_dr : float
        Lower bound of the local variances: a constant window gives 0, not
        NaN. With ``smooth_dr=0`` a window where either image is constant
        gives 0 (where MONAI gives NaN).
    channel_axis : int
        The channel axis; every axis but it and the batch axis 0 is spatial.
    mask : array, optional
        Boolean or 0/1, broadcastable to the input. Masked pixels are set to 0
        before the windows run (they count like the zero padding outside the
        image, so NaN or inf there reaches neither value nor gradient), their
        loss is 0 and ``"mean"`` divides by the number of unmasked entries.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    array
        Scalar, or the per-pixel loss of the input's shape for ``reduction="none"``.

    References
    ----------
    Balakrishnan et al. 2019, VoxelMorph: A Learning Framework for Deformable
    Medical Image Registration; MONAI ``LocalNormalizedCrossCorrelationLoss``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.random.default_rng(0).normal(size=(1, 1, 6, 6))
    >>> round(float(cl.lncc_loss(x, 2.0 * x, kernel_size=3)), 6)  # a perfect local match
    -1.0
    >>> float(cl.lncc_loss(x, np.zeros_like(x), kernel_size=3)) == 0  # constant: 0, no NaN
    True
    """
    fname = "lncc_loss"
    c.check_reduction(fname, reduction)
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int):
        raise TypeError(f"{fname}: 'kernel_size' must be an int, got {kernel_size!r}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"{fname}: 'kernel_size' must be a positive odd int, got {kernel_size}")
    c.check_choice(fname, "kernel_type", kernel_type, _KERNELS)
    c.check_number(fname, "smooth_nr", smooth_nr, low=0, finite=True)
    c.check_number(fname, "smooth_dr", smooth_dr, low=0, finite=True)
    be = c.backend_of(input, target, mask)
    xp = be.xp
    p = c.floating(be, input, fname)
    c.check_same_shape(fname, p, target)
    t = c.cast_to(be, target, p.dtype)
    spatial = _image_layout(fname, p, channel_axis)
    valid = c.as_mask(be, mask, p.shape, fname)
    p = c.sanitize(xp, valid, p)
    t = c.sanitize(xp, valid, t)

    k = _kernel(kernel_type, kernel_size)
    vol = math.fsum(k) ** len(spatial)
    # Huge images (|x| beyond ~1e8 in float32) would overflow the squared local sums:
    # such an image is scaled by a power of two (exact) and the smoothing constants
    # with it, which leaves the ratio unchanged; other images are not touched.
    big = (float(xp.finfo(p.dtype).max) / (16.0 * vol * vol)) ** 0.25
    sp, st = _down_scale(be, p, big), _down_scale(be, t, big)
    if sp is not None:
        p = p * sp
    if st is not None:
        t = t * st
    dr_p = smooth_dr if sp is None else smooth_dr * (sp * sp)
    dr_t = smooth_dr if st is None else smooth_dr * (st * st)
    nr = smooth_nr
    for s_ in (sp, st):
        if s_ is not None:
            nr = nr * (s_ * s_)

    def window(a):
        return be.window_filter(a, k, spatial, padding="zeros")

    t_sum, p_sum = window(t), window(p)
    t2_sum, p2_sum, tp_sum = window(t * t), window(p * p), window(t * p)
    cross = tp_sum - p_sum * t_sum / vol
    t_var = t2_sum - t_sum * t_sum / vol
    p_var = p2_sum - p_sum * p_sum / vol
    t_var = xp.where(t_var > dr_t, t_var, dr_t)
    p_var = xp.where(p_var > dr_p, p_var, dr_p)
    den = t_var * p_var
    num = cross * cross + nr
    if smooth_dr > 0 and sp is None and st is None:
        ncc = num / den
    else:  # 0/0 in constant windows: no correlation (double where, no NaN gradient)
        ok = den > 0
        ncc = xp.where(ok, num / xp.where(ok, den, 1.0), 0.0)
    return c.reduce(be, -ncc, reduction, valid=valid)


def _down_scale(be, x: Array, big: float) -> Array | None:
    """``2**-ceil(log2(max|x|))`` where ``max|x| > big``, else 1 (a 0-d array without
    gradient), or None where no value can be that large (empty or small dtype range)."""
    if math.prod(x.shape) == 0:
        return None
    xp = be.xp
    m = xp.max(xp.abs(be.stop_gradient(x)))
    huge = m > big
    e = xp.ceil(xp.log2(xp.where(huge, m, 1.0)))
    return xp.where(huge, 2.0 ** (-e), 1.0)


# ------------------------------------------------------------- regularizers
def _ddf_setup(fname: str, ddf: Array, reduction: str, normalize: bool):
    c.check_reduction(fname, reduction)
    if not isinstance(normalize, bool):
        raise TypeError(f"{fname}: 'normalize' must be a bool, got {normalize!r}")
    be = c.backend_of(ddf)
    x = c.floating(be, ddf, fname, "ddf")
    d = x.ndim - 2
    if d < 1:
        raise ValueError(
            f"{fname}: 'ddf' must be (N, d, *spatial) with d spatial axes, got shape "
            f"{tuple(x.shape)}"
        )
    if x.shape[1] != d:
        raise ValueError(
            f"{fname}: 'ddf' must have one channel per spatial axis ({d}) on axis 1, got "
            f"shape {tuple(x.shape)}"
        )
    if any(n <= 2 for n in x.shape[2:]):
        raise ValueError(
            f"{fname}: every spatial size of 'ddf' must be > 2, got {tuple(x.shape[2:])}"
        )
    return be, be.xp, x


def _shift(x: Array, offsets: dict[int, int]) -> Array:
    """``x[:, :, 1+o_2 : n_2-1+o_2, ...]``: every spatial axis cut to its interior,
    shifted by ``offsets[axis]`` (-1, 0 or 1)."""
    idx = [slice(None), slice(None)]
    for ax in range(2, x.ndim):
        o = offsets.get(ax, 0)
        n = x.shape[ax]
        idx.append(slice(1 + o, n - 1 + o))
    return x[tuple(idx)]


def _unshift(xp, y: Array, offsets: dict[int, int]) -> Array:
    """The transpose of :func:`_shift`: ``y`` placed back, zeros around it."""
    for ax in range(2, y.ndim):
        o = offsets.get(ax, 0)
        idx = [slice(None)] * y.ndim
        idx[ax] = slice(0, 1)
        z = xp.zeros_like(y[tuple(idx)])
        y = xp.concat([z] * (1 + o) + [y] + [z] * (1 - o), axis=ax)
    return y


def _scale(be, xp, x: Array, num: float) -> Array:
    """``num / n_c`` per displacement component ``c`` (axis 1), shaped to broadcast."""
    sizes = x.shape[2:]
    shape = (1, len(sizes)) + (1,) * len(sizes)
    arr = xp.asarray([num / n for n in sizes], dtype=x.dtype, device=be.device(x))
    return xp.reshape(arr, shape)


# An energy term: weight * (factor * normalisation * sum_k coef_k * shift_k(u))^2.
_DOWN = 0.125  # |stencil| <= 4 max|u|: u / 8 cannot overflow (exact: a power of two)
_Q = 2.0**-10  # the backward pass's extra headroom (sums of up to 4 * 6 terms)


def _bending_terms(x):
    out = []
    for a in range(2, x.ndim):
        out.append((1.0, 1.0, float(x.shape[a] ** 2), [(1.0, {a: 1}), (-2.0, {}), (1.0, {a: -1})]))
        for b in range(a + 1, x.ndim):
            taps = [(1.0, {a: 1, b: 1}), (-1.0, {a: 1, b: -1}), (-1.0, {a: -1, b: 1})]
            taps.append((1.0, {a: -1, b: -1}))
            out.append((2.0, 0.25, float(x.shape[a] * x.shape[b]), taps))
    return out


def _diffusion_terms(x):
    return [
        (1.0, 0.5, float(x.shape[a]), [(1.0, {a: 1}), (-1.0, {a: -1})]) for a in range(2, x.ndim)
    ]


def _energy(be, xp, x: Array, terms, normalize: bool) -> Array:
    """``sum_terms weight * d^2`` (unreduced), computed on ``x / 8`` and scaled back.

    The scaling by powers of two is exact, so the value is the plain formula's
    (MONAI's); huge fields (+-3e38 in float32) give ``inf`` where the energy
    overflows, and the analytic backward pass gives their gradients without the
    ``inf - inf`` that autodiff through the stencil would produce."""

    def derivs(xs):
        ds = []
        for _w, factor, num, taps in terms:
            d = None
            for coef, off in taps:
                s = _shift(xs, off)
                s = s if coef == 1.0 else s * coef
                d = s if d is None else d + s
            if factor != 1.0:
                d = d * factor
            if normalize:
                d = d * _scale(be, xp, x, num)
            ds.append(d)
        return ds

    def fun(x):
        ds = derivs(x * _DOWN)
        e = None
        for (w, *_), d in zip(terms, ds):
            t = d * d if w == 1.0 else w * (d * d)
            e = t if e is None else e + t
        return e * (1.0 / (_DOWN * _DOWN)), tuple(ds)

    def bwd(res, g):
        gq = g * _Q
        out = None
        for (w, factor, num, taps), d in zip(terms, res):
            h = gq * d * (2.0 * w * factor)
            if normalize:
                h = h * _scale(be, xp, x, num)
            for coef, off in taps:
                u = _unshift(xp, h if coef == 1.0 else h * coef, off)
                out = u if out is None else out + u
        return (out * (1.0 / (_DOWN * _Q)),)

    return be.custom_vjp(fun, bwd)(x)


@register(
    "registration",
    "MONAI BendingEnergyLoss (DeepReg; Rueckert et al. 1999 bending energy)",
    peers=("monai.losses.BendingEnergyLoss",),
    example=_ex_ddf,
)
def bending_energy(ddf: Array, /, *, normalize: bool = False, reduction: str = "mean") -> Array:
    r"""Bending energy of a dense displacement field, by compact central differences.

    .. math::
        \ell = \sum_i (\partial_i^2 u)^2 + 2 \sum_{i<j} (\partial_i \partial_j u)^2

    per component and interior voxel, with ``\partial_i^2 u = u[+1] - 2u + u[-1]``
    along axis ``i`` and ``\partial_i \partial_j u = (u[+,+] - u[+,-] - u[-,+] +
    u[-,-]) / 4``; every spatial axis is cut to its interior ``[1:-1]``. Exactly
    MONAI's ``BendingEnergyLoss(normalize, reduction)`` (with ``normalize=True``
    MONAI's factors are float32: a relative difference of ~1e-7).

    Fields up to the dtype's largest number give the energy, or ``inf`` where it
    overflows, never NaN: the differences run on ``u / 8`` (exact) and the
    gradient is analytic (no ``inf - inf`` through the stencil).

    Parameters
    ----------
    ddf : array
        ``(N, d, *spatial)``: ``d`` displacement components on axis 1, one per
        spatial axis (``d`` of them, each of size > 2).
    normalize : bool
        Scale each derivative of component ``c`` by ``n_i n_j / n_c`` (``n``
        the spatial sizes), as MONAI: roughly invariant to the sampling
        resolution.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    array
        Scalar, or ``(N, d, n_1 - 2, ..., n_d - 2)`` for ``reduction="none"``.

    References
    ----------
    Rueckert et al. 1999, Nonrigid registration using free-form deformations;
    MONAI ``BendingEnergyLoss`` (from DeepReg).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> u = np.zeros((1, 2, 4, 4)); u[0, 0] = np.arange(4.0) ** 2  # curved along the last axis
    >>> float(cl.bending_energy(u))
    2.0
    >>> float(cl.bending_energy(np.ones((1, 2, 4, 4))))  # a translation does not bend
    0.0
    """
    fname = "bending_energy"
    be, xp, x = _ddf_setup(fname, ddf, reduction, normalize)
    energy = _energy(be, xp, x, _bending_terms(x), normalize)
    return c.reduce(be, energy, reduction)


@register(
    "registration",
    "MONAI DiffusionLoss (VoxelMorph, Balakrishnan et al. 2019)",
    peers=("monai.losses.DiffusionLoss",),
    example=_ex_ddf,
)
def diffusion_regularizer(
    ddf: Array, /, *, normalize: bool = False, reduction: str = "mean"
) -> Array:
    r"""Diffusion regularizer: squared first derivatives of a displacement field.

    .. math::
        \ell = \sum_i (\partial_i u)^2, \qquad \partial_i u = (u[+1] - u[-1]) / 2

    per component and interior voxel (central differences, every spatial
    axis cut to ``[1:-1]``; MONAI's ``spatial_gradient``). Exactly MONAI's
    ``DiffusionLoss(normalize, reduction)`` (its ``normalize`` factors are
    float32: ~1e-7 relative). Huge fields: as :func:`bending_energy`.

    Parameters
    ----------
    ddf : array
        ``(N, d, *spatial)``: ``d`` displacement components on axis 1, one per
        spatial axis (each of size > 2).
    normalize : bool
        Scale the derivative along axis ``i`` of component ``c`` by
        ``n_i / n_c`` (``n`` the spatial sizes), as MONAI.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    array
        Scalar, or ``(N, d, n_1 - 2, ..., n_d - 2)`` for ``reduction="none"``.

    References
    ----------
    Balakrishnan et al. 2019, VoxelMorph: A Learning Framework for Deformable
    Medical Image Registration; MONAI ``DiffusionLoss``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> u = np.zeros((1, 2, 4, 4)); u[0, 1] = 3.0 * np.arange(4.0)  # a shear: slope 3
    >>> float(cl.diffusion_regularizer(u))
    4.5
    """
    fname = "diffusion_regularizer"
    be, xp, x = _ddf_setup(fname, ddf, reduction, normalize)
    out = _energy(be, xp, x, _diffusion_terms(x), normalize)
    return c.reduce(be, out, reduction)

"""Transforms: output layers and helpers that give predictions a structure.

- :func:`sharpen`: a tempered softmax ``softmax(input / T)``;
- :func:`symmetrize`: the ``(x + x^T) / 2`` output layer, symmetric by
  construction;
- :func:`triangle_mask`: a boolean mask over one triangle, to learn half of a
  symmetric map through any loss's ``mask=``;
- :func:`symmetric_loss`: ``loss(x, y) + loss(x^T, y)`` from any loss.
- :func:`tempered_softmax`: the bi-tempered loss's normalised ``exp_t``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from . import _core as c
from ._bitempered import tempered_softmax
from ._registry import register
from .regularizers import check_axes, transpose_axes

Array = Any

__all__: list[str] = [
    "sharpen",
    "symmetrize",
    "triangle_mask",
    "symmetric_loss",
    "tempered_softmax",
]


def _ex_sharpen(rng):
    return (rng.normal(size=(4, 5)) * 2,), {"temperature": 0.5}


def _ex_symmetrize(rng):
    return (rng.normal(size=(2, 3, 3)),), {}


def _ex_triangle(rng):
    return (rng.normal(size=(2, 5, 5)),), {"lower": False, "include_diagonal": False}


@register(
    "transforms",
    "softmax(input / temperature) (Hinton et al. 2015's temperature; Berthelot et al. 2019's sharpening)",
    example=_ex_sharpen,
    kind="transform",
)
def sharpen(input: Array, /, *, temperature: float, axis: int = -1) -> Array:
    r"""Tempered softmax: ``softmax(input / temperature, axis)``.

    .. math::
        s_c = \frac{\exp(x_c / T)}{\sum_k \exp(x_k / T)}

    ``T < 1`` sharpens the distribution toward its arg-max (``T -> 0`` is a
    one-hot), ``T > 1`` flattens it (``T -> inf`` is uniform), ``T = 1`` is
    the softmax. For ``T < 1`` the logits are shifted by their maximum
    before the division (``softmax`` is shift-invariant), so finite logits of
    any magnitude give finite probabilities and gradients.

    Parameters
    ----------
    input : array
        Logits, classes on ``axis``.
    temperature : float
        ``T > 0``.
    axis : int
        The class axis.

    Returns
    -------
    array
        Probabilities of ``input``'s shape (float32 for half inputs).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> z = np.log(np.array([0.6, 0.3, 0.1]))
    >>> cl.sharpen(z, temperature=0.5).round(4).tolist()
    [0.7826, 0.1957, 0.0217]
    """
    fname = "sharpen"
    c.check_number(fname, "temperature", temperature, low=0, low_open=True)
    be = c.backend_of(input)
    x = c.floating(be, input, fname)
    ax = c.normalize_axis(fname, "axis", axis, x.ndim)
    if temperature < 1 and x.shape[ax] != 0:
        # softmax((x - max) / T), the same function: x / T alone overflows to inf
        # for large finite logits (3e38 / 0.5), and inf - inf is NaN
        x = x - be.stop_gradient(be.xp.max(x, axis=ax, keepdims=True))
    return be.softmax(x / temperature, axis=ax)


@register("transforms", "(x + x^T) / 2", example=_ex_symmetrize, kind="transform")
def symmetrize(x: Array, /, *, axes: tuple[int, int] = (-2, -1)) -> Array:
    r"""Symmetric part of ``x`` over two axes: ``(x + x^T) / 2``.

    As the last layer of a network predicting a map that is symmetric about
    its diagonal (a contact map), it makes every prediction symmetric by
    construction; the gradient reaching ``x[i, j]`` is the average of the
    gradients of both entries ``(i, j)`` and ``(j, i)``.

    Parameters
    ----------
    x : array
        Input, at least 2-D.
    axes : pair of int
        Two distinct axes of equal length.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> cl.symmetrize(np.array([[1.0, 2.0], [4.0, 3.0]])).tolist()
    [[1.0, 3.0], [3.0, 3.0]]
    """
    fname = "symmetrize"
    be = c.backend_of(x)
    xp = be.xp
    x = c.floating(be, x, fname, "x")
    a0, a1 = check_axes(fname, axes, tuple(x.shape))
    # halves first: x + x^T overflows for entries past half the float maximum
    # (a division: XLA factors x * 0.5 + y * 0.5 back into (x + y) * 0.5)
    return x / 2.0 + transpose_axes(xp, x, a0, a1) / 2.0


@register(
    "transforms",
    "numpy.tril / numpy.triu as a boolean mask",
    example=_ex_triangle,
    kind="transform",
    grad_argnums=(),
)
def triangle_mask(
    x: Array,
    /,
    *,
    axes: tuple[int, int] = (-2, -1),
    lower: bool = True,
    include_diagonal: bool = True,
) -> Array:
    r"""Boolean mask of one triangle of ``x`` over ``axes``, for ``mask=``.

    With ``i`` the index along ``axes[0]`` and ``j`` along ``axes[1]``, the
    mask is ``i >= j`` (``lower=True``) or ``i <= j``, strict without the
    diagonal. Its shape is ``x``'s with 1 on every other axis, so it
    broadcasts against ``x`` (and against any loss's unreduced output of
    ``x``'s shape). Only ``x``'s shape (and device) is read.

    Training a symmetric map through ``loss(x, y, mask=triangle_mask(x))``
    learns each pair ``(i, j), (j, i)`` once; read the prediction as
    ``where(mask, x, x^T)``, or combine with :func:`symmetrize`.

    Parameters
    ----------
    x : array
        Input whose triangle to select.
    axes : pair of int
        Two distinct axes of equal length.
    lower : bool
        Lower (``i >= j``) or upper (``i <= j``) triangle.
    include_diagonal : bool
        Whether the diagonal ``i == j`` is in the mask.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> cl.triangle_mask(np.zeros((3, 3))).astype(int).tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    >>> cl.triangle_mask(np.zeros((2, 3, 3)), lower=False, include_diagonal=False).shape
    (1, 3, 3)
    """
    fname = "triangle_mask"
    if not isinstance(lower, bool):
        raise TypeError(f"{fname}: 'lower' must be a bool, got {lower!r}")
    if not isinstance(include_diagonal, bool):
        raise TypeError(f"{fname}: 'include_diagonal' must be a bool, got {include_diagonal!r}")
    be = c.backend_of(x)
    xp = be.xp
    a0, a1 = check_axes(fname, axes, tuple(x.shape))
    n = x.shape[a0]
    r = be.arange(n, x)
    s0 = [1] * x.ndim
    s1 = [1] * x.ndim
    s0[a0] = n
    s1[a1] = n
    i = xp.reshape(r, tuple(s0))
    j = xp.reshape(r, tuple(s1))
    if lower:
        return i >= j if include_diagonal else i > j
    return i <= j if include_diagonal else i < j


def symmetric_loss(
    loss_fn: Callable[..., Array], /, *, axes: tuple[int, int] = (-2, -1)
) -> Callable[..., Array]:
    r"""Turn a loss into ``loss_fn(x, y, **kw) + loss_fn(x^T, y, **kw)``.

    For a symmetric target ``y`` both ``x[i, j]`` and ``x[j, i]`` are trained
    toward ``y[i, j]``, so the prediction becomes symmetric without
    constraining the architecture. Every keyword (``mask``, ``weight``,
    ``reduction``, the loss's own options) is passed to both calls; masks and
    weights index the target, so they apply to both terms alike. With
    ``reduction="mean"`` the result is the sum of two means.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(input, target, /, **kwargs)``, e.g. :func:`corelosses.focal_loss`.
    axes : pair of int
        Two distinct axes of equal length, checked at call time.

    Returns
    -------
    callable
        ``f(input, target, /, **kwargs)``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> sym_mse = cl.symmetric_loss(cl.mse_loss)
    >>> x = np.array([[0.0, 1.0], [0.0, 0.0]]); y = np.zeros((2, 2))
    >>> float(sym_mse(x, y, reduction="sum"))
    2.0
    """
    if not callable(loss_fn):
        raise TypeError(f"symmetric_loss: 'loss_fn' must be callable, got {type(loss_fn).__name__}")
    name = getattr(loss_fn, "__name__", type(loss_fn).__name__)
    fname = f"symmetric_loss({name})"
    if (
        not isinstance(axes, (tuple, list))
        or len(axes) != 2
        or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes)
    ):
        raise TypeError(f"symmetric_loss: 'axes' must be a pair of ints, got {axes!r}")
    axes = (axes[0], axes[1])

    @functools.wraps(loss_fn)
    def sym(input: Array, target: Array, /, **kwargs: Any) -> Array:
        be = c.backend_of(input)
        a0, a1 = check_axes(fname, axes, tuple(input.shape))
        xt = transpose_axes(be.xp, input, a0, a1)
        return loss_fn(input, target, **kwargs) + loss_fn(xt, target, **kwargs)

    sym.__name__ = sym.__qualname__ = f"symmetric_{name}"
    sym.__doc__ = (
        f"``{name}(x, y, **kw) + {name}(transpose(x, axes={axes}), y, **kw)`` "
        "(made by corelosses.symmetric_loss)."
    )
    return sym


register("transforms", "loss(x, y) + loss(x^T, y)", kind="transform", grad_argnums=())(
    symmetric_loss
)

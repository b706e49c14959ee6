"""Backend routing of the exact Euclidean distance transform (signed distance maps).

The array API has no distance transform, so each backend hands the binary
maps to the one it has and brings the result back into its own namespace:

- NumPy: :func:`scipy.ndimage.distance_transform_edt`;
- CuPy: :func:`cupyx.scipy.ndimage.distance_transform_edt` (on the GPU);
- PyTorch: detached, through NumPy (CPU) or DLPack to CuPy (CUDA, when CuPy
  is installed) and back to the tensor's device and dtype;
- float16/bfloat16 maps (whatever the backend) are cast to float32 first:
  NumPy, CuPy and DLPack have no bfloat16, and 0/1 are exact in float32;
- JAX: eagerly through NumPy; under ``jax.jit`` through
  :func:`jax.pure_callback`, so it traces (no gradient: the input is behind
  ``stop_gradient``);
- Dask: lazily with ``map_blocks``, after rechunking so that every block holds
  whole images (all spatial axes in one chunk; batch and class axes keep
  their chunks);
- anything else: through DLPack to NumPy and back with ``xp.asarray``.

Nothing here is imported at module level but NumPy: SciPy, CuPy, torch,
jax and dask are imported when an array of theirs arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["signed_distance", "signed_distance_numpy"]

_FNAME = "signed_distance_map"


def _not_binary() -> ValueError:
    return ValueError(
        f"{_FNAME}: 'target' must hold binary maps (0/1 or boolean), one per class; "
        "got values other than 0 and 1 (one-hot encode class indices first)"
    )


def _scipy_edt() -> Callable:
    from scipy.ndimage import distance_transform_edt

    return distance_transform_edt


def signed_distance_numpy(
    a: Any, channel_axis: int, mod: Any = np, edt: Callable | None = None
) -> Any:
    """Signed distance maps of a NumPy (or CuPy, ``mod=cupy``) array, float64.

    ``a`` has the batch on axis 0, classes on ``channel_axis`` and the
    spatial axes elsewhere. Per (sample, class) map ``m``:
    ``edt(~m) * ~m - (edt(m) - 1) * m`` (Kervadec et al.'s ``one_hot2dist``),
    and 0 where ``m`` is empty or full.
    """
    if edt is None:
        edt = _scipy_edt()
    a = mod.moveaxis(mod.asarray(a), channel_axis, 1)
    shape = a.shape
    flat = a.reshape((-1,) + tuple(shape[2:]))
    if not bool(mod.all(mod.logical_or(flat == 0, flat == 1))):
        raise _not_binary()
    pos = flat != 0
    out = mod.zeros(flat.shape, dtype=mod.float64)
    for i in range(flat.shape[0]):
        m = pos[i]
        if bool(m.any()) and not bool(m.all()):
            neg = mod.logical_not(m)
            out[i] = edt(neg) * neg - (edt(m) - 1.0) * m
    return mod.moveaxis(out.reshape(shape), 1, channel_axis)


def _cupy_parts():
    import cupy
    from cupyx.scipy.ndimage import distance_transform_edt

    return cupy, distance_transform_edt


def _on_block(a: Any, channel_axis: int) -> Any:
    """One array of whatever kind (NumPy or CuPy), e.g. a Dask block."""
    if type(a).__module__.split(".")[0] == "cupy":
        cupy, edt = _cupy_parts()
        return signed_distance_numpy(a, channel_axis, cupy, edt)
    return signed_distance_numpy(np.asarray(a), channel_axis)


# -------------------------------------------------------------- per backend
def _numpy(be, x, ax, dtype):
    return be.xp.astype(be.xp.asarray(signed_distance_numpy(np.asarray(x), ax)), dtype)


def _cupy(be, x, ax, dtype):
    cupy, edt = _cupy_parts()
    out = signed_distance_numpy(cupy.asarray(x), ax, cupy, edt)
    return be.xp.astype(be.xp.asarray(out), dtype)


def _torch(be, x, ax, dtype):
    return _torch_maps_function().apply(x, ax, dtype)


_TORCH_MAPS: Any = None


def _torch_maps_function():
    """The maps as an ``autograd.Function`` (built once, torch imported by then): no
    gradient, and ``torch.func`` composes with it. Under ``grad`` / ``vjp`` its forward
    sees the values beneath the transforms' wrappers; under ``vmap`` its rule computes
    each sample's maps."""
    global _TORCH_MAPS
    if _TORCH_MAPS is None:
        import torch

        class _SignedDistance(torch.autograd.Function):
            @staticmethod
            def forward(x, ax, dtype):
                return _torch_values(x, ax, dtype)

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.mark_non_differentiable(output)

            @staticmethod
            def backward(ctx, g):
                return None, None, None

            @staticmethod
            def vmap(info, in_dims, x, ax, dtype):
                if in_dims[0] is None:
                    return _SignedDistance.apply(x, ax, dtype), None
                x = x.movedim(in_dims[0], 0)
                maps = [_SignedDistance.apply(x[i], ax, dtype) for i in range(x.shape[0])]
                return torch.stack(maps), 0

        _TORCH_MAPS = _SignedDistance
    return _TORCH_MAPS


def _torch_values(x, ax, dtype):
    import torch

    x = x.detach()
    if x.device.type == "cuda":
        try:
            cupy, edt = _cupy_parts()
        except ImportError:
            cupy = None
        if cupy is not None:
            a = x if x.dtype != torch.bool else x.to(torch.uint8)
            out = signed_distance_numpy(cupy.from_dlpack(a.contiguous()), ax, cupy, edt)
            return torch.from_dlpack(out).to(dtype=dtype)
    out = signed_distance_numpy(x.cpu().numpy(), ax)
    return torch.from_numpy(out).to(device=x.device, dtype=dtype)


def _jax(be, x, ax, dtype):
    import jax
    import jax.numpy as jnp

    x = jax.lax.stop_gradient(x)
    if not isinstance(x, jax.core.Tracer):
        return jnp.asarray(signed_distance_numpy(np.asarray(x), ax), dtype=dtype)
    np_dtype = np.dtype(dtype)

    def callback(a):
        return signed_distance_numpy(np.asarray(a), ax).astype(np_dtype)

    return jax.pure_callback(
        callback, jax.ShapeDtypeStruct(tuple(x.shape), np_dtype), x, vmap_method="sequential"
    )


def _dask(be, x, ax, dtype):
    spatial = {i: -1 for i in range(1, x.ndim) if i != ax}
    x = x.rechunk(spatial)
    out = x.map_blocks(_on_block, ax, dtype=np.float64, meta=np.empty((0,) * x.ndim))
    return be.xp.astype(out, dtype)


def _generic(be, x, ax, dtype):
    a = np.from_dlpack(x)
    out = signed_distance_numpy(a, ax)
    return be.xp.astype(be.xp.asarray(out), dtype)


_ROUTES = {
    "numpy": _numpy,
    "cupy": _cupy,
    "torch": _torch,
    "jax": _jax,
    "dask": _dask,
}


def signed_distance(be: Any, x: Any, channel_axis: int, dtype: Any) -> Any:
    """Signed distance maps of ``x`` (batch on axis 0, classes on ``channel_axis``).

    Returns an array of ``be``'s namespace and of ``dtype``, on ``x``'s
    device. Raises ``ValueError`` for non-binary maps where the values can be
    read (eagerly; for Dask at compute time, under ``jax.jit`` at run time).
    """
    route = _ROUTES.get(be.name, _generic)
    if be.is_half(x.dtype):
        # NumPy has no bfloat16 (torch's .numpy() and DLPack refuse it) and CuPy
        # neither; 0/1 maps are exact in float32, so every route gets float32.
        x = be.xp.astype(x, be.xp.float32)
    elif route is _generic and be.xp.isdtype(x.dtype, "bool"):
        x = be.xp.astype(x, be.xp.uint8)  # not every DLPack exporter takes bool
    return route(be, x, channel_axis, dtype)

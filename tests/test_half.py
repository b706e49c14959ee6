"""Half precision over every catalog loss (issue 8, part 4).

float16 and bfloat16 inputs (every float array of the call in half) on torch
and jax must

* compute in float32: the result is float32 and equals the float32 result on
  the same (half-rounded) values to ``rtol=1e-5``;
* stay within the documented tolerance of the float32 result on the
  unrounded float64 example (``HALF_TOL``, the input rounding of the format
  propagated through a well-conditioned loss; docs/reliability.md);
* never give inf/NaN (value or gradient) where float32 is finite, including
  at extreme logits, where a loss computed in half would overflow
  (fp16 ``1 - sigmoid(9.4) == 0``, ``exp(12) > 65504``).
"""

from __future__ import annotations

import numpy as np
import pytest
from _reliability import (
    IDS,
    LOSSES,
    call_native,
    cast_floats,
    example,
    grad_native,
    has,
    is_arr,
    without,
)

#: (rtol, atol) of a half-precision input against float32 on the unrounded input
HALF_TOL = {"float16": (5e-3, 5e-3), "bfloat16": (4e-2, 4e-2)}
#: logits a half-precision computation could not survive (all representable in both formats)
HALF_EXTREMES = np.array([9.5, -9.5, 12.0, -12.0, 88.0, -88.0, 1e4, -1e4, 0.0, 3.0])


def _half(tb, v, dtype):
    if not is_arr(v) or v.dtype.kind != "f":
        return tb.asarray(v) if is_arr(v) else v
    if tb.name == "torch":
        return tb.torch.from_numpy(np.ascontiguousarray(v)).to(getattr(tb.torch, dtype))
    import jax.numpy as jnp

    return jnp.asarray(v).astype(getattr(jnp, dtype))


def _to32(tb, v):
    if not hasattr(v, "dtype") or "float" not in str(v.dtype):
        return v
    return v.float() if tb.name == "torch" else v.astype("float32")


def _run(ad, info, args, kw, dtype):
    if ad.name not in info.backends or not info.grad_argnums:
        pytest.skip("not supported")
    ha = [_half(ad, v, dtype) for v in args]
    hk = {n: _half(ad, v, dtype) for n, v in kw.items()}
    out = call_native(ad, info.fn, *ha, **hk)
    assert "float32" in str(out.dtype), f"half input gave a {out.dtype} result"
    out = ad.to_numpy(out)
    # float32 on the same rounded values: computing in float32 means equal
    ra = [_to32(ad, v) for v in ha]
    rk = {n: _to32(ad, v) for n, v in hk.items()}
    rounded = ad.to_numpy(call_native(ad, info.fn, *ra, **rk))
    # float32 on the unrounded inputs
    fa = [cast_floats(ad, v, "float32") for v in args]
    fk = {n: cast_floats(ad, v, "float32") for n, v in kw.items()}
    ref = ad.to_numpy(call_native(ad, info.fn, *fa, **fk))
    assert np.array_equal(np.isfinite(out), np.isfinite(ref)) or np.all(np.isfinite(out))
    np.testing.assert_allclose(out, rounded, rtol=1e-5, atol=1e-6)
    rtol, atol = HALF_TOL[dtype]
    scale = max(1.0, float(np.max(np.abs(ref))))
    np.testing.assert_allclose(out, ref, rtol=rtol, atol=atol * scale)
    gh = grad_native(ad, info.fn, *ha, argnums=info.grad_argnums, **hk)
    g32 = grad_native(ad, info.fn, *fa, argnums=info.grad_argnums, **fk)
    for a, b in zip(gh, g32):
        if np.all(np.isfinite(b)):
            assert np.all(np.isfinite(a)), "half gradient not finite where float32's is"
        gscale = max(1.0, float(np.max(np.abs(b))))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * gscale)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_half_matches_float32(ad, info, dtype):
    args, kw = example(info)
    _run(ad, info, args, kw, dtype)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_half_extreme_logits(ad, info, dtype):
    args, kw = example(info)
    if not has(info, "from_logits"):
        pytest.skip("input is not logits")
    kw["from_logits"] = True
    x = np.array(args[0])
    x.reshape(-1)[:] = np.resize(HALF_EXTREMES, x.size)
    _run(ad, info, (x, *args[1:]), without(kw), dtype)

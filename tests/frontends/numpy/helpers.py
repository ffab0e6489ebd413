"""Run one function with real NumPy and with daybreak.numpy and compare values and dtypes
(or the exception types when NumPy raises)."""

import numpy as np

import daybreak.numpy as dnp

EXACT = "exact"


def outcome(fn, module, *args):
    """The result as a NumPy value (computed), or the exception raised."""
    try:
        with np.errstate(all="ignore"):
            result = fn(module, *args)
            return np.asarray(result) if module is dnp else result
    except Exception as error:  # noqa: BLE001 - we compare what each side raises
        return error


def assert_same(fn, *arrays, rtol=None, lazy_args=True):
    """`fn(np, *arrays)` and `fn(dnp, *wrapped)` agree: same exception type, or same dtype,
    shape and values (exactly, or within `rtol`)."""
    want = outcome(fn, np, *arrays)
    wrapped = [dnp.asarray(a) if lazy_args and isinstance(a, np.ndarray) else a for a in arrays]
    got = outcome(fn, dnp, *wrapped)
    if isinstance(want, Exception):
        assert isinstance(got, type(want)), f"NumPy raised {want!r}, daybreak gave {got!r}"
        return
    assert not isinstance(got, Exception), f"daybreak raised {got!r}, NumPy gave {want!r}"
    want = np.asarray(want)
    got = np.asarray(got)
    assert got.dtype == want.dtype, f"dtype {got.dtype} != NumPy's {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape} != NumPy's {want.shape}"
    if rtol is None or want.dtype.kind not in "fc":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0, equal_nan=True)

"""Fixtures for the NumPy frontend tests: compile everything (no eager path, no tier-0 NumPy
run while compiling), under `strict=True` so that a fallback to NumPy fails the test, and
restore the settings afterwards.

A test that expects fallbacks (a known gap of daybreak) says which:
`@pytest.mark.allow_fallbacks("numpy: ufunc nextafter", ...)` runs it with strict mode off and then
fails it if any fallback happened whose reason matches none of the listed ones (substrings or
regexes, see `helpers.allowed_fallbacks`, also usable as a context manager)."""

import warnings

import numpy as np
import pytest

import daybreak as db

from .helpers import allowed_fallbacks


@pytest.fixture(autouse=True)
def compiled_always():
    """Force compilation (tests would otherwise take NumPy's eager path on small arrays) and
    make every fallback an error."""
    before = db.config(eager_below=0, strict=True, compile_in_background=False)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
    db.config(**before)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    reasons = [reason for mark in item.iter_markers("allow_fallbacks") for reason in mark.args]
    if not reasons:
        return (yield)
    with allowed_fallbacks(*reasons):
        return (yield)


def _snapshots_by(kind: str):
    """Snapshots of the user's memory held by write guards on every buffer with a whole page
    (`snapshots.MIN_BYTES = 0`), or copies only, until the generator is closed."""
    from daybreak.frontends import snapshots

    if kind == "guarded" and snapshots.load_now() is None:
        pytest.skip(f"no write guards on this platform: {snapshots.stats().get('unavailable')}")
    before = snapshots.MIN_BYTES
    snapshots.MIN_BYTES = 0 if kind == "guarded" else 1 << 62
    yield kind
    snapshots.MIN_BYTES = before


@pytest.fixture(params=["guarded", "copied"])
def snapshot_kinds(request):
    """Run a test with both kinds of snapshot of the user's memory."""
    yield from _snapshots_by(request.param)


@pytest.fixture
def guarded_snapshots():
    """Run a test with write guards on every buffer with a whole page."""
    yield from _snapshots_by("guarded")

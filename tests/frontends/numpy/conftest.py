"""Fixtures for the NumPy frontend tests: compile everything (no eager path) by default, and
restore the settings afterwards."""

import warnings

import numpy as np
import pytest

import daybreak as db


@pytest.fixture(autouse=True)
def compiled_always():
    """Force compilation (tests would otherwise take NumPy's eager path on small arrays)."""
    before = db.config(eager_below=0, strict=False, compile_in_background=False)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
    db.config(**before)

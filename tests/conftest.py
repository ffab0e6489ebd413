"""Shared pytest configuration: hypothesis profiles.

`ci` (the default): no per-example deadline (the first examples pay for imports and grammar
building; shared machines are noisy), randomized, and no "too slow" health check, since program
generation is legitimately slow-ish. `dev`: fewer examples for a quick local loop. `thorough`:
ten times the examples, for hunting bugs. Pick one with HYPOTHESIS_PROFILE=<name>.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, derandomize=False, suppress_health_check=[HealthCheck.too_slow])

# Under CI (CI=true) examples are derandomized: a submission lands or not on what was tested,
# never on a lucky draw. Local runs stay random, to keep finding new bugs.
settings.register_profile("ci", **{**_COMMON, "derandomize": bool(os.environ.get("CI"))})
settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("thorough", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

"""The VML-style C library of tests/annotations/data, compiled once per test session with the
system C compiler (tests that need it skip where there is none)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def vml_path(tmp_path_factory) -> str:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler on this machine")
    out = tmp_path_factory.mktemp("vml") / "libvml.so"
    done = subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", str(DATA / "vml.c"), "-o", str(out), "-lm"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"compiling vml.c failed: {done.stderr[:500]}")
    return str(out)


@pytest.fixture(scope="session")
def vml_header() -> str:
    return (DATA / "vml.h").read_text()


@pytest.fixture(autouse=True)
def pending_first_calls(monkeypatch):
    """Cold code records its first calls, as it does for big work (`sites.BIG_CALL`): the
    pending daybreak.numpy values these tests hand to annotated calls are made by a test's
    first lines, where small work's first calls would be NumPy's at once."""
    from daybreak.frontends import sites

    monkeypatch.setattr(sites, "BIG_CALL", 0)

"""The native boundary under CPython's debug allocator (issue #10): a slice of the backend
tests — bool bytes, strings, memory and fault injection, where buffers cross between Python
and native code and blocks are adopted and freed — runs in a child process with
`PYTHONMALLOC=debug`, which fills freed and fresh memory with patterns and checks the guard
bytes around every Python allocation: a use after free or an overrun of a Python-owned
buffer makes that run fail where the normal allocator would let it pass."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLICE = [
    "tests/backends/test_llvm_bool_bytes.py",
    "tests/backends/test_llvm_strings.py",
    "tests/backends/test_llvm_memory.py",
    "tests/backends/test_llvm_fault_injection.py",
]


def test_a_slice_of_the_backend_tests_passes_under_the_debug_allocator():
    env = dict(os.environ, PYTHONMALLOC="debug")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *SLICE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "error" not in done.stdout.splitlines()[-1]

"""Ctrl-C stops a long native run (issue #10): KeyboardInterrupt within a fraction of a second
(native code runs with the GIL released, so Python alone would wait for the run to end), the
run's memory freed, and later runs right.

Each program runs in a child process for hours unless stopped; the test sends the child
SIGINT once the run has started and gives it a generous 10 s to report back.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROGRAMS = {
    # a vectorised reduction
    "sum": (
        "|n: i64| result(for(rangeiter(0L, n, 1L), merger[f64,+], |b, i, x|"
        " merge(b, sqrt(f64(x)))))",
        "10**13",
    ),
    # one outer iteration, all the work in an inner loop
    "inner_loop": (
        "|n: i64| result(for(rangeiter(0L, 2L, 1L), merger[f64,+], |b, i, r|"
        " merge(b, result(for(rangeiter(0L, n, 1L), merger[f64,+], |c, j, x|"
        " merge(c, f64(x + r)))))))",
        "10**13",
    ),
    # a filter that keeps growing its output
    "filter": (
        "|n: i64| result(for(rangeiter(0L, n, 1L), appender[i64], |b, i, x|"
        " if(x % 1000L == 0L, merge(b, x), b)))",
        "10**13",
    ),
    "dictmerger": (
        "|n: i64| result(for(rangeiter(0L, n, 1L), dictmerger[i64,i64,+], |b, i, x|"
        " merge(b, {x % 1000L, 1L})))",
        "10**13",
    ),
    # no loop at all: iterate's steps
    "iterate": (
        "|n: i64| iterate({0L, 0.0}, |s| {{s.$0 + 1L, s.$1 + f64(s.$0)}, s.$0 < n})",
        "10**13",
    ),
}

CHILD = textwrap.dedent(
    """
    import signal, sys
    import daybreak as db
    from tests.backends.native_heap import heap_in_use
    # Python leaves SIGINT ignored when the parent ignored it (a background job): not here.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    text, n, threads = sys.argv[1], eval(sys.argv[2]), int(sys.argv[3])
    db.config(threads=threads)
    f = db.compile(text)
    small = str(f(1000))
    in_use = heap_in_use
    before = in_use()
    print("running", flush=True)
    try:
        f(n)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    kept = in_use() - before
    assert kept < (8 << 20), f"{kept} bytes kept after the interrupted run"
    assert str(f(1000)) == small
    print("ok", flush=True)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Ctrl-C is watched on Linux")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", PROGRAMS)
def test_ctrl_c_stops_a_long_run(name, threads):
    text, n = PROGRAMS[name]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, text, n, str(threads)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout.readline().strip() == "running", child.stderr.read()[-3000:]
        time.sleep(1.0)  # well into the run
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert out.split() == ["interrupted", "ok"], err[-3000:]
    assert child.returncode == 0, err[-3000:]


def _functions(llvm_text: str) -> dict[str, str]:
    """Each function of an LLVM IR module's text: name -> body."""
    import re

    found = {}
    for match in re.finditer(r'define [^@]*@"?([\w.]+)"?\(', llvm_text):
        end = llvm_text.find("\n}\n", match.start())
        found[match.group(1)] = llvm_text[match.start() : end]
    return found


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        # the table's rehash when it grows, and the merge of two threads' tables
        (PROGRAMS["dictmerger"][0], ("db.dict.grow", "merge_tables", "flush", "tovec")),
        # a groupmerger's result: counting, placing and pointing at the groups
        (
            "|n: i64| result(for(rangeiter(0L, n, 1L), groupmerger[i64,i64], |b, i, x|"
            " merge(b, {x % 7L, x})))",
            ("merge_tables", "result", "tovec"),
        ),
    ],
)
def test_the_runtimes_own_loops_over_tables_watch_ctrl_c(text, wanted):
    """Loops as long as the data that are not loops of the program — a table's rehash, the
    merge of two threads' tables, a groupmerger's result — check for Ctrl-C too (every 64K
    iterations), so a long one stops like the program's own loops."""
    import daybreak as db
    from daybreak.backends.llvm import LLVMBackend
    from daybreak.ir.typecheck import typecheck

    llvm_text, _ = LLVMBackend().lower(typecheck(db.ir.parse(text)))
    functions = _functions(llvm_text)
    for part in wanted:
        named = [name for name in functions if part in name and name.startswith("db.")]
        assert named, (part, sorted(functions))
        assert any("db_poll" in functions[name] for name in named), (part, named)

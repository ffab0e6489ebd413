"""Native allocations that cannot be had raise MemoryError (issue #10): the run's blocks are
freed, the process goes on, and later runs are right. They used to write through a null
block (or a wrapped-round size) and take the process down."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import daybreak as db

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HUGE = [
    # a map over 10^15 iterations: 8 PB of output
    (
        "|n: i64| result(for(rangeiter(0L, n, 1L), appender[f64], |b, i, x| merge(b, f64(x))))",
        10**15,
    ),
    # 2^62 elements of 8 bytes: the size overflows an i64 (it wrapped round to 0 bytes)
    (
        "|n: i64| result(for(rangeiter(0L, n, 1L), appender[f64], |b, i, x| merge(b, f64(x))))",
        1 << 62,
    ),
    # two merges per iteration: the room reserved overflows before the size does
    (
        "|n: i64| result(for(rangeiter(0L, n, 1L), appender[i64], |b, i, x|"
        " merge(merge(b, x), x)))",
        (1 << 62) + 5,
    ),
    # inner loops asking for 2^61 elements each into an outer appender
    (
        "|n: i64| result(for(rangeiter(0L, 3L, 1L), appender[i64], |b, i, x|"
        " for(rangeiter(0L, n, 1L), b, |c, j, y| merge(c, y))))",
        1 << 61,
    ),
    # a scan over 10^15 iterations (a scanner grows as an appender does)
    (
        "|n: i64| result(for(rangeiter(0L, n, 1L), scanner[i64,+], |s, i, x| merge(s, x)))",
        10**15,
    ),
    # scans per row, 2^61 elements each, into an outer appender
    (
        "|n: i64| result(for(rangeiter(0L, 3L, 1L), appender[i64], |b, i, x|"
        " for(result(for(rangeiter(0L, n, 1L), scanner[i64,max], |s, j, y| merge(s, y))), b,"
        " |c, k, z| merge(c, z))))",
        1 << 61,
    ),
    # a vector of 2^60 structs {i64, i64}
    (
        "|n: i64| result(for(rangeiter(0L, n, 1L), appender[{i64,i64}], |b, i, x|"
        " merge(b, {x, x})))",
        1 << 60,
    ),
]


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    before = db.config(threads=request.param, grain=1024)
    yield request.param
    db.config(**before)


@pytest.mark.parametrize("text, n", HUGE)
def test_an_allocation_too_big_raises_memory_error(text, n, threads):
    f = db.compile(text)
    want = db.compile(text, backend="interp")(5)
    with pytest.raises(MemoryError):
        f(n)
    np.testing.assert_array_equal(f(5), want)


def test_numpy_zeros_too_big_for_memory():
    import daybreak.numpy as dnp

    with pytest.raises(MemoryError):
        np.asarray(dnp.zeros(10**15))
    np.testing.assert_array_equal(np.asarray(dnp.zeros(10) + 1.0), np.ones(10))


# Under a limit on the address space, big but plausible runs: each grows until malloc fails.
LIMITED = textwrap.dedent(
    """
    import resource, sys
    import numpy as np, daybreak as db
    from tests.backends.native_heap import heap_in_use
    db.config(threads=int(sys.argv[1]))
    programs = {
        "appender": ("|n: i64| result(for(rangeiter(0L, n, 1L), appender[f64], |b, i, x|"
                     " merge(b, f64(x))))", 10**9),
        "filter": ("|n: i64| result(for(rangeiter(0L, n, 1L), appender[i64], |b, i, x|"
                   " if(x % 3L == 0L, merge(b, x), b)))", 10**10),
        "dictmerger": ("|n: i64| result(for(rangeiter(0L, n, 1L), dictmerger[i64,i64,+],"
                       " |b, i, x| merge(b, {x * 7919L, 1L})))", 3 * 10**8),
        "groupmerger": ("|n: i64| result(for(rangeiter(0L, n, 1L), groupmerger[i64,i64],"
                        " |b, i, x| merge(b, {x * 7919L, x})))", 3 * 10**8),
    }
    compiled = {name: db.compile(text) for name, (text, _) in programs.items()}
    small = {name: str(f(1000)) for name, f in compiled.items()}
    def in_use():
        return heap_in_use(collect=False)
    pages = int(open("/proc/self/statm").read().split()[0])
    limit = pages * resource.getpagesize() + (512 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    before = in_use()
    for name, (text, n) in programs.items():
        try:
            compiled[name](n)
        except MemoryError:
            pass  # what must happen; a run that returns is the failure below
        else:
            raise SystemExit(f"{name}: no MemoryError")
        assert in_use() - before < (16 << 20), f"{name}: {in_use() - before} bytes kept"
        assert str(compiled[name](1000)) == small[name], f"{name}: wrong after"
    print("ok")
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS, mallinfo2: Linux")
@pytest.mark.parametrize("threads", [1, 2])
def test_runs_that_outgrow_the_address_space(threads):
    out = subprocess.run(
        [sys.executable, "-c", LIMITED, str(threads)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


FAILING_THREAD = textwrap.dedent(
    """
    import sys
    import daybreak as db
    from daybreak.backends.llvm.runtime_ir import failing_allocation
    db.config(threads=2, grain=1024)
    # a filter whose threads both grow their output for hours: 10^13 iterations
    f = db.compile("|n: i64| result(for(rangeiter(0L, n, 1L), appender[i64], |b, i, x|"
                   " if(x % 1000L == 0L, merge(b, x), b)))")
    small = f(10_000).tolist()
    for k in (8, 10, 12):  # (allocations the threads make in their shares: their outputs)
        with failing_allocation(k):
            try:
                f(10**13)
                print("finished", flush=True)
            except MemoryError:
                print("memory", flush=True)
    assert f(10_000).tolist() == small
    print("ok", flush=True)
    """
)


def test_a_failed_allocation_in_one_thread_stops_the_others():
    """When one thread of a parallel loop cannot allocate, the run's other threads stop at
    their next check (the run's shared abort word), instead of running their share to the
    end before the MemoryError: here each share would take hours. (A generous bound for
    the child, as for Ctrl-C: no wall-clock assert on the work itself.)"""
    child = subprocess.run(
        [sys.executable, "-c", FAILING_THREAD],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert child.stdout.split() == ["memory", "memory", "memory", "ok"], child.stderr[-3000:]

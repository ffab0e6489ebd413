"""Issue #9's NumPy kernel suite: plain NumPy kernels (NPBench ports and our own), each run in
its own process per peer (NumPy, daybreak.numpy, and Numba/numexpr where a version exists).
Per kernel: agreement with NumPy, warm ratio, first-call ratio, peak-memory ratio, daybreak's
fallbacks and native runs. Prints a markdown table and writes the results as JSON.

    python bench/numpy/suite/run.py                      # preset S, all kernels
    python bench/numpy/suite/run.py --preset M --timeout 300
    python bench/numpy/suite/run.py --only gemm,jacobi_2d --peers numpy,daybreak
    python bench/numpy/suite/run.py --daybreak-rev HEAD  # daybreak from a git revision,
                                                         # not the (shared) working tree

Each (kernel, peer) is one child process (`--child`), so peak memory is that peer's own:
`ru_maxrss` at the end minus `ru_maxrss` after the imports, the input creation and the first
input copy (no tracemalloc: nothing slows the timed calls). In the child: the inputs come from
the kernel's `initialize(preset, rng)`; before every call the array inputs are copied with
NumPy's `.copy()` outside the timed region (kernels may write their inputs); the first call is
timed alone (daybreak compiles there: DAYBREAK_CACHE=0; its own modules are byte-compiled
first, as an install does), then warm calls, best of N with N
chosen so that the warm calls take about `--budget` seconds. The daybreak peer calls
`kernel(daybreak.numpy, *inputs)` with each array input wrapped by `daybreak.numpy.asarray`
and materialises every output with `numpy.asarray`, both inside the timed region. The parent
compares each peer's saved outputs with NumPy's.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
KERNELS_DIR = os.path.join(HERE, "kernels")
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PEERS = ("numpy", "daybreak", "numba", "numexpr")
HOOKS = {"numba": "numba_kernel", "numexpr": "numexpr_kernel"}  # module function -> callable


def all_kernels() -> list[str]:
    return sorted(
        f[:-3] for f in os.listdir(KERNELS_DIR) if f.endswith(".py") and not f.startswith("_")
    )


def load(name: str):
    if KERNELS_DIR not in sys.path:
        sys.path.insert(0, KERNELS_DIR)
    return importlib.import_module(name)


def maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def vm_kb() -> dict:
    """VmRSS, VmHWM (peak RSS) and RssFile (pages mapped from files: libraries' code) of this
    process, KiB; {} where /proc lacks them."""
    found = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "RssFile:")):
                    key, value = line.split(":")
                    found[key] = int(value.split()[0])
    except OSError:
        pass
    return found


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux `clear_refs` 5): a peak measured after this is
    the peak of what follows, not of the imports or the input creation before it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_since(base_rss: int | None) -> int | None:
    now = vm_kb()
    if base_rss is None or "VmHWM" not in now:
        return None
    return max(now["VmHWM"] - base_rss, 0)


# ---------------------------------------------------------------------------------------------
# child: one kernel, one peer


def _compile_waiter():
    """daybreak's "block until the background compiles are done", where it has one."""
    try:
        from daybreak.frontends import scheduler
    except ImportError:
        return None
    return getattr(scheduler, "wait_for_compiles", None)


def child(
    name: str,
    peer: str,
    preset: str,
    outdir: str,
    budget: float,
    max_repeat: int,
    threads: int,
    timeout: float,
) -> int:
    result = {
        "kernel": name,
        "peer": peer,
        "preset": preset,
        "status": "error",
        "loadavg_start": os.getloadavg()[0],
        "phase": "setup",
    }
    path = os.path.join(outdir, f"{name}.{peer}")
    # Where it was when the parent's timeout comes: every thread's stack, on stderr.
    faulthandler.dump_traceback_later(max(timeout - 3.0, 1.0), exit=False)

    def checkpoint(phase: str) -> None:  # what a timeout leaves behind
        result["phase"] = phase
        with open(path + ".partial.json", "w") as f:
            json.dump(result, f, default=str)

    try:
        import numpy

        module = load(name)
        inputs = module.initialize(preset, numpy.random.default_rng(42))
        if not isinstance(inputs, tuple):
            inputs = (inputs,)
        db = None
        if peer == "daybreak":
            import daybreak as db
            import daybreak.numpy as dnp

            db.config(threads=threads)
            result["daybreak_from"] = os.path.dirname(os.path.dirname(dnp.__file__))

            def call(args):
                wrapped = [dnp.asarray(a) if isinstance(a, numpy.ndarray) else a for a in args]
                outs = module.kernel(dnp, *wrapped)
                outs = outs if isinstance(outs, tuple) else (outs,)
                return tuple(numpy.asarray(o) for o in outs)
        elif peer == "numpy":

            def call(args):
                outs = module.kernel(numpy, *args)
                outs = outs if isinstance(outs, tuple) else (outs,)
                return tuple(numpy.asarray(o) for o in outs)
        else:
            if peer == "numba":
                import numba

                numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            else:
                import numexpr

                numexpr.set_num_threads(threads)
            made = {}

            def call(args):
                if "fn" not in made:  # making it (Numba compiles lazily) is part of call one
                    made["fn"] = getattr(module, HOOKS[peer])()
                outs = made["fn"](*args)
                outs = outs if isinstance(outs, tuple) else (outs,)
                return tuple(numpy.asarray(o) for o in outs)

        def fresh():
            return tuple(a.copy() if isinstance(a, numpy.ndarray) else a for a in inputs)

        args = fresh()
        result["baseline_kb"] = base = maxrss_kb()
        rss = vm_kb().get("VmRSS") if reset_peak() else None
        if db is not None:
            db.stats(reset=True)
        checkpoint("first call")
        start = time.perf_counter()
        outs = call(args)
        result["first_s"] = time.perf_counter() - start
        result["maxrss_first_kb"] = maxrss_kb() - base
        result["peak_first_kb"] = peak_since(rss)
        if db is not None:
            result["first_stats"] = db.stats()
        checkpoint("saving outputs")
        numpy.savez(path + ".npz", *outs)
        del outs, args

        checkpoint("settling (background compiles)")
        if db is not None:  # let background compiles finish: the warm calls are steady state
            wait = _compile_waiter()
            if wait is not None:
                settle_start, compiles = time.perf_counter(), -1
                result["settle_calls"] = 0
                wait()
                while result["settle_calls"] < 3 and db.stats()["compiles"] != compiles:
                    compiles = db.stats()["compiles"]
                    args = fresh()
                    call(args)
                    del args
                    wait()
                    result["settle_calls"] += 1
                result["settle_s"] = time.perf_counter() - settle_start
            result["settled_stats"] = db.stats(reset=True)
        checkpoint("warm calls")

        times = []
        deadline = None
        rss = files = None
        while True:
            args = fresh()
            if rss is None and reset_peak():  # the warm calls' own peak
                now = vm_kb()
                rss, files = now.get("VmRSS"), now.get("RssFile")
            start = time.perf_counter()
            outs = call(args)
            times.append(time.perf_counter() - start)
            del outs, args
            if deadline is None:  # after the first warm call: how many more fit the budget
                want = max(1, min(max_repeat - 1, int(budget / max(times[0], 1e-6))))
                deadline = want
            if len(times) >= deadline + 1:
                break
        result["warm_s"] = min(times)
        result["warm_median_s"] = sorted(times)[len(times) // 2]
        result["repeats"] = len(times)
        result["maxrss_kb"] = maxrss_kb() - base  # ru_maxrss growth over the whole run
        result["peak_warm_kb"] = peak_since(rss)
        if files is not None and "RssFile" in vm_kb():
            # of which pages of files mapped meanwhile: a library's code, LLVM's (~70 MB)
            # when daybreak's first compile comes in the warm calls; shared and clean
            result["file_pages_warm_kb"] = max(vm_kb()["RssFile"] - files, 0)
        if db is not None:
            result["warm_stats"] = db.stats()  # over the len(times) warm calls
            result["stats"] = result["warm_stats"]
        result["status"] = "ok"
        result["loadavg_end"] = os.getloadavg()[0]
        code = 0
    except Exception as exc:  # noqa: BLE001 - every failure is a result to report
        result["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        result["traceback"] = traceback.format_exc()[-6000:]
        if db is not None:
            try:
                result["stats"] = db.stats()
            except Exception:  # noqa: BLE001
                pass
        code = 1
    with open(path + ".json", "w") as f:
        json.dump(result, f, default=str)
    return code


# ---------------------------------------------------------------------------------------------
# parent


def package_dirs(root: str) -> dict[str, str]:
    """pyproject's package-dir mapping of the tree at `root`: package -> folder."""
    import tomllib

    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]["package-dir"]


def build_snapshot(rev: str) -> str:
    """A package tree of daybreak at git revision `rev` (pyproject's package-dir layout), so
    that the children import a fixed daybreak, not a working tree others are editing."""

    sha = subprocess.check_output(["git", "-C", REPO, "rev-parse", rev], text=True).strip()
    root = os.path.join(tempfile.gettempdir(), f"daybreak-suite-{sha[:12]}")
    pkg = os.path.join(root, "pkg")
    if os.path.isdir(os.path.join(pkg, "daybreak")):
        return pkg
    src = os.path.join(root, "src")
    os.makedirs(src, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", REPO, "archive", sha], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
    for package, folder in sorted(package_dirs(src).items(), key=lambda kv: kv[0].count(".")):
        target = os.path.join(pkg, *package.split("."))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            os.symlink(os.path.join(src, folder), target)
    with open(os.path.join(root, "COMMIT"), "w") as f:
        f.write(sha + "\n")
    return pkg


def compile_bytecode(src: str | None) -> None:
    """Byte-compile the daybreak the children import (`src`, else the installed one), as
    pip's install does: a first call that imports part of daybreak (the LLVM backend, on its
    first compile) must not time Python compiling its source, which no user's run does
    (children inherit PYTHONDONTWRITEBYTECODE where it is set, so they would, every time)."""
    import compileall
    import importlib.util

    folders = set()
    if src is not None:  # (a snapshot: its packages are symlinks, which compileall skips)
        for name in os.listdir(os.path.join(src, "daybreak")):
            folders.add(os.path.realpath(os.path.join(src, "daybreak", name)))
        folders.add(os.path.realpath(os.path.join(src, "daybreak")))
    else:
        for name in package_dirs(REPO):
            spec = importlib.util.find_spec(name)
            folders.update((spec and spec.submodule_search_locations) or ())
    for folder in sorted(f for f in folders if os.path.isdir(f)):
        compileall.compile_dir(folder, quiet=2)


def run_child(name, peer, opts, outdir, env) -> dict:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        name,
        peer,
        "--preset",
        opts.preset,
        "--outdir",
        outdir,
        "--budget",
        str(opts.budget),
        "--max-repeat",
        str(opts.max_repeat),
        "--threads",
        str(opts.threads),
        "--timeout",
        str(opts.timeout),
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=opts.timeout)
        # faulthandler's dump of every thread, 3 s before the timeout, can itself crash the
        # child while other threads run (daybreak's compile thread): that is the timeout too.
        timed_out = proc.returncode != 0 and "Timeout (" in (err or "")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        timed_out = True
    if timed_out:
        result = {"kernel": name, "peer": peer, "status": "timeout", "wall_s": opts.timeout}
        partial = os.path.join(outdir, f"{name}.{peer}.partial.json")
        if os.path.exists(partial):
            with open(partial) as f:
                result.update(json.load(f), status="timeout")
        where = hung_at(err or "")
        result["hung_at"] = where
        phase = result.get("phase", "?")
        first = f", first call took {result['first_s']:.1f} s" if "first_s" in result else ""
        died = (
            ""
            if proc.returncode == -9
            else f" (exit code {proc.returncode} while faulthandler dumped the stacks)"
        )
        result["error"] = f"timeout after {opts.timeout:.0f} s in the {phase}{first}{died}" + (
            f"; stack: {where}" if where else ""
        )
        return result
    path = os.path.join(outdir, f"{name}.{peer}.json")
    if os.path.exists(path):
        with open(path) as f:
            result = json.load(f)
    else:  # killed (memory?) or crashed in native code
        tail = (err or "").strip().splitlines()[-5:]
        result = {
            "kernel": name,
            "peer": peer,
            "status": "crash",
            "error": f"exit code {proc.returncode}: " + " | ".join(tail),
        }
    result["wall_s"] = time.perf_counter() - start
    if result["status"] != "ok" and err:
        result.setdefault("stderr_tail", err[-3000:])
    return result


def hung_at(stderr: str) -> str:
    """From faulthandler's dump of the main thread (most recent call first): the kernel's line,
    the daybreak function it called, and the innermost frame."""
    blocks = stderr.split("Thread 0x")
    main = [b for b in blocks if "run.py" in b]
    if not main:
        return ""
    frames = [ln.strip() for ln in main[-1].splitlines() if ln.strip().startswith("File ")]

    def short(frame: str) -> str:
        for marker in ("/daybreak/", "/kernels/", "/lib/python"):
            if marker in frame:
                return frame.replace(frame[frame.index('"') + 1 : frame.index(marker) + 1], "")
        return frame

    if not frames:
        return ""
    at = next((i for i, f in enumerate(frames) if "/kernels/" in f), len(frames))
    entry = next((f for f in reversed(frames[:at]) if "/daybreak/" in f), "")
    chain = [frames[at]] if at < len(frames) else []
    chain += [f for f in (entry, frames[0]) if f and f not in chain]
    return " -> ".join(short(f) for f in chain)


def compare(outdir: str, name: str, peer: str, tolerance: dict | None = None) -> dict:
    """Agreement of a peer's outputs with NumPy's: values (allclose, rtol 1e-6 for 64-bit and
    complex, 1e-4 for float32, atol 1e-8 x the largest |value|, or the kernel's own TOLERANCE
    where it explains why; integers and booleans exactly), shapes and dtypes; the worst error
    relative to the largest |value| of NumPy's output."""
    tolerance = tolerance or {}
    import numpy

    want = numpy.load(os.path.join(outdir, f"{name}.numpy.npz"))
    got = numpy.load(os.path.join(outdir, f"{name}.{peer}.npz"))
    if len(want.files) != len(got.files):
        return {
            "agree": "no",
            "note": f"{len(got.files)} outputs, NumPy {len(want.files)}",
            "max_rel": None,
        }
    worst, notes, agree = 0.0, [], True
    for key in want.files:
        w, g = want[key], got[key]
        if w.shape != g.shape:
            return {
                "agree": "no",
                "note": f"output {key}: shape {g.shape} != {w.shape}",
                "max_rel": None,
            }
        if w.dtype != g.dtype:
            notes.append(f"{key}: dtype {g.dtype} != {w.dtype}")
        if w.size == 0:
            continue
        if w.dtype.kind in "biu" and g.dtype.kind in "biu":
            wf, gf = w.astype(numpy.float64), g.astype(numpy.float64)
            ok = bool(numpy.array_equal(w, g))
        else:
            wf, gf = w.astype(numpy.complex128 if w.dtype.kind == "c" else numpy.float64), g
            finite = numpy.abs(wf[numpy.isfinite(wf)]) if w.ndim else numpy.abs(wf)
            scale = float(numpy.max(finite)) if numpy.size(finite) else 1.0
            rtol = tolerance.get("rtol", 1e-4 if w.dtype == numpy.float32 else 1e-6)
            atol = tolerance.get("atol", 1e-8) * max(scale, 1e-300)
            ok = bool(numpy.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True))
        both = numpy.isfinite(wf) & numpy.isfinite(gf)
        if numpy.any(both):
            diff = numpy.abs(numpy.asarray(gf, dtype=wf.dtype)[both] - wf[both])
            scale = float(numpy.max(numpy.abs(wf[both]))) or 1.0
            worst = max(worst, float(numpy.max(diff)) / scale)
        if not ok:
            agree = False
            notes.append(f"output {key} differs")
    status = "yes" if agree and not notes else ("dtype" if agree else "no")
    return {"agree": status, "note": "; ".join(notes), "max_rel": worst}


def top_fallback(stats: dict | None) -> tuple[int, str]:
    fallbacks = (stats or {}).get("fallbacks") or {}
    if not fallbacks:
        return 0, ""
    reason, count = max(fallbacks.items(), key=lambda kv: kv[1])
    return sum(fallbacks.values()), f"{reason} ({count})"


def geomean(values) -> float:
    values = [v for v in values if v and v > 0 and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def fmt_ms(seconds) -> str:
    if seconds is None:
        return "—"
    ms = seconds * 1e3
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 1 else f"{ms:.2f}"


def fmt_ratio(value) -> str:
    return "—" if value is None else f"{value:.2f}x"


def report(results: dict, opts, header: str) -> str:
    """The markdown: main table, summary, failures, other peers."""
    lines = [
        header,
        "",
        "| kernel | preset | agree (max rel err) | NumPy warm ms | daybreak warm ms | warm "
        "ratio | NumPy first ms | daybreak first ms | first-call ratio | peak MB warm "
        "NumPy / daybreak | peak mem ratio | daybreak first-call peak MB | daybreak "
        "compile s | native / library runs per warm call | fallbacks in the first call: "
        "count, top reason |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    warm_ratios, first_ratios, slow_warm, slow_first, failures = [], [], [], [], []
    for name, peers in results.items():
        ref, day = peers.get("numpy", {}), peers.get("daybreak")
        if day is None:
            continue
        ok_ref, ok_day = ref.get("status") == "ok", day.get("status") == "ok"
        agree = day.get("agree", {})
        if ok_ref and ok_day:
            rel = agree.get("max_rel")
            mark = agree.get("agree", "?")
            agree_s = f"{mark} ({rel:.0e})" if rel is not None else mark
            warm = ref["warm_s"] / day["warm_s"]
            first = ref["first_s"] / day["first_s"]
            ref_kb, day_kb = warm_peak(ref), warm_peak(day)
            mem = max(day_kb, 1024) / max(ref_kb, 1024)
            mem_s = f"{ref_kb / 1024:.0f} / {day_kb / 1024:.0f}"
            code_kb = day.get("file_pages_warm_kb") or 0
            if code_kb >= 4096:  # (of which library code: LLVM's, loaded by a compile)
                mem_s += f" ({code_kb / 1024:.0f} code)"
            first_mb = f"{(day.get('peak_first_kb') or day.get('maxrss_first_kb', 0)) / 1024:.0f}"
            if mark != "no":
                warm_ratios.append(warm)
                first_ratios.append(first)
                if warm < 0.9:
                    slow_warm.append(name)
                if first < 0.8:
                    slow_first.append(name)
            if mark == "no":
                failures.append(
                    (
                        name,
                        "disagree",
                        f"max rel err {rel:.1e}; {agree.get('note')}"
                        if rel is not None
                        else agree.get("note", ""),
                    )
                )
            elif mark == "dtype":
                failures.append((name, "dtype", agree.get("note", "")))
        else:
            agree_s = day.get("status", "?") if not ok_day else "—"
            warm = first = mem = None
            mem_s = first_mb = "—"
            if not ok_ref:
                failures.append((name, f"NumPy {ref.get('status')}", ref.get("error", "")))
            if not ok_day:
                failures.append((name, day.get("status", "?"), last_lines(day)))
        stats = day.get("first_stats") or day.get("stats")  # the first call's (one call's)
        count, reason = top_fallback(stats)
        runs = per_warm_call(day)
        compile_s = compile_seconds(day)
        lines.append(
            f"| {name} | {opts.preset} | {agree_s} | {fmt_ms(ref.get('warm_s'))} | "
            f"{fmt_ms(day.get('warm_s'))} | {fmt_ratio(warm)} | {fmt_ms(ref.get('first_s'))} | "
            f"{fmt_ms(day.get('first_s'))} | {fmt_ratio(first)} | {mem_s} | {fmt_ratio(mem)} | "
            f"{first_mb} | {compile_s} | {runs} | "
            f"{count}{', ' + md_cell(reason) if reason else ''} |"
        )
    n_day = sum(1 for p in results.values() if "daybreak" in p)
    lines += [
        "",
        f"Geometric mean over the {len(warm_ratios)} kernels that ran and agree (of "
        f"{n_day}): warm ratio **{geomean(warm_ratios):.2f}x**, first-call ratio "
        f"**{geomean(first_ratios):.2f}x** (NumPy time / daybreak time: > 1 is faster).",
        f"Below 0.9x warm: {len(slow_warm)} ({', '.join(slow_warm) or 'none'}). "
        f"Below 0.8x first call: {len(slow_first)} ({', '.join(slow_first) or 'none'}).",
        f"Failures (error / crash / timeout / disagree / dtype): {len(failures)}.",
    ]
    if failures:
        lines += ["", "| kernel | failure | detail |", "|---|---|---|"]
        for name, kind, detail in failures:
            lines.append(f"| {name} | {kind} | {md_cell(detail)} |")
    extra = [
        (name, peer, r)
        for name, peers in results.items()
        for peer, r in peers.items()
        if peer in HOOKS
    ]
    if extra:
        lines += [
            "",
            "Other peers (where the kernel file has a version for them):",
            "",
            "| kernel | peer | agree (max rel err) | warm ms | warm ratio vs NumPy | "
            "first ms | first-call ratio vs NumPy |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for name, peer, r in extra:
            ref = results[name].get("numpy", {})
            if r.get("status") == "ok" and ref.get("status") == "ok":
                a = r.get("agree", {})
                rel = a.get("max_rel")
                agree_s = f"{a.get('agree')} ({rel:.0e})" if rel is not None else a.get("agree")
                lines.append(
                    f"| {name} | {peer} | {agree_s} | {fmt_ms(r['warm_s'])} | "
                    f"{fmt_ratio(ref['warm_s'] / r['warm_s'])} | {fmt_ms(r['first_s'])}"
                    f" | {fmt_ratio(ref['first_s'] / r['first_s'])} |"
                )
            else:
                lines.append(f"| {name} | {peer} | {r.get('status')} | — | — | — | — |")
    return "\n".join(lines)


def per_warm_call(result: dict) -> str:
    """daybreak's native and library (tier 0) runs per warm call."""
    stats, n = result.get("warm_stats"), result.get("repeats")
    if not stats or not n:
        return "—"
    native, library = stats.get("runs", 0) / n, stats.get("library_runs", 0) / n
    return f"{native:.4g} / {library:.4g}"


def compile_seconds(result: dict) -> str:
    """Seconds daybreak spent compiling: first call, background compiles, settling calls."""
    stats = result.get("settled_stats") or result.get("first_stats")
    if not stats:
        return "—"
    return f"{stats.get('compile_seconds', 0.0):.2f}"


def warm_peak(result: dict) -> int:
    """KiB the warm calls grew the RSS by (VmHWM after a reset); ru_maxrss growth if absent."""
    found = result.get("peak_warm_kb")
    return found if found is not None else result.get("maxrss_kb", 0)


def last_lines(result: dict) -> str:
    if result.get("status") == "timeout":
        return result.get("error", "timeout")
    tb = (result.get("traceback") or "").strip().splitlines()
    if tb:
        where = [ln.strip() for ln in tb if ln.strip().startswith("File ")]
        return (where[-1] + " — " if where else "") + tb[-1]
    return result.get("error", "")


def md_cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")[:400]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="S", choices=["S", "M"])
    parser.add_argument("--only", help="comma-separated kernel names")
    parser.add_argument("--skip", help="comma-separated kernel names to leave out")
    parser.add_argument(
        "--peers",
        default="numpy,daybreak,numba,numexpr",
        help="numba/numexpr run only for kernels that define a version",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds per (kernel, peer) process; default 60 at S, 120 at M",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=1.5,
        help="seconds the warm calls should take (after the first one)",
    )
    parser.add_argument("--max-repeat", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--json", help="write the results here (default: a file in the output directory)"
    )
    parser.add_argument("--markdown", help="also write the markdown report here")
    parser.add_argument("--outdir", help="where children write outputs (default: a temp dir)")
    parser.add_argument(
        "--daybreak-src",
        help="a directory with a `daybreak` package to import instead of the installed one",
    )
    parser.add_argument("--daybreak-rev", help="build such a directory from this git revision")
    parser.add_argument("--child", nargs=2, metavar=("KERNEL", "PEER"), help=argparse.SUPPRESS)
    opts = parser.parse_args()

    if opts.child:
        sys.exit(
            child(
                opts.child[0],
                opts.child[1],
                opts.preset,
                opts.outdir,
                opts.budget,
                opts.max_repeat,
                opts.threads,
                opts.timeout or 60.0,
            )
        )

    if opts.timeout is None:
        opts.timeout = 60.0 if opts.preset == "S" else 120.0
    names = opts.only.split(",") if opts.only else all_kernels()
    skip = set(opts.skip.split(",")) if opts.skip else set()
    names = [n for n in names if n not in skip]
    peers = [p for p in opts.peers.split(",") if p]
    for p in peers:
        if p not in PEERS:
            parser.error(f"unknown peer {p}")
    outdir = opts.outdir or tempfile.mkdtemp(prefix="daybreak-suite-")
    os.makedirs(outdir, exist_ok=True)

    env = dict(os.environ, DAYBREAK_CACHE="0", PYTHONHASHSEED="0")
    source = "the installed daybreak"
    src = opts.daybreak_src or (build_snapshot(opts.daybreak_rev) if opts.daybreak_rev else None)
    compile_bytecode(src)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        commit = os.path.join(os.path.dirname(src), "COMMIT")
        source = f"daybreak from {src}"
        if os.path.exists(commit):
            source += f" (commit {open(commit).read().strip()[:12]})"

    import numpy

    header = (
        f"NumPy kernel suite, preset {opts.preset}, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"threads = {opts.threads}, NumPy {numpy.__version__}, {source}, timeout "
        f"{opts.timeout:.0f} s per process, load average {os.getloadavg()[0]:.1f} at "
        f"the start. First call: a fresh process, DAYBREAK_CACHE=0. Warm: best of N calls "
        f"(~{opts.budget} s), for daybreak after its background compiles finished (up "
        "to 3 untimed settling calls). Ratios: NumPy time / daybreak time (> 1: daybreak "
        "is faster). Peak mem ratio: daybreak / NumPy peak RSS growth during the warm "
        'calls (> 1: daybreak needs more; each floored at 1 MB); "(N code)": N MB of '
        "it were pages of library code mapped meanwhile (LLVM's, when daybreak's first "
        "compile comes in the warm calls), shared and clean. Fallbacks: daybreak's "
        "counter over its first call."
    )
    print(header, flush=True)
    results: dict[str, dict] = {}
    started = time.perf_counter()
    for name in names:
        module = load(name)
        results[name] = {}
        for peer in peers:
            if peer in HOOKS and not hasattr(module, HOOKS[peer]):
                continue
            r = run_child(name, peer, opts, outdir, env)
            if (
                peer != "numpy"
                and r.get("status") == "ok"
                and results[name].get("numpy", {}).get("status") == "ok"
            ):
                try:
                    r["agree"] = compare(outdir, name, peer, getattr(module, "TOLERANCE", None))
                except Exception as exc:  # noqa: BLE001
                    r["agree"] = {"agree": "no", "note": f"compare failed: {exc}", "max_rel": None}
            results[name][peer] = r
            line = f"  {name:26s} {peer:9s} {r['status']:8s}"
            if r["status"] == "ok":
                line += f" first {fmt_ms(r['first_s']):>7s} ms  warm {fmt_ms(r['warm_s']):>7s} ms"
                if "agree" in r:
                    line += f"  agree {r['agree']['agree']}"
                if "first_stats" in r:
                    count, reason = top_fallback(r["first_stats"])
                    line += (
                        f"  runs {r['first_stats'].get('runs')}  fallbacks {count} {reason}"
                        f"  peak MB {(r.get('peak_warm_kb') or 0) / 1024:.0f}"
                    )
            else:
                line += " " + md_cell(last_lines(r))[:200]
            print(line, file=sys.stderr, flush=True)
        if not opts.outdir:
            # (compared: a temporary directory's outputs go, ~1 GB a run of all the kernels)
            for peer in peers:
                saved = os.path.join(outdir, f"{name}.{peer}.npz")
                if os.path.exists(saved):
                    os.remove(saved)
    elapsed = time.perf_counter() - started
    text = report(results, opts, header) + f"\n\nSuite wall time: {elapsed:.0f} s."
    print(text)
    json_path = opts.json or os.path.join(outdir, f"results-{opts.preset}.json")
    with open(json_path, "w") as f:
        json.dump(
            {"header": header, "preset": opts.preset, "results": results, "elapsed_s": elapsed},
            f,
            indent=1,
            default=str,
        )
    if opts.markdown:
        with open(opts.markdown, "w") as f:
            f.write(text + "\n")
    print(f"\nJSON: {json_path}", file=sys.stderr)


if __name__ == "__main__":
    main()

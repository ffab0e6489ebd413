"""C functions loaded from a shared library with split annotations in their header text
(annotations/c_functions.py), run through the split executor.

The library is tests/annotations/data/vml.c, compiled here with the system C compiler. Every
annotated function is compared with the same header loaded without its annotations ("plain":
checked, unsplit, sequential functions): elementwise results bit for bit, for one piece and
many, one thread and two, outside and inside a `pipeline()` block.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import daybreak as db
from daybreak.annotations import (
    AnnotationError,
    Future,
    PieceError,
    annotate,
    mut,
    pipeline,
    splittable,
)
from daybreak.annotations.c_functions import load
from daybreak.ir.errors import ParseError

DATA = Path(__file__).parent / "data"

# A second, tiny library: a function whose size parameter comes after its pointers, and one
# with no pointer at all (for typedef names).
EXTRA_C = """
void scale2(const double *a, double *r, long n) {
    for (long i = 0; i < n; i++) r[i] = 2.0 * a[i];
}
long twice(long n) { return 2 * n; }
"""

BINARY = ["vdAdd", "vdSub", "vdMul", "vdDiv"]
UNARY = ["vdExp", "vdLog", "vdSqrt", "vdErf", "vdInv"]
WITH_SCALAR = ["vdScale", "vdAddScalar"]
ELEMENTWISE = BINARY + UNARY + WITH_SCALAR
SIZES = [0, 1, 7, 1000, 100_003]
ONE_PIECE, MANY_PIECES = 1 << 30, 4096
SCALAR = 1.75


def _compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def _compile(source: Path, out: Path) -> Path:
    """`source` compiled into the shared library `out`; skips the module when it cannot be."""
    compiler = _compiler()
    if compiler is None:
        pytest.skip("no C compiler (cc or gcc) on PATH")
    done = subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", str(source), "-o", str(out), "-lm"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"compiling {source.name} failed: {done.stderr.strip()[:500]}")
    return out


def _unannotated(header: str) -> str:
    return re.sub(r"^[ \t]*//[ \t]*@splittable.*\n", "", header, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def vml(tmp_path_factory):
    """vml.c compiled, loaded annotated (`.annotated`) and plain (`.plain`)."""
    folder = tmp_path_factory.mktemp("vml")
    path = str(_compile(DATA / "vml.c", folder / "libvml.so"))
    header = (DATA / "vml.h").read_text(encoding="utf-8")
    plain_header = _unannotated(header)
    assert "@splittable" not in plain_header and plain_header.count(");") == 13
    return SimpleNamespace(
        path=path,
        header=header,
        annotated=load(path, header),
        plain=load(path, plain_header),
    )


@pytest.fixture(scope="module")
def extra(tmp_path_factory) -> str:
    """The path of EXTRA_C compiled."""
    folder = tmp_path_factory.mktemp("extra")
    source = folder / "extra.c"
    source.write_text(EXTRA_C, encoding="utf-8")
    return str(_compile(source, folder / "libextra.so"))


@pytest.fixture(autouse=True)
def _restore_config():
    old = db.config()
    yield
    db.config(**old)


def _set(threads: int, piece_bytes: int) -> None:
    db.config(threads=threads, split_piece_bytes=piece_bytes)


def _same_bits(got, want) -> bool:
    """Equal bit for bit (so -0.0 is not 0.0, and the same NaN is equal)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return got.shape == want.shape and np.array_equal(got.view(np.uint64), want.view(np.uint64))


def _operands(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays inside every function's domain (log, sqrt, division: positive)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.25, 4.0, n), rng.uniform(0.25, 4.0, n)


def _call(lib, name: str, n: int, a, b, r) -> None:
    fn = getattr(lib, name)
    if name in BINARY:
        fn(n, a, b, r)
    elif name in WITH_SCALAR:
        fn(n, a, SCALAR, r)
    else:
        fn(n, a, r)


# ----------------------------------------------------------------------------------------------
# Elementwise functions: annotated == plain, bit for bit.


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_matches_plain(vml, name, n, threads):
    a, b = _operands(n)
    a0, b0 = a.copy(), b.copy()
    want = np.full(n, np.nan)
    _call(vml.plain, name, n, a, b, want)
    assert not np.isnan(want).any()
    for piece_bytes in (ONE_PIECE, MANY_PIECES):
        _set(threads, piece_bytes)
        for in_block in (False, True):
            got = np.full(n, np.nan)
            if in_block:
                with pipeline():
                    _call(vml.annotated, name, n, a, b, got)
            else:
                _call(vml.annotated, name, n, a, b, got)
            assert _same_bits(got, want), (name, n, threads, piece_bytes, in_block)
            assert _same_bits(a, a0) and _same_bits(b, b0)  # inputs are only read


@pytest.mark.parametrize("piece_bytes, many", [(ONE_PIECE, False), (MANY_PIECES, True)])
def test_piece_size_setting_splits_the_chain(vml, piece_bytes, many):
    """The piece sizes the tests use do force one piece or many (seen by a Python function
    that runs in the same stage as the C call)."""
    n = 100_003
    a, b = _operands(n)
    r = np.empty(n)
    lengths = []

    @splittable(x="S")
    def seen(x):
        lengths.append(len(x))

    _set(1, piece_bytes)
    with pipeline():
        vml.annotated.vdAdd(n, a, b, r)
        seen(r)
    assert sum(lengths) == n
    assert (len(lengths) > 100) if many else (lengths == [n])
    assert _same_bits(r, a + b)


def _bs_chain(lib, n, price, strike, t, out):
    """The first part of Black-Scholes as 8 VML calls, temporaries reused in place:
    d1 = (log(S/K) + rsig t) / (vol sqrt t), d2 = d1 - vol sqrt t."""
    r1, r2, d1, d2 = out
    lib.vdDiv(n, price, strike, r1)
    lib.vdLog(n, r1, r1)
    lib.vdScale(n, t, 0.1 + 0.2 * 0.2 / 2, r2)
    lib.vdAdd(n, r1, r2, r1)
    lib.vdSqrt(n, t, r2)
    lib.vdScale(n, r2, 0.2, r2)
    lib.vdDiv(n, r1, r2, d1)
    lib.vdSub(n, d1, r2, d2)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("piece_bytes", [ONE_PIECE, MANY_PIECES])
def test_chain_of_eight_calls_in_a_pipeline_matches_plain(vml, threads, piece_bytes):
    n = 100_003
    rng = np.random.default_rng(1)
    price, strike, t = rng.uniform(10, 50, n), rng.uniform(10, 50, n), rng.uniform(0.1, 2, n)
    want = [np.empty(n) for _ in range(4)]
    _bs_chain(vml.plain, n, price, strike, t, want)
    _set(threads, piece_bytes)
    got = [np.full(n, np.nan) for _ in range(4)]
    with pipeline():
        _bs_chain(vml.annotated, n, price, strike, t, got)
    for g, w in zip(got, want, strict=True):
        assert _same_bits(g, w)
    # the paper's chain: vdAdd(n, a, b, r), then vdAdd(n, r, b, r) seven times
    a, b = _operands(n, seed=2)
    want, got = np.empty(n), np.full(n, np.nan)
    for lib, r in ((vml.plain, want), (vml.annotated, got)):
        with pipeline():
            lib.vdAdd(n, a, b, r)
            for _ in range(7):
                lib.vdAdd(n, r, b, r)
    assert _same_bits(got, want)


# ----------------------------------------------------------------------------------------------
# Reductions: vdSum (returns: sum), vdMax (returns: max).


def _reduce(lib, name: str, n: int, a, in_block: bool) -> float:
    fn = getattr(lib, name)
    if not in_block:
        return fn(n, a)
    with pipeline():
        result = fn(n, a)
        assert isinstance(result, Future)
    return float(result)


@pytest.mark.parametrize("in_block", [False, True])
@pytest.mark.parametrize("n", SIZES)
def test_sum_and_max_of_integer_valued_doubles_are_exact(vml, n, in_block):
    a = np.random.default_rng(3).integers(-1000, 1000, n).astype(np.float64)
    want_sum = float(sum(int(v) for v in a))  # exact: every partial sum is an integer < 2^53
    want_max = float(a.max()) if n else float("-inf")
    assert vml.plain.vdSum(n, a) == want_sum and vml.plain.vdMax(n, a) == want_max
    for threads in (1, 2):
        for piece_bytes in (ONE_PIECE, MANY_PIECES):
            _set(threads, piece_bytes)
            got_sum = _reduce(vml.annotated, "vdSum", n, a, in_block)
            got_max = _reduce(vml.annotated, "vdMax", n, a, in_block)
            assert type(got_sum) is float and got_sum == want_sum
            assert _same_bits(got_max, want_max)


@pytest.mark.parametrize("in_block", [False, True])
@pytest.mark.parametrize("n", [1, 7, 1000, 100_003])
def test_sum_and_max_of_random_doubles(vml, n, in_block):
    a = np.random.default_rng(4).normal(size=n)
    want_sum, want_max = vml.plain.vdSum(n, a), vml.plain.vdMax(n, a)
    for piece_bytes in (ONE_PIECE, MANY_PIECES):
        by_threads = {}
        for threads in (1, 2):
            _set(threads, piece_bytes)
            by_threads[threads] = _reduce(vml.annotated, "vdSum", n, a, in_block)
            assert by_threads[threads] == pytest.approx(want_sum, rel=1e-12)
            assert _same_bits(_reduce(vml.annotated, "vdMax", n, a, in_block), want_max)
        # pieces are folded in piece order: the thread count never changes the float
        assert _same_bits(by_threads[1], by_threads[2])
        if piece_bytes == ONE_PIECE:
            assert _same_bits(by_threads[1], want_sum)


@pytest.mark.parametrize("threads", [1, 2])
def test_future_of_a_sum_reads_what_the_pending_chain_writes(vml, threads):
    n = 100_003
    rng = np.random.default_rng(5)
    a = rng.integers(-50, 50, n).astype(np.float64)
    b = rng.integers(-50, 50, n).astype(np.float64)
    want = np.empty(n)
    vml.plain.vdAdd(n, a, b, want)
    vml.plain.vdMul(n, want, b, want)
    _set(threads, MANY_PIECES)
    r = np.zeros(n)
    with pipeline():
        vml.annotated.vdAdd(n, a, b, r)
        vml.annotated.vdMul(n, r, b, r)
        total = vml.annotated.vdSum(n, r)
        assert isinstance(total, Future)
        assert float(total) == float(sum(int(v) for v in want))
        assert _same_bits(r, want)  # reading the Future ran the chain before it
        top = vml.annotated.vdMax(n, r)
        vml.annotated.vdScale(n, r, 2.0, r)
        assert float(top) == want.max()
    assert _same_bits(r, want * 2.0)  # the rest ran at the end of the block


# ----------------------------------------------------------------------------------------------
# Boundary checks.

PLAIN_AND_ANNOTATED = ["plain", "annotated"]


@pytest.mark.parametrize("which", PLAIN_AND_ANNOTATED)
def test_wrong_dtype_is_a_type_error(vml, which):
    lib = getattr(vml, which)
    n = 1000
    a, b = _operands(n)
    with pytest.raises(TypeError, match=r"vdAdd: a must be an array of float64, not float32"):
        lib.vdAdd(n, a.astype(np.float32), b, np.empty(n))
    with pytest.raises(TypeError, match=r"vdSum: a must be an array of float64, not int64"):
        lib.vdSum(n, np.arange(n))


@pytest.mark.parametrize("which", PLAIN_AND_ANNOTATED)
def test_read_only_output_is_a_value_error(vml, which):
    lib = getattr(vml, which)
    n = 1000
    a, b = _operands(n)
    r = np.zeros(n)
    r.flags.writeable = False
    with pytest.raises(ValueError, match=r"vdAdd: r is written by the function.*read-only"):
        lib.vdAdd(n, a, b, r)
    assert not r.any()


def test_array_shorter_than_n_is_a_value_error(vml):
    a, b = _operands(1000)
    with pytest.raises(ValueError, match=r"vdAdd: b has 10 elements, fewer than 1000"):
        vml.plain.vdAdd(1000, a, b[:10], np.empty(1000))
    with pytest.raises(ValueError, match=r"vdSum: a has 999 elements, fewer than 1000"):
        vml.plain.vdSum(1000, a[:999])


def test_plain_function_reads_the_first_n_elements_of_a_longer_array(vml):
    a, b = _operands(1000)
    r = np.zeros(1000)
    vml.plain.vdAdd(10, a, b, r)
    assert _same_bits(r[:10], a[:10] + b[:10]) and not r[10:].any()


def test_annotated_call_with_n_not_the_arrays_length_is_an_annotation_error(vml):
    a, b = _operands(1000)
    r = np.zeros(1000)
    with pytest.raises(AnnotationError, match=r"vdAdd: n has 10 elements to split and a has 1000"):
        vml.annotated.vdAdd(10, a, b, r)
    with pytest.raises(AnnotationError, match=r"b has 999"):
        vml.annotated.vdAdd(1000, a, b[:999], r)
    with pytest.raises(AnnotationError, match=r"vdSum: n has 1001 elements to split and a has"):
        vml.annotated.vdSum(1001, a)
    with pytest.raises(AnnotationError, match=r"n has 10"), pipeline():
        vml.annotated.vdExp(10, a, r)  # at the call, not when the block ends
    assert not r.any()


@pytest.mark.parametrize("which", PLAIN_AND_ANNOTATED)
def test_a_list_is_a_type_error(vml, which):
    lib = getattr(vml, which)
    r = np.empty(3)
    with pytest.raises(TypeError, match=r"vdAdd: a .*list"):
        lib.vdAdd(3, [1.0, 2.0, 3.0], np.ones(3), r)
    with pytest.raises(TypeError, match=r"vdExp: r .*list"):
        lib.vdExp(3, np.ones(3), [0.0, 0.0, 0.0])


def test_negative_n(vml):
    a = np.ones(4)
    with pytest.raises(ValueError, match=r"vdExp: n must be an int >= 0, not -1"):
        vml.plain.vdExp(-1, a, np.empty(4))
    with pytest.raises(ValueError, match=r"vdSum: n must be an int >= 0, not -5"):
        vml.plain.vdSum(-5, a)
    # annotated: n is split with the arrays, so a negative n disagrees with their length
    with pytest.raises(AnnotationError, match=r"vdExp: n has -1 elements"):
        vml.annotated.vdExp(-1, a, np.empty(4))


# ----------------------------------------------------------------------------------------------
# Non-contiguous arrays: an input is passed as a contiguous copy, an output written through a
# copy and then back.


@pytest.mark.parametrize("in_block", [False, True])
@pytest.mark.parametrize("which", PLAIN_AND_ANNOTATED)
def test_non_contiguous_output_is_written_back(vml, which, in_block):
    lib = getattr(vml, which)
    n = 100_003
    a, b = _operands(n)
    want = np.empty(n)
    vml.plain.vdMul(n, a, b, want)
    for threads in (1, 2):
        for piece_bytes in (ONE_PIECE, MANY_PIECES):
            _set(threads, piece_bytes)
            r = np.zeros(2 * n)
            if in_block:
                with pipeline():
                    lib.vdMul(n, a, b, r[::2])
            else:
                lib.vdMul(n, a, b, r[::2])
            assert _same_bits(r[::2], want) and not r[1::2].any()


@pytest.mark.parametrize("which", PLAIN_AND_ANNOTATED)
def test_non_contiguous_input_of_a_reduction(vml, which):
    lib = getattr(vml, which)
    n = 100_003
    a = np.random.default_rng(6).integers(-1000, 1000, 2 * n).astype(np.float64)
    for threads in (1, 2):
        for piece_bytes in (ONE_PIECE, MANY_PIECES):
            _set(threads, piece_bytes)
            assert lib.vdSum(n, a[::2]) == float(sum(int(v) for v in a[::2]))
            assert lib.vdMax(n, a[1::2]) == a[1::2].max()


@pytest.mark.parametrize("in_block", [False, True])
@pytest.mark.parametrize("which", PLAIN_AND_ANNOTATED)
def test_non_contiguous_input_and_output(vml, which, in_block):
    """vdAdd(n, a[::2], b, r[::2]): the copy of a is freed when the loop over the arguments
    moves on, and the copy made for r reuses its memory, so the function adds r (zeros) to b."""
    lib = getattr(vml, which)
    _set(1, ONE_PIECE)
    for n in (100, 1000):
        a, b = _operands(2 * n)
        r = np.zeros(2 * n)
        if in_block:
            with pipeline():
                lib.vdAdd(n, a[::2], b[:n], r[::2])
        else:
            lib.vdAdd(n, a[::2], b[:n], r[::2])
        assert _same_bits(r[::2], a[::2] + b[:n])


# ----------------------------------------------------------------------------------------------
# Load errors, located in the header text.


def _located(err: Exception, line: int, col: int, text: str) -> str:
    """`err`'s message, checked to start with `line:col` and end with the line and a caret."""
    message = str(err)
    lines = message.splitlines()
    assert lines[0].startswith(f"{line}:{col}: "), message
    assert lines[-2] == "  " + text.splitlines()[line - 1]
    assert lines[-1] == "  " + " " * (col - 1) + "^"
    return message


def test_prototype_of_a_function_missing_from_the_library(vml):
    header = "// @splittable(a: S, r: mut S)\nvoid vdNope(long n, const double *a, double *r);"
    with pytest.raises(AnnotationError) as info:
        load(vml.path, header)
    assert "has no function vdNope" in _located(info.value, 2, 6, header)
    plain = "double vdSum(long n, const double *a);\n\nint nope(void);\n"
    with pytest.raises(AnnotationError) as info:
        load(vml.path, plain)
    assert "has no function nope" in _located(info.value, 3, 5, plain)


def test_unknown_c_type_and_types_argument(extra):
    header = "long twice(MKL_INT n);"
    with pytest.raises(AnnotationError) as info:
        load(extra, header)
    message = _located(info.value, 1, 20, header)
    assert "unknown C type 'MKL_INT'" in message and "types=" in message
    assert load(extra, header, types={"MKL_INT": "long"}).twice(21) == 42


VD_EXP_MKL = "// @splittable(a: S, r: mut S)\nvoid vdExp(MKL_INT n, const double *a, double *r);"


def test_unknown_c_type_of_the_size_parameter_is_named(vml):
    with pytest.raises(AnnotationError, match=r"unknown C type 'MKL_INT'"):
        load(vml.path, VD_EXP_MKL)


def test_typedef_of_the_size_parameter_with_types(vml):
    lib = load(vml.path, VD_EXP_MKL, types={"MKL_INT": "long"})
    n = 100_003
    a, _ = _operands(n)
    want, got = np.empty(n), np.empty(n)
    vml.plain.vdExp(n, a, want)
    _set(2, MANY_PIECES)
    lib.vdExp(n, a, got)
    assert _same_bits(got, want)


def test_size_parameter_after_the_pointers_must_be_annotated(extra):
    header = "// @splittable(a: S, r: mut S)\nvoid scale2(const double *a, double *r, long n);"
    with pytest.raises(AnnotationError) as info:
        load(extra, header)
    assert "annotate it `n: size`" in _located(info.value, 2, 6, header)
    lib = load(extra, header.replace("r: mut S)", "r: mut S, n: size)"))
    n = 100_003
    a, _ = _operands(n)
    for threads in (1, 2):
        _set(threads, MANY_PIECES)
        r = np.zeros(n)
        lib.scale2(a, r, n)
        assert _same_bits(r, 2.0 * a)
        r = np.zeros(n)
        with pipeline():
            lib.scale2(a, r, n)
            lib.scale2(r, r, n=n)
        assert _same_bits(r, 4.0 * a)
    with pytest.raises(AnnotationError, match=r"scale2: r has 100003 elements .* n has 5"):
        lib.scale2(a, r, 5)


def test_annotated_pointer_parameter_without_a_spec(vml):
    header = (
        "// @splittable(a: S, r: mut S)\n"
        "void vdAdd(long n, const double *a, const double *b, double *r);"
    )
    with pytest.raises(AnnotationError) as info:
        load(vml.path, header)
    message = _located(info.value, 2, 51, header)
    assert "pointer parameter b needs a split annotation" in message


def test_header_syntax_error_is_a_parse_error(vml):
    header = "// @splittable(a: S, r: mut S)\nvoid vdExp(long n, const double *a, double *r)\n"
    with pytest.raises(ParseError) as info:
        load(vml.path, header)
    assert "expected `;`" in _located(info.value, 2, 47, header)


# ----------------------------------------------------------------------------------------------
# An annotated BLAS routine: SciPy's Fortran daxpy (y <- a x + y, y written in place).


@pytest.mark.parametrize("in_block", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_annotated_scipy_daxpy(threads, in_block):
    blas = pytest.importorskip("scipy.linalg.blas")
    daxpy = annotate(blas.daxpy, "S", mut("S"), returns="S")
    n = 100_003
    x, y0 = _operands(n, seed=7)
    want = blas.daxpy(x, y0.copy(), a=2.5)
    _set(threads, MANY_PIECES)
    y = y0.copy()
    if in_block:
        with pipeline():
            got = daxpy(x, y, a=2.5)
            assert isinstance(got, Future)
        got = np.asarray(got)
    else:
        got = daxpy(x, y, a=2.5)
    # Within rounding, not bit for bit: OpenBLAS runs a piece's head in its vector kernel
    # (fused multiply-adds on some CPUs) and its tail in scalar code, so where a piece ends
    # decides how an element is rounded.
    tolerance = 1e-15 * float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=tolerance)
    np.testing.assert_allclose(y, want, rtol=1e-15, atol=tolerance)  # written in place


# ----------------------------------------------------------------------------------------------
# A function failing on one piece.


@pytest.mark.parametrize("threads", [1, 2])
def test_piece_error_names_function_range_and_written_arguments(vml, threads):
    n, bad = 100_003, 50_000

    @splittable(x="S", index="S")
    def check(x, index):
        if (index == bad).any():
            raise ZeroDivisionError("the bad element")

    a, b = _operands(n)
    r = np.zeros(n)
    _set(threads, MANY_PIECES)
    with pytest.raises(PieceError) as info, pipeline():
        vml.annotated.vdAdd(n, a, b, r)
        check(r, np.arange(n))
    err = info.value
    assert "check" in err.function
    assert err.start <= bad < err.stop and 0 < err.stop - err.start < n
    assert err.partly_written == ["r"]
    assert isinstance(err.__cause__, ZeroDivisionError)
    message = str(err)
    assert message.startswith(f"{err.function} failed on elements [{err.start}, {err.stop})")
    assert "ZeroDivisionError('the bad element')" in message
    assert message.endswith("pieces already run have written into r")
    # the pieces before the failing one ran through the whole chain
    if threads == 1:
        assert _same_bits(r[: err.start], a[: err.start] + b[: err.start])
        assert not r[err.stop :].any()

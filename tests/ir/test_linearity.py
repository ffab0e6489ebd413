"""Builder linearity: what compiled backends accept, and what they refuse (then the counted
fallback runs the program on the interpreter)."""

import pytest

import daybreak as db
from daybreak.ir import parse, typecheck
from daybreak.ir.linearity import check_linear

LINEAR = [
    "|v: vec[i64]| result(for(v, appender, |b, i, x| if(x > 1L, merge(b, x), b)))",
    "|v: vec[i64]| let b = appender[i64]; let b2 = merge(b, 1L); result(merge(b2, 2L))",
    "|v: vec[i64]| result(for(v, {appender[i64], merger[i64,+]}, |b, i, x|"
    " {merge(b.$0, x), merge(b.$1, x)}))",
    "|v: vec[i64]| result(for(v, {{appender[i64], merger[i64,min]}, merger[i64,+]}, |b, i, x|"
    " {{merge(b.$0.$0, x), merge(b.$0.$1, x)}, merge(b.$1, 1L)}))",
    "|v: vec[i64]| result(for(v, {merger[i64,+], appender[i64]}, |b, i, x|"
    " if(x > 0L, {merge(b.$0, x), merge(b.$1, i)}, b)))",
    "|v: vec[vec[i64]]| result(for(v, appender, |b, i, row| for(row, b, |b2, j, y| merge(b2, y))))",
    "|v: vec[i64]| let add = |b: appender[i64], x: i64| merge(b, x * 2L);"
    " result(for(v, appender[i64], |b, i, x| add(b, x)))",
    "|v: vec[i64]| let b = merger[i64,+]; let b2 = merge(b, 1L);"
    " let b3 = merge(b2, 2L); result(b3)",
    # a let that rebinds a builder's name: the uses below it are of the new builder
    "|v: vec[i64]| let b = appender[i64]; let b = merge(b, 1L); result(merge(b, 2L))",
]

NONLINEAR = [
    ("let b = appender[i32]; {result(merge(b, 1)), result(b)}", "used more than once"),
    (
        "let b = merger[i32,+]; let c = merge(b, 1); let d = merge(b, 2); result(d)",
        "used more than once",
    ),
    (
        "|v: vec[i32]| let out = appender[i32]; result(for(v, merger[i32,+], |b, i, x|"
        " let o = merge(out, x); b))",
        "from outside the loop",
    ),
    (
        # the outer `c` is merged on every iteration; a later `c` inside does not hide that
        "|v: vec[i32]| let c = appender[i32]; result(for(v, appender[i32], |b, i, x|"
        " let d = merge(c, x); let c = merge(b, x); c))",
        "from outside the loop",
    ),
    (
        "|v: vec[i32]| result(for(v, appender[i32], |b, i, x| merge(appender[i32], x)))",
        "must return the builder it was given",
    ),
    (
        "|v: vec[i64]| result(for(v, {appender[i64], appender[i64]}, |b, i, x|"
        " {merge(b.$0, x), merge(b.$0, x)}))",
        "used more than once",
    ),
]


@pytest.mark.parametrize("text", LINEAR)
def test_linear_programs_are_accepted(text):
    assert check_linear(typecheck(parse(text))) == []


@pytest.mark.parametrize("text,problem", NONLINEAR)
def test_nonlinear_programs_are_flagged(text, problem):
    problems = check_linear(typecheck(parse(text)))
    assert problems and any(problem in p for p in problems), problems


def test_db_compile_rejects_nonlinear_programs_on_every_backend():
    """A builder used twice is the user's mistake: a located LinearityError from
    `db.compile`, strict or not, whatever the backend; nothing falls back, nothing counted."""
    before = db.config()
    try:
        for strict in (False, True):
            db.config(strict=strict)
            for backend in ("llvm", "interp"):
                db.stats(reset=True)
                with pytest.raises(
                    db.ir.LinearityError, match="1:53: builder 'b' is used more than once"
                ):
                    db.compile(
                        "let b = appender[i32]; {result(merge(b, 1)), result(b)}", backend=backend
                    )
                assert db.stats()["fallbacks"] == {}
    finally:
        db.config(**before)


def test_the_check_is_linear_in_a_chain_of_builder_lets(monkeypatch):
    """A chain of n builder lets (`let b1 = merge(b0, 0L); let b2 = merge(b1, 1L); ...`) is
    checked in work proportional to n: each name's uses are looked for only where it is free
    (it was cubic: 1,000 lets took 33 s). Counted in steps of the walk, not in seconds."""
    from daybreak.ir import linearity

    steps = []
    real = linearity._usages_walk

    def counted(*args):
        steps.append(1)
        return real(*args)

    monkeypatch.setattr(linearity, "_usages_walk", counted)

    def chain(n: int) -> int:
        body = "let b0 = appender[i64];\n"
        body += "".join(f"let b{k + 1} = merge(b{k}, {k}L);\n" for k in range(n))
        program = typecheck(parse(f"|x: i64| result(b{n})".replace("result", body + "result")))
        steps.clear()
        assert check_linear(program) == []
        return len(steps)

    small, large = chain(200), chain(800)
    assert large <= 5 * small, (small, large)  # 4x the lets: about 4x the steps

"""ir/last_use.py: the let after which a fresh intermediate vector is read no more."""

import pytest

from daybreak.ir import nodes as N
from daybreak.ir.last_use import last_reader
from daybreak.ir.parser import parse
from daybreak.ir.typecheck import typecheck


def _head(text: str) -> N.Let:
    body = typecheck(parse(text)).body
    assert isinstance(body, N.Let)
    return body


def test_the_reader_is_the_last_let_of_the_chain_that_reads_it():
    head = _head(
        """|v: vec[i64]|
        let squares = result(for(v, appender[i64], |b, i, x| merge(b, x * x)));
        let first = lookup(squares, 0L);
        let total = result(for(squares, merger[i64,+], |b, i, x| merge(b, x)));
        let other = len(v);
        {first, total, other}"""
    )
    assert last_reader(head).name == "total"


@pytest.mark.parametrize(
    "text",
    [
        # the vector itself is merged into a result: it escapes
        """|v: vec[i64]| let a = [1L, 2L];
           let vs = result(for(v, appender[vec[i64]], |b, i, x| merge(b, a))); let n = len(a);
           {vs, n}""",
        # a loop's parameter takes its name, so later reads may be of something else
        """|v: vec[i64]| let a = [1L, 2L];
           let s = result(for(v, merger[i64,+], |b, i, a| merge(b, a))); let n = len(a); {s, n}""",
        # a merger's result is a scalar, not a block
        """|v: vec[i64]| let a = result(for(v, merger[i64,+], |b, i, x| merge(b, x)));
           let n = a + 1L; n""",
    ],
)
def test_no_reader_where_the_vector_may_still_be_needed(text):
    assert last_reader(_head(text)) is None

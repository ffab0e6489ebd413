"""The per-phase tables of ir/dispatch.py: registration, and what a table misses."""

import pytest

from daybreak.ir import nodes as N
from daybreak.ir.dispatch import TABLES, NodeTable, OpTable
from daybreak.ir.ops import OPS


@pytest.fixture
def scratch_tables():
    """Tables made by a test are dropped from the registry afterwards."""
    before = set(TABLES)
    yield
    for phase in set(TABLES) - before:
        del TABLES[phase]


def test_a_table_names_the_node_kinds_it_misses(scratch_tables):
    table = NodeTable("test: partial printer")

    @table.register(N.Literal, N.Ident)
    def handler(node):
        return node

    assert table[N.Literal] is handler and table[N.Ident] is handler
    assert TABLES["test: partial printer"] is table
    missing = table.missing()
    assert "Literal" not in missing and "Ident" not in missing
    assert len(missing) == len(N.NODE_KINDS) - 2 and missing[0] == "MakeVector"


def test_an_op_table_names_ops_and_stale_entries(scratch_tables):
    table = OpTable("test: ops")
    for name in OPS:
        table[name] = print
    assert table.missing() == []
    table["frobnicate"] = print  # an op that was renamed or removed
    assert table.unknown() == ["'frobnicate'"]


def test_registration_refuses_mistakes(scratch_tables):
    table = NodeTable("test: strict")
    table.register(N.Let)(print)
    with pytest.raises(ValueError, match="already has a handler for Let"):
        table.register(N.Let)(print)
    with pytest.raises(ValueError, match="is not a node kind"):
        table.register(N.Iter)(print)
    with pytest.raises(ValueError, match="already a table"):
        NodeTable("test: strict")

"""Every per-construct table covers every construct (issue #11).

A node kind is declared once in ir/nodes.py (NODE_KINDS), an op once in ir/ops.py (OPS), a
builder kind once in ir/types.py (BUILDER_KINDS). Each phase that handles them one by one keeps
a table made with ir/dispatch.py, recorded in `TABLES`. Importing every phase and asking each
table what it misses is how adding a construct fails here, naming every place still to fill in.
"""

import importlib

from daybreak.ir import nodes as N
from daybreak.ir.dispatch import TABLES
from daybreak.ir.ops import OPS

# Every module that makes a table (importing one makes its tables).
PHASE_MODULES = (
    "daybreak.ir.printer",
    "daybreak.ir.typecheck",
    "daybreak.ir.interp",
    "daybreak.backends.llvm",
)


def _import_phases() -> dict:
    for module in PHASE_MODULES:
        importlib.import_module(module)
    return TABLES


def _llvm_gaps_before_dispatch() -> list[str]:
    """The LLVM backend's own dicts, read directly until backends/llvm registers its emitters
    through ir/dispatch.py (then this returns nothing and can go)."""
    if any(phase.startswith("llvm") for phase in TABLES):
        return []
    from daybreak.backends.llvm import lower, ops

    node_emitters = lower._NODE_EMITTERS
    # (older trees kept collection ops in a second dict, and lowered `&&`, `||` before both)
    op_names = set(ops.OP_EMITTERS) | set(getattr(lower, "_COLLECTION_OPS", ()))
    if not any(name in ops.OP_EMITTERS for name, d in OPS.items() if d.short_circuit):
        op_names |= {name for name, decl in OPS.items() if decl.short_circuit}
    gaps = [f"llvm: no handler for the node kind {k.__name__}" for k in N.NODE_KINDS
            if k not in node_emitters]  # fmt: skip
    gaps += [f"llvm ops: no handler for the op {name}" for name in OPS if name not in op_names]
    gaps += [f"llvm ops: handles {name!r}, which is no op" for name in op_names - set(OPS)]
    return gaps


def test_every_table_covers_every_construct():
    tables = _import_phases()
    gaps = []
    for phase, table in tables.items():
        gaps += [f"{phase}: no handler for the {table.covers} {name}" for name in table.missing()]
        gaps += [f"{phase}: handles {key}, which is no {table.covers}" for key in table.unknown()]
    gaps += _llvm_gaps_before_dispatch()
    assert not gaps, "constructs without a handler:\n" + "\n".join(gaps)


def test_the_phases_have_their_tables():
    tables = _import_phases()
    for phase in ("printer", "typecheck", "interp"):
        assert tables.get(phase) is not None and tables[phase].covers == "node kind", phase


def test_every_node_class_is_a_declared_node_kind():
    # A node class declared without nodes._node would escape every table's check. (A slotted
    # dataclass replaces the class it was made from; only the class its module holds counts.)
    undeclared, stack = [], list(N.Expr.__subclasses__())
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        module = importlib.import_module(cls.__module__)
        if getattr(module, cls.__qualname__, None) is cls and cls not in N.NODE_KINDS:
            undeclared.append(cls.__name__)
    assert not undeclared, f"node classes missing from NODE_KINDS: {undeclared}"

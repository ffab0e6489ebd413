"""Every per-construct table covers every construct (issue #11).

A node kind is declared once in ir/nodes.py (NODE_KINDS), an op once in ir/ops.py (OPS), a
builder kind once in ir/types.py (BUILDER_KINDS). Each phase that handles them one by one keeps
a table made with ir/dispatch.py, recorded in `TABLES`. Importing every phase and asking each
table what it misses is how adding a construct fails here, naming every place still to fill in.
"""

import importlib
import re
from pathlib import Path

from daybreak.ir import nodes as N
from daybreak.ir.dispatch import TABLES
from daybreak.ir.macros import PRELUDE_NAMES
from daybreak.ir.ops import OPS

ROOT = Path(__file__).resolve().parents[1]

# Every module that makes a table (importing one makes its tables).
PHASE_MODULES = (
    "daybreak.ir.printer",
    "daybreak.ir.typecheck",
    "daybreak.ir.interp",
    "daybreak.backends.llvm",
    "daybreak.backends.cuda",
    "daybreak.optimizer.analysis",
)


def _import_phases() -> dict:
    for module in PHASE_MODULES:
        importlib.import_module(module)
    return TABLES


def test_every_table_covers_every_construct():
    tables = _import_phases()
    gaps = []
    for phase, table in tables.items():
        gaps += [f"{phase}: no handler for the {table.covers} {name}" for name in table.missing()]
        gaps += [f"{phase}: handles {key}, which is no {table.covers}" for key in table.unknown()]
    assert not gaps, "constructs without a handler:\n" + "\n".join(gaps)


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


# ----------------------------------------------------------------------------------------------
# docs/howto.md names the places this test checks; these keep it honest.

_TABLE_ROW = re.compile(r"^\| `([^`]+)` \| ([a-z ]+) \| `([^`]+)` \|$", re.M)


def test_the_guide_lists_every_table_and_where_it_is_made():
    rows = _TABLE_ROW.findall((ROOT / "docs/howto.md").read_text())
    tables = _import_phases()
    assert {phase: covers for phase, covers, _ in rows} == {
        phase: table.covers for phase, table in tables.items()
    }
    for phase, _, path in rows:
        assert f'Table("{phase}")' in (ROOT / path).read_text(), f"{path} makes no {phase!r} table"


def test_the_guide_names_only_files_that_exist():
    text = (ROOT / "docs/howto.md").read_text()
    paths = set(re.findall(r"`([\w/]+\.(?:py|lark|md))`", text))
    assert paths, "the guide names no files"
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []


def test_every_call_syntax_op_and_standard_macro_is_documented():
    text = (ROOT / "docs/ir.md").read_text()
    words = set(re.findall(r"[a-z0-9_]+", text))
    names = [d.name for d in OPS.values() if d.form == "call"] + list(PRELUDE_NAMES)
    assert [name for name in names if name not in words] == []


def test_docs_ir_describes_every_file_of_ir():
    section = (ROOT / "docs/ir.md").read_text().split("## The implementation", 1)[1]
    named = set(re.findall(r"`([\w.]+\.(?:py|lark))`", section))
    files = {p.name for p in (ROOT / "ir").iterdir() if p.suffix in (".py", ".lark")}
    assert sorted(files - named - {"__init__.py"}) == [] and sorted(named - files) == []

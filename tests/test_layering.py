"""Layering: each top-level folder imports only what ARCHITECTURE.md's "may import" column allows.

The table in `../shared/ARCHITECTURE.md` (beside the repository) is the rule; this test reads it
rather than restating it, so the document and the check cannot drift apart. Every module under a
folder with a rule is parsed with `ast` and each import is resolved to the folder it reaches:
absolute (`daybreak.ir.nodes`, `import daybreak.runtime`) and relative (`from ..runtime import
x`, `from .. import ir`) imports alike, wherever they stand (inside functions and
`if TYPE_CHECKING:` blocks too: an arrow is an arrow even when it is taken late). `daybreak` or
one of its own modules (`daybreak.numpy`, `daybreak.api`) is the public layer, folder `daybreak`.

A failure names every `file:line` and what it imports, so a forbidden import is found, not
hunted for.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARCHITECTURE = REPO.parent / "shared" / "ARCHITECTURE.md"

# Violations tolerated while their owners fix them, as (file, imported module) -> reason and
# issue: a pair rather than a line number, so edits above the import neither hide it nor break
# the test. Anything not listed fails. Empty: when issue #11 added this test the tree had none.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _folder_table(text: str) -> dict[str, set[str] | None]:
    """folder -> the folders it may import (None: no rule, e.g. tests/ and bench/)."""
    lines = text.splitlines()
    header = next(
        (i for i, ln in enumerate(lines) if ln.startswith("|") and "may import" in ln), None
    )
    assert header is not None, f"{ARCHITECTURE}: no table with a 'may import' column"
    columns = _cells(lines[header])
    rule_col = columns.index("may import")
    rows = []
    for line in lines[header + 2 :]:  # skip the |---| separator
        if not line.startswith("|"):
            break
        cells = _cells(line)
        rows.append((cells[0].strip("`").rstrip("/"), cells[rule_col]))
    folders = {name for name, _ in rows}
    table: dict[str, set[str] | None] = {}
    for name, rule in rows:
        if not rule:
            table[name] = None
        elif rule == "everything":
            table[name] = set(folders)
        elif rule == "nothing of ours":
            table[name] = set()
        else:
            # What follows a ';' is a note (frontends: how the compiler reaches them), not a
            # permission; the permission is the backticked folder names before it.
            names = {t.rstrip("/") for t in re.findall(r"`([^`]+)`", rule.split(";")[0])}
            allowed = names & folders
            assert allowed, f"{ARCHITECTURE}: cannot read the rule {rule!r} for `{name}/`"
            table[name] = allowed
    return table


def _package_of(path: Path, root: Path) -> list[str]:
    """The dotted package a module lives in: backends/llvm/x.py -> daybreak.backends.llvm."""
    parts = list(path.relative_to(root).parent.parts)
    return ["daybreak", *parts[1:]] if parts[0] == "daybreak" else ["daybreak", *parts]


def _folder_of(module: str, folders: set[str]) -> str | None:
    """The folder a dotted module name lies in; None for anything not ours."""
    parts = module.split(".")
    if parts[0] != "daybreak":
        return None
    if len(parts) > 1 and parts[1] in folders:
        return parts[1]
    return "daybreak"  # the package itself or one of its public modules


def _imports(path: Path, root: Path, folders: set[str]):
    """(line, imported module, folder it lies in) for each import of ours in one file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                folder = _folder_of(alias.name, folders)
                if folder:
                    yield node.lineno, alias.name, folder
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path, root)
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module == "daybreak":
                # `from daybreak import ir` or `from .. import runtime` reaches a folder by name.
                for alias in node.names:
                    name = f"daybreak.{alias.name}"
                    yield node.lineno, name, _folder_of(name, folders)
            else:
                folder = _folder_of(module, folders)
                if folder:
                    yield node.lineno, module, folder


def _violations(root: Path, table: dict[str, set[str] | None]) -> list[tuple[str, int, str, str]]:
    """(file, line, imported module, folder) for every import under `root` the table forbids."""
    folders = set(table)
    found = []
    for folder, allowed in sorted(table.items()):
        if allowed is None or not (root / folder).is_dir():
            continue
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            for line, module, target in _imports(path, root, folders):
                if target != folder and target not in allowed:
                    found.append((rel, line, module, target))
    return found


pytestmark = pytest.mark.skipif(
    not ARCHITECTURE.exists(),
    reason=f"{ARCHITECTURE} is absent: the layering rule lives there (../shared beside the repo)",
)


def test_the_table_is_read_as_written():
    # A guard on the parser itself: if the document's wording changes so that a rule reads as
    # something else, this fails instead of the layering test passing vacuously.
    table = _folder_table(ARCHITECTURE.read_text())
    assert table["ir"] == set()
    assert table["optimizer"] == {"ir"}
    assert table["frontends"] == {"ir", "runtime"}
    assert table["apps"] == {"daybreak"}
    assert table["daybreak"] >= {"ir", "optimizer", "backends", "runtime", "frontends"}
    assert table["tests"] is None


def test_every_spelling_of_an_import_is_resolved(tmp_path):
    # The tree has no violation today, so a scanner that resolved nothing would pass as well;
    # this plants one of each spelling in a throwaway tree and expects each to be named.
    table = _folder_table(ARCHITECTURE.read_text())
    planted = {
        "ir/a.py": "import daybreak.runtime.stats\n",
        "ir/sub/b.py": "def f():\n    from ...optimizer import fold\n",
        "runtime/c.py": "from .. import backends\nfrom ..ir import nodes\n",
        "optimizer/d.py": "from daybreak import frontends, ir\n",
        "frontends/e.py": "import daybreak as db\nfrom .lazy import Node\n",
        "apps/f.py": "import daybreak.numpy\nfrom daybreak.ir import parse\n",
    }
    for rel, source in planted.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(source)
    found = {(f, n, m) for f, n, m, _ in _violations(tmp_path, table)}
    assert found == {
        ("ir/a.py", 1, "daybreak.runtime.stats"),
        ("ir/sub/b.py", 2, "daybreak.optimizer"),
        ("runtime/c.py", 1, "daybreak.backends"),
        ("optimizer/d.py", 1, "daybreak.frontends"),
        ("frontends/e.py", 1, "daybreak"),
        ("apps/f.py", 2, "daybreak.ir"),
    }


def test_no_folder_imports_one_it_may_not():
    found = _violations(REPO, _folder_table(ARCHITECTURE.read_text()))
    new = [v for v in found if (v[0], v[2]) not in KNOWN_VIOLATIONS]
    lines = [f"{f}:{n}: imports {m} (folder `{t}/`)" for f, n, m, t in new]
    assert not lines, "imports ARCHITECTURE.md's 'may import' column forbids:\n" + "\n".join(lines)


def test_known_violations_are_still_there():
    # An entry whose import is gone must leave the list, so the list never excuses a future one.
    found = {(f, m) for f, _, m, _ in _violations(REPO, _folder_table(ARCHITECTURE.read_text()))}
    stale = sorted(set(KNOWN_VIOLATIONS) - found)
    assert not stale, f"fixed: remove from KNOWN_VIOLATIONS in {__file__}: {stale}"

"""Golden files: tests/optimizer/golden/<pass>/NAME.weld is optimised by that pass alone (run
to its fixpoint, the verifier after every step) and must print exactly as NAME.expected. The
folder `pipeline` runs the whole pipeline. Regenerate with DAYBREAK_UPDATE_GOLDEN=1 (the name
tests/ir/test_printer.py reads too) and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daybreak.ir.parser import parse
from daybreak.ir.printer import format as format_ir
from daybreak.optimizer import PASS_NAMES, optimize

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*/*.weld"))


def _optimize_with(folder: str, text: str) -> str:
    off = () if folder == "pipeline" else tuple(n for n in PASS_NAMES if n != folder)
    return format_ir(optimize(parse(text), passes_off=off, verify=True)) + "\n"


def test_every_pass_has_golden_files():
    folders = {p.parent.name for p in CASES}
    assert set(PASS_NAMES) | {"pipeline"} <= folders


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden(path: Path):
    got = _optimize_with(path.parent.name, path.read_text())
    expected_path = path.with_suffix(".expected")
    if os.environ.get("DAYBREAK_UPDATE_GOLDEN") == "1":
        expected_path.write_text(got)
    assert expected_path.exists(), f"run with DAYBREAK_UPDATE_GOLDEN=1 to create {expected_path}"
    assert got == expected_path.read_text()

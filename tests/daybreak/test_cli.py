"""The `daybreak` command: the demo pipeline and the file subcommands."""

import numpy as np
import pytest

from daybreak.cli import main


@pytest.mark.parametrize("backend", ["llvm", "interp"])
def test_demo_runs_and_agrees_with_pandas(capsys, backend):
    assert main(["demo", "--rows", "3000", "--backend", backend]) == 0
    out = capsys.readouterr().out
    assert "Type-checked: (price: vec[f64], qty: vec[i64], store: vec[i64])" in out
    assert "with the same answers: yes" in out
    assert "The reference interpreter agrees on the first 3,000 orders: yes" in out


@pytest.fixture
def program_file(tmp_path):
    path = tmp_path / "prog.weld"
    path.write_text("|v: vec[i64], k: i64|\n  map(v, |x| x * k)\n")
    return path


def test_check_prints_signature(program_file, capsys):
    assert main(["check", str(program_file)]) == 0
    assert capsys.readouterr().out.strip() == "(v: vec[i64], k: i64) -> vec[i64]"


def test_fmt_prints_canonical_text_that_parses_back(program_file, capsys):
    import daybreak as db

    assert main(["fmt", str(program_file)]) == 0
    text = capsys.readouterr().out
    assert db.ir.parse(text) == db.ir.parse(program_file.read_text())


def test_run_generates_data(program_file, capsys):
    assert main(["run", str(program_file), "--rows", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[") and len(np.fromstring(out.strip("[]\n"), sep=" ")) == 4


def test_errors_are_located_and_exit_nonzero(tmp_path, capsys):
    bad = tmp_path / "bad.weld"
    bad.write_text("|v: vec[i64]|\n  map(v, |x| x + 1.0)\n")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("TypeCheckError: 2:")
    assert "i64 and f64" in err and "^" in err

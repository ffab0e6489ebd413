"""The `daybreak` command's mistakes: one line on stderr and an exit status, never a traceback.

Files that cannot be read: `daybreak: cannot read FILE: why`, status 1. Bad numbers and
backend names: argparse's usage error, status 2. Mistakes in the program: the located error.
"""

from __future__ import annotations

import os

import pytest

from daybreak.cli import main


def _fails(capsys, argv: list[str], status: int) -> str:
    """main(argv)'s stderr, checking it exits with `status` and prints no traceback."""
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse
        code = stop.code
    assert code == status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "prog.weld"
    path.write_text("|v: vec[i64]| map(v, |x| x + 1L)\n")
    return path


def _unreadable(tmp_path) -> dict[str, tuple[str, str]]:
    """name -> (path, what the message says)"""
    binary = tmp_path / "binary.weld"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    latin1 = tmp_path / "latin1.weld"
    latin1.write_bytes("|x: i64| x # café\n".encode("latin-1"))
    dangling = tmp_path / "dangling.weld"
    os.symlink(tmp_path / "nowhere.weld", dangling)
    return {
        "missing": (str(tmp_path / "missing.weld"), "No such file or directory"),
        "directory": (str(tmp_path), "Is a directory"),
        "dangling symlink": (str(dangling), "No such file or directory"),
        "binary": (str(binary), "binary file"),
        "latin-1": (str(latin1), "not UTF-8 text (byte 0xe9 at offset 16)"),
    }


@pytest.mark.parametrize("command", ["check", "fmt", "run"])
@pytest.mark.parametrize("kind", ["missing", "directory", "dangling symlink", "binary", "latin-1"])
def test_a_file_that_cannot_be_read(tmp_path, capsys, command, kind):
    path, why = _unreadable(tmp_path)[kind]
    err = _fails(capsys, [command, path], 1)
    assert err.startswith(f"daybreak: cannot read {path}: ")
    assert why in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "{file}", "--rows", "-5"], "argument --rows: -5 is not between 0 and"),
        (["run", "{file}", "--rows", "100000000000"], "100000000000 is not between 0 and"),
        (["run", "{file}", "--rows", "many"], "argument --rows: 'many' is not an integer"),
        (["run", "{file}", "--seed", "-1"], "argument --seed: -1 is not between 0 and"),
        (["run", "{file}", "--backend", "nope"], "argument --backend: invalid choice: 'nope'"),
        (["demo", "--rows", "0"], "argument --rows: 0 is not between 1 and"),
        (["demo", "--backend", "gpu"], "argument --backend: invalid choice: 'gpu'"),
    ],
)
def test_bad_numbers_and_names_are_usage_errors(program, capsys, argv, message):
    err = _fails(capsys, [a.format(file=program) for a in argv], 2)
    assert message in err and "usage: daybreak" in err


def test_run_takes_zero_rows_but_not_fewer(program, capsys):
    assert main(["run", str(program), "--rows", "0"]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert "-1 is not between 0 and" in _fails(capsys, ["run", str(program), "--rows", "-1"], 2)


def test_a_builder_used_twice_is_reported_at_the_second_use(tmp_path, capsys):
    bad = tmp_path / "twice.weld"
    bad.write_text("let b = appender[i32];\n{result(merge(b, 1)), result(b)}\n")
    for command in ("check", "run"):
        err = _fails(capsys, [command, str(bad)], 1)
        assert err.startswith("LinearityError: 2:30: builder 'b' is used more than once")
        assert "^" in err

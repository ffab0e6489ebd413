"""Arguments a program cannot take are refused the same way by every backend: a ValueError or
TypeError that names the parameter and where in it the problem is."""

from __future__ import annotations

import pytest

import daybreak as db


@pytest.mark.parametrize("backend", ["llvm", "interp"])
@pytest.mark.parametrize(
    "signature,value,where,what",
    [
        (
            "vec[vec[i8]]",
            ["ok", "a\ud800"],
            "parameter 's' (vec[vec[i8]]) at [1]",
            "'\\ud800' at character 1",
        ),  # fmt: skip
        (
            "vec[vec[i8]]",
            ("\udfff",),
            "parameter 's' (vec[vec[i8]]) at [0]",
            "'\\udfff' at character 0",
        ),  # fmt: skip
        ("vec[i8]", "ab\ud800", "parameter 's' (vec[i8])", "'\\ud800' at character 2"),
    ],
)
def test_a_string_with_a_lone_surrogate_names_the_parameter(backend, signature, value, where,
                                                             what):  # fmt: skip
    f = db.compile(f"|s: {signature}| len(s)", backend=backend)
    with pytest.raises(ValueError) as info:
        f(value)
    assert str(info.value) == (
        f"{where}: the string cannot be encoded as UTF-8 (surrogates not allowed: {what})"
    )


def test_both_backends_say_the_same():
    messages = set()
    for backend in ("llvm", "interp"):
        with pytest.raises(ValueError) as info:
            db.compile("|s: vec[vec[i8]]| len(s)", backend=backend)(["x", "\ud800"])
        messages.add(str(info.value))
    assert len(messages) == 1

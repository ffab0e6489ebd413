"""The docstring examples of daybreak.optimizer (tests/test_doctests.py walks other packages)."""

import doctest
import importlib
import pkgutil

import pytest

import daybreak.optimizer

MODULES = sorted(
    {"daybreak.optimizer"}
    | {i.name for i in pkgutil.walk_packages(daybreak.optimizer.__path__, "daybreak.optimizer.")}
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"

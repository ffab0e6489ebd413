"""The examples in the frontends' docstrings are tests too."""

import doctest
import importlib
import pkgutil

import pytest

import daybreak.frontends


def _modules():
    names = {"daybreak.frontends"}
    path = daybreak.frontends.__path__
    names.update(i.name for i in pkgutil.walk_packages(path, "daybreak.frontends."))
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"

"""The examples in docstrings are tests too (run under their installed module names)."""

import doctest
import importlib
import pkgutil

import pytest

# The subpackages live in top-level folders (see pyproject.toml), so walk each one.
SUBPACKAGES = [
    "daybreak",
    "daybreak.ir",
    "daybreak.optimizer",
    "daybreak.backends",
    "daybreak.runtime",
    "daybreak.frontends",
    "daybreak.annotations",  # empty today: listed so their examples run once they exist
    "daybreak.apps",
]


def _modules():
    names = set()
    for package in SUBPACKAGES:
        names.add(package)
        path = importlib.import_module(package).__path__
        names.update(info.name for info in pkgutil.walk_packages(path, package + "."))
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"

"""Recursive tree walks of any depth: recursion written as generators, run on an explicit stack.

Programs nest as deep as their text or their frontend makes them (a 10,000-term sum is a tree
10,000 levels deep), and Python's recursion stops at about a thousand levels, or crashes when
the limit is raised and the recursion passes through C. A walk written as a generator asks for
a sub-walk with `yield` instead of calling itself, and `trampoline` runs the stack of walks in
a loop:

>>> def size(t):                       # t: a nested tuple
...     total = 1
...     for child in t:
...         total += yield size(child)  # "recursive call"
...     return total
>>> deep = ()
>>> for _ in range(100_000):
...     deep = (deep,)
>>> trampoline(size(deep))
100001

A sub-walk's exception is thrown into its caller at the `yield`, so `try`, `with` and `finally`
in a walk behave as they would with real recursion.
"""

from __future__ import annotations

from collections.abc import Generator
from types import GeneratorType
from typing import Any, TypeVar

T = TypeVar("T")
Walk = Generator[Any, Any, T]


def trampoline(walk: Walk[T] | T) -> T:
    """Run `walk` (a generator that yields sub-walks and receives their results) to its end.

    A walk may also yield a value that needs no walk (a function that computes a leaf at
    once and returns a sub-walk otherwise can be yielded either way); it is sent straight
    back. `walk` itself may be such a value.
    """
    if type(walk) is not GeneratorType:
        return walk
    stack: list[Walk] = [walk]
    value: Any = None
    error: BaseException | None = None
    while stack:
        top = stack[-1]
        try:
            if error is None:
                sub = top.send(value)
            else:
                pending, error = error, None
                sub = top.throw(pending)
        except StopIteration as done:
            stack.pop()
            value = done.value
        except BaseException as failure:  # noqa: BLE001 - handed to the caller, as recursion would
            stack.pop()
            if not stack:
                raise
            error = failure
        else:
            if type(sub) is GeneratorType:
                stack.append(sub)
                value = None
            else:  # a result known without a walk (a leaf): straight back to the walk
                value = sub
    return value


__all__ = ["trampoline", "Walk"]

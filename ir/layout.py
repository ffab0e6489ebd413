"""A small Wadler-style layout engine: documents with optional line breaks, laid out in a width.

A document is text (`str`), a concatenation (`list`), a line marker, or a tuple made by one of
the functions below. A group is printed flat when it fits on the line, else broken at its own
line markers; nested groups decide for themselves. Layout is linear in the document's size.

>>> doc = group(["f(", nest([SOFT, *join(["aaaa", "bbbb", "cccc"], [",", LINE])]), SOFT, ")"])
>>> render(doc, width=80)
'f(aaaa, bbbb, cccc)'
>>> print(render(doc, width=10))
f(
  aaaa,
  bbbb,
  cccc
)
"""

from __future__ import annotations

LINE = "<line>"  # a space when its group is flat, else a newline
SOFT = "<soft>"  # nothing when its group is flat, else a newline
HARD = "<hard>"  # always a newline; a plain group holding one is never flat
# A LINE where a hug group may end its line (after a lambda's parameters): measuring a hug
# group stops there, since the lambda can break there if what follows does not fit.
LAMBDA_LINE = "<lambda-line>"
_SPACES = {LINE: " ", SOFT: "", LAMBDA_LINE: " "}
INDENT = 2

# Modes of a group's content: flat (its lines are spaces, nested groups flat too), broken (its
# lines are newlines), inline (its lines are spaces, nested groups decide for themselves).
_FLAT, _BREAK, _INLINE = 0, 1, 2


def nest(doc, indent: int = INDENT):
    """`doc` with `indent` more columns after each of its newlines."""
    return ("nest", indent, doc)


def nest_if_broken(doc, indent: int = INDENT):
    """Like `nest`, but only when the enclosing group is broken (hug groups keep the indent
    of their line, so a hugged lambda's body is indented once, not once per call)."""
    return ("bnest", indent, doc)


def align(doc):
    """`doc` with its newlines indented to the column where it starts."""
    return ("align", doc)


def group(doc):
    """Flat if it all fits on the line, else broken."""
    return ("group", doc)


def inline_group(doc):
    """Like `group`, but measured only up to the first hard line or lambda line inside: an
    operator between two multi-line operands stays between them."""
    return ("inline", doc)


def hug_group(doc):
    """Like `group`, but measured only up to the first lambda line inside: a call whose last
    argument is a lambda stays on one line up to the lambda's parameters."""
    return ("hug", doc)


def join(docs, sep) -> list:
    out: list = []
    for k, d in enumerate(docs):
        if k:
            out.append(sep)
        out.append(d)
    return out


def _fits(doc, rest: list, width: int, kind: str) -> bool:
    """Whether `doc`, flat, and what follows it up to the next line break fit in `width`.

    `rest` is the layout stack: what follows, in the modes already chosen for it. A hard line
    or a lambda line there may end the line; inside `doc`, only for the group kinds that say so.
    """
    items = [(_FLAT, doc, True)]
    k = len(rest)
    while width >= 0:
        if not items:
            if k == 0:
                return True
            k -= 1
            _, mode, d = rest[k]
            items.append((mode, d, False))
            continue
        mode, d, inside = items.pop()
        if isinstance(d, str):
            if d == HARD:
                return mode == _BREAK or not inside or kind == "inline"
            if d in _SPACES:
                if mode == _BREAK or (d == LAMBDA_LINE and (kind != "group" or not inside)):
                    return True
                width -= len(_SPACES[d])
            else:
                width -= len(d)
        elif isinstance(d, list):
            items.extend((mode, x, inside) for x in reversed(d))
        else:
            items.append((mode, d[-1], inside))
    return False


def render(doc, width: int = 100) -> str:
    """Lay out a document within `width` columns (where it can be broken to fit)."""
    out: list[str] = []
    column = 0
    stack = [(0, _BREAK, doc)]
    while stack:
        indent, mode, d = stack.pop()
        if isinstance(d, str):
            if d == HARD or (d in _SPACES and mode == _BREAK):
                out.append("\n" + " " * indent)
                column = indent
            elif d in _SPACES:
                out.append(_SPACES[d])
                column += len(_SPACES[d])
            else:
                out.append(d)
                column += len(d)
        elif isinstance(d, list):
            stack.extend((indent, mode, x) for x in reversed(d))
        elif d[0] == "nest":
            stack.append((indent + d[1], mode, d[2]))
        elif d[0] == "align":
            stack.append((column, mode, d[1]))
        elif d[0] == "bnest":
            stack.append((indent + d[1] if mode == _BREAK else indent, mode, d[2]))
        elif mode == _FLAT:
            stack.append((indent, _FLAT, d[1]))
        elif _fits(d[1], stack, width - column, d[0]):
            stack.append((indent, _FLAT if d[0] == "group" else _INLINE, d[1]))
        else:
            stack.append((indent, _BREAK, d[1]))
    return "".join(out)


__all__ = [
    "LINE",
    "SOFT",
    "HARD",
    "LAMBDA_LINE",
    "INDENT",
    "nest",
    "nest_if_broken",
    "align",
    "group",
    "inline_group",
    "hug_group",
    "join",
    "render",
]

"""Source locations and the error hierarchy, by phase.

Every error that points into program text prints `line:col`, the source line and a caret:

    TypeCheckError: 3:12: cannot merge f64 into merger[i32,+]
      let b2 = merge(b, 1.5);
                 ^
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Loc:
    """A position in program text (1-based line and column) and the text it came from."""

    line: int
    col: int
    source: str | None = None  # the whole program text, to show the offending line

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"

    def excerpt(self) -> str:
        """The source line and a caret under the column, or '' when the text is unknown."""
        if self.source is None:
            return ""
        lines = self.source.splitlines()
        if not 1 <= self.line <= len(lines):
            return ""
        text = lines[self.line - 1].expandtabs(1)
        return f"  {text}\n  {' ' * (self.col - 1)}^"


class DaybreakError(Exception):
    """Base of every error daybreak raises on purpose."""


class IRError(DaybreakError):
    """An error located in IR text: the message carries `line:col`, the line and a caret."""

    def __init__(self, message: str, loc: Loc | None = None):
        self.message = message
        self.loc = loc
        super().__init__(self._render())

    def _render(self) -> str:
        if self.loc is None:
            return self.message
        excerpt = self.loc.excerpt()
        head = f"{self.loc}: {self.message}"
        return f"{head}\n{excerpt}" if excerpt else head


class ParseError(IRError, SyntaxError):
    """The text is not a program of the language (also a SyntaxError, as users expect)."""

    def __init__(self, message: str, loc: Loc | None = None):
        IRError.__init__(self, message, loc)

    def __str__(self) -> str:  # SyntaxError would otherwise print only its first argument
        return self._render()


class TypeCheckError(IRError, TypeError):
    """The program is syntactically valid but ill-typed."""


class LinearityError(TypeCheckError):
    """A builder is used more than once (Weld's builders are linear): a mistake in the
    program, whichever backend would run it."""


class LoweringError(IRError):
    """A backend could not lower a node (names the node and its source location)."""


class UnsupportedError(DaybreakError):
    """A backend does not implement an operation (a gap, not a user mistake)."""

    def __init__(self, op: str, backend: str, detail: str = ""):
        self.op = op
        self.backend = backend
        msg = f"{op!s} is not supported by the {backend} backend"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class UnknownBackendError(DaybreakError, ValueError):
    """A backend name that no backend is registered under (the caller's mistake)."""

    def __init__(self, name: str, known):
        self.name = name
        super().__init__(f"no such backend {name!r} (known: {', '.join(sorted(known))})")


class WeldRuntimeError(IRError, RuntimeError):
    """A program failed while running: an index out of bounds, a missing key, a failed assert."""

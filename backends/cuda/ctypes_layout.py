"""IR value types as C++ types in generated CUDA source, and their layout on the host.

A program's C++ structs (`struct db_s0 { db_f64 f0; db_i64 f1; };`) are declared once per
distinct struct type, in an order where a field's type comes first. The host reads and writes
the same bytes through ctypes structures built from the same types, so the two layouts agree by
construction (natural alignment on both sides).

    >>> from daybreak.ir.types import F64, I64, Struct, Vec
    >>> names = CNames()
    >>> names.of(Vec(Struct((F64, I64))))
    'db_vec<db_s0>'
    >>> print(names.declarations())
    struct db_s0 { db_f64 f0; db_i64 f1; };
"""

from __future__ import annotations

import ctypes

from ...ir.errors import UnsupportedError
from ...ir.types import Dict, Scalar, Struct, Type, Vec
from ...runtime.native import ctype


class CNames:
    """The C++ name of each value type a program uses, and the struct declarations."""

    def __init__(self):
        self._structs: dict[Struct, str] = {}
        self._order: list[tuple[str, Struct]] = []

    def of(self, t: Type) -> str:
        if isinstance(t, Scalar):
            return f"db_{t.kind}"
        if isinstance(t, Vec):
            return f"db_vec<{self.of(t.elem)}>"
        if isinstance(t, Dict):
            return self.of(entries_of(t))
        if isinstance(t, Struct):
            name = self._structs.get(t)
            if name is None:
                for f in t.fields:
                    self.of(f)  # (a field's struct is declared before this one)
                name = self._structs[t] = f"db_s{len(self._structs)}"
                self._order.append((name, t))
            return name
        raise UnsupportedError(str(t), "cuda", "values of this type are not lowered yet")

    def declarations(self) -> str:
        lines = []
        for name, st in self._order:
            fields = " ".join(f"{self.of(f)} f{k};" for k, f in enumerate(st.fields))
            lines.append(f"struct {name} {{ {fields} }};")
        return "\n".join(lines)


def entries_of(t: Dict) -> Vec:
    """What a dictionary is on the device: its entries `{key, value}` sorted by key in
    `tovec`'s order (ir/ops.py's `sort_key`), so `tovec` is the dictionary itself and a
    lookup is a binary search."""
    return Vec(Struct((t.key, t.value)))


def host_layout(t: Type):
    """The ctypes type with the layout of `t` in device memory: the LLVM backend's mirror
    (`runtime.native.ctype`), with each dictionary its entries vector (`entries_of`)."""
    return ctype(_entries_for_dicts(t))


def _entries_for_dicts(t: Type) -> Type:
    if isinstance(t, Dict):
        return _entries_for_dicts(entries_of(t))
    if isinstance(t, Vec):
        return Vec(_entries_for_dicts(t.elem))
    if isinstance(t, Struct):
        return Struct(tuple(_entries_for_dicts(f) for f in t.fields))
    return t


def args_layout(types: list[Type]):
    """The ctypes structure of a program's arguments, one field `p<k>` per parameter."""
    fields = [(f"p{k}", host_layout(t)) for k, t in enumerate(types)]
    return type("Args", (ctypes.Structure,), {"_fields_": fields or [("unused", ctypes.c_int64)]})

"""Random programs in the shapes a NumPy frontend writes: flat `vec[f64]` arrays, elementwise
maps as `for(zip(...), appender, ...)`, slices as `iter(v, s, e, k)`, broadcasts as
`lookup(v, i / m)` / `lookup(v, i % m)` over `rangeiter`, filters, reductions, and arrays
used several times. The hypothesis strategy `pipelines()` draws one with its arguments.

Each step binds a new array (or scalar) by `let`; the program returns a struct of some of
them. Every array of the program has the parameters' length `n` unless a step says otherwise
(slices, filters); steps that zip arrays pick arrays of one length class, except when
`mismatch` is drawn, which zips a slice with a full array to make the zip's length check fail.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

_UNARY = ["x * 2.0", "x + 1.0", "x - 0.5", "x * x", "-x", "x / 4.0", "min(x, 1.0)"]
_BINARY = ["x.$0 + x.$1", "x.$0 * x.$1", "x.$0 - x.$1", "max(x.$0, x.$1)"]


@st.composite
def pipelines(draw, max_steps: int = 6, mismatch_allowed: bool = False):
    """(program text, args): a random pipeline over 1-3 `vec[f64]` parameters."""
    n_params = draw(st.integers(1, 3))
    n = draw(st.integers(0, 6))
    params = [f"p{k}" for k in range(n_params)]
    # name -> length class: "n" (full), or a slice/filter tag (only zipped with itself)
    arrays: dict[str, str] = {p: "n" for p in params}
    scalars: list[str] = []
    lines: list[str] = []
    for step in range(draw(st.integers(1, max_steps))):
        name = f"t{step}"
        full = [a for a, c in arrays.items() if c == "n"]
        kind = draw(
            st.sampled_from(
                [
                    "map",
                    "zip",
                    "zip3",
                    "slice",
                    "filter",
                    "reduce",
                    "gather",
                    "broadcast",
                    "zip_self",
                    "centered",
                    "slice_of_map",
                ]
            )
        )
        pick = lambda pool: draw(st.sampled_from(pool))  # noqa: E731
        if kind == "map":
            src = pick(list(arrays))
            body = pick(_UNARY)
            lines.append(
                f"let {name} = result(for({src}, appender[f64], |b, i, x| merge(b, {body})));"
            )
            arrays[name] = arrays[src]
        elif kind in ("zip", "zip3"):
            k = 2 if kind == "zip" else 3
            srcs = [pick(full) for _ in range(k)]
            if mismatch_allowed and draw(st.booleans()):
                others = [a for a, c in arrays.items() if c != "n"]
                if others:
                    srcs[-1] = pick(others)
            x = " + ".join(f"x.${j}" for j in range(k)) if k == 3 else pick(_BINARY)
            lines.append(
                f"let {name} = result(for(zip({', '.join(srcs)}), appender[f64], "
                f"|b, i, x| merge(b, {x})));"
            )
            arrays[name] = "n"
        elif kind == "slice":
            src = pick(full)
            lo = draw(st.integers(0, 2))
            lines.append(
                f"let {name} = result(for(iter({src}, {lo}L, len({src}), 1L), "
                f"appender[f64], |b, i, x| merge(b, x + f64(i))));"
            )
            arrays[name] = f"slice{lo}"
        elif kind == "slice_of_map":
            src = pick(full)
            lines.append(
                f"let {name} = result(for(zip(iter({src}, 1L, len({src}), 1L), "
                f"iter({src}, 0L, len({src}) - 1L, 1L)), appender[f64], |b, i, x| "
                f"merge(b, x.$0 - x.$1)));"
            )
            arrays[name] = "diff"
        elif kind == "centered":
            src = pick(full)
            s = f"s{step}"
            lines.append(f"let {s} = result(for({src}, merger[f64,+], |b, i, x| merge(b, x)));")
            lines.append(
                f"let {name} = result(for({src}, appender[f64], |b, i, x| merge(b, x - {s})));"
            )
            scalars.append(s)
            arrays[name] = "n"
        elif kind == "filter":
            src = pick(list(arrays))
            lines.append(
                f"let {name} = result(for({src}, appender[f64], |b, i, x| "
                f"if(x > 0.5, merge(b, x), b)));"
            )
            arrays[name] = f"filter{step}"
        elif kind == "reduce":
            src = pick(list(arrays))
            op = pick(["+", "max", "min"])
            lines.append(
                f"let {name} = result(for({src}, merger[f64,{op}], |b, i, x| merge(b, x)));"
            )
            scalars.append(name)
        elif kind == "gather":
            src, idx = pick(full), pick(full)
            lines.append(
                f"let {name} = result(for({idx}, appender[f64], |b, i, x| "
                f"merge(b, x + lookup({src}, i))));"
            )
            arrays[name] = "n"
        elif kind == "broadcast":
            a, c = pick(full), pick(full)
            lines.append(
                f"let {name} = result(for(rangeiter(0L, len({a}) * len({c}), 1L), "
                f"appender[f64], |b, i, x| merge(b, lookup({a}, i / len({c})) * "
                f"lookup({c}, i % len({c})))));"
            )
            arrays[name] = "outer"
        else:  # zip_self
            src = pick(list(arrays))
            lines.append(
                f"let {name} = result(for(zip({src}, {src}), appender[f64], "
                f"|b, i, x| merge(b, x.$0 * x.$1)));"
            )
            arrays[name] = arrays[src]
    names = [a for a in arrays if a not in params] + scalars
    outputs = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    header = "|" + ", ".join(f"{p}: vec[f64]" for p in params) + "|"
    text = "\n".join([header, *lines, "{" + ", ".join(outputs) + "}"])
    values = st.floats(-4, 4, allow_nan=False).map(lambda v: round(v, 2))
    args = tuple(
        np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.float64) for _ in params
    )
    return text, args

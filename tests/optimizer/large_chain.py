"""A long straight-line program, as a long NumPy/pandas script lowers: thousands of `let`s, a
few hundred of them loops, in the shapes the fusion passes look for (maps, kept maps with
their sums, several reductions of one array, gathers, slices of a map, repeated scalar
expressions). Deterministic: `chain(lets, loops)` gives the same text every time.

Every array is a map of the parameters or of a recent array, every scalar stays small (the
maps scale by at most 1), and one running scalar sums every reduction, so no step is dead.
"""

from __future__ import annotations

_LOOP_KINDS = ("map", "kept_map_and_sum", "sum_and_max", "gather", "slices", "zip_of_maps")


def chain(lets: int = 2000, loops: int = 300) -> str:
    """Program text with `lets` lets (`loops` of them loops over the data), over
    `a: vec[f64], b: vec[f64], s: f64`, returning a struct of arrays and scalars."""
    lines: list[str] = ["|a: vec[f64], b: vec[f64], s: f64|"]
    arrays = ["a", "b"]  # full-length arrays, newest last
    scalar = "s"  # the newest scalar
    acc = "s"  # the running sum of every reduction
    outputs: list[str] = []
    every = max(1, lets // max(1, loops))
    made_loops = 0
    count = 0

    def let(name: str, value: str) -> None:
        nonlocal count
        lines.append(f"let {name} = {value};")
        count += 1

    while count < lets:
        k = count
        if k % every == every - 1 and made_loops < loops:
            kind = _LOOP_KINDS[made_loops % len(_LOOP_KINDS)]
            src, other = arrays[-1], arrays[-2]
            if kind == "map":
                let(
                    f"y{k}",
                    f"result(for({src}, appender[f64], |bb, i, x| "
                    f"merge(bb, x * 0.5 + {scalar} * 0.001)))",
                )
                arrays.append(f"y{k}")
            elif kind == "kept_map_and_sum":
                let(f"y{k}", f"result(for({src}, appender[f64], |bb, i, x| merge(bb, x - 0.25)))")
                let(f"t{k}", f"result(for(y{k}, merger[f64,+], |m, i, x| merge(m, x)))")
                arrays.append(f"y{k}")
                outputs.append(f"y{k}")
                let(f"acc{k}", f"{acc} + t{k} * 0.001")
                acc = f"acc{k}"
            elif kind == "sum_and_max":
                let(f"t{k}", f"result(for({src}, merger[f64,+], |m, i, x| merge(m, x)))")
                let(f"u{k}", f"result(for({src}, merger[f64,max], |m, i, x| merge(m, x)))")
                let(f"acc{k}", f"{acc} + (t{k} - u{k}) * 0.001")
                acc = f"acc{k}"
            elif kind == "gather":
                let(f"g{k}", f"result(for({src}, appender[f64], |bb, i, x| merge(bb, x * 0.75)))")
                let(
                    f"y{k}",
                    f"result(for({other}, appender[f64], |bb, i, x| "
                    f"merge(bb, x * 0.5 - lookup(g{k}, i) * 0.5)))",
                )
                arrays.append(f"y{k}")
            elif kind == "slices":
                let(f"n{k}", f"len({src})")
                let(
                    f"d{k}",
                    f"result(for(zip(iter({src}, 1L, n{k}, 1L), iter({src}, 0L, "
                    f"n{k} - 1L, 1L)), merger[f64,+], |m, i, x| merge(m, x.$0 - x.$1)))",
                )
                let(f"acc{k}", f"{acc} + d{k} * 0.001")
                acc = f"acc{k}"
            else:  # zip_of_maps
                let(f"p{k}", f"result(for({src}, appender[f64], |bb, i, x| merge(bb, x * 0.5)))")
                let(f"q{k}", f"result(for({other}, appender[f64], |bb, i, x| merge(bb, x * 0.25)))")
                let(
                    f"y{k}",
                    f"result(for(zip(p{k}, q{k}), appender[f64], |bb, i, x| "
                    f"merge(bb, x.$0 + x.$1)))",
                )
                arrays.append(f"y{k}")
            made_loops += (
                1
                + (kind in ("kept_map_and_sum", "sum_and_max", "gather", "zip_of_maps"))
                + (kind == "zip_of_maps")
            )
        elif k % 3 == 0:
            # the same expression of the parameter at every third step: CSE binds it once
            let(f"c{k}", f"{scalar} * 0.5 + (s * 0.25 + 1.0) * 0.01")
            scalar = f"c{k}"
        elif k % 3 == 1:
            # a repeated expression of the previous step: CSE binds it in that step's scope
            let(f"c{k}", f"({scalar} * {scalar} + 1.0) * 0.25 + ({scalar} * {scalar} + 1.0) * 0.25")
            scalar = f"c{k}"
        else:
            let(f"c{k}", f"{scalar} * 1.0")  # folds to a name; inlining drops the let
            scalar = f"c{k}"
    outputs = [*outputs[-4:], arrays[-1], scalar, acc]
    lines.append("{" + ", ".join(outputs) + "}")
    return "\n".join(lines)

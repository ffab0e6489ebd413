"""Dictionaries and the dict builders (dictmerger, groupmerger) in LLVM, on the hash tables
of dict_tables.py.

* dictmerger[K,V,op]: merge finds or adds the key's slot and combines the value in place; its
  result is the table itself (builders are linear, so updating in place is merging).
* groupmerger[K,V]: the table of its result, dict[K, vec[V]]. While building, a slot's vector
  holds {null, group id} and each merge appends {id, value} to the table's log; `result` counts
  the groups, lays them out in one block in merge order and points each slot's vector at its
  group.
* `merge_tables` merges per-thread dict builders of a parallel loop; `fresh_dict_builder` makes
  them.
* Reads: len, lookup (a missing key is a located runtime error), keyexists, optlookup (the zero
  of a dict value is the null table, an empty dict), tovec (sorted by key).

Values cross to and from the host as vectors of {key, value} pairs (`import_value` and
`export_value`, called by the entry function), so the host never hashes.

Code is generated once per module and type, as internal functions (`db.dict.insert.<tag>`,
...) that LLVM inlines where it pays.
"""

from __future__ import annotations

from llvmlite import ir

from ...ir import nodes as N
from ...ir.errors import LoweringError
from ...ir.ops import MERGE_OP_DECLS
from ...ir.types import Dict, DictMerger, GroupMerger, Struct, Type, Vec
from . import dict_dense, dict_spill
from .algorithms import merge_sort
from .cgutils import alloca_entry, i64, to_bool
from .dict_keys import check_key_type, compare_keys, contains, function
from .dict_tables import (
    COUNT,
    HASH,
    KEY,
    LOG,
    LOG_CAP,
    LOG_LEN,
    VALUE,
    Table,
    clear,
    each_slot,
    field,
    find,
    header_of,
    insert,
    memset0,
    new_table,
    null,
    reserve,
    table_hash,
    table_of,
)
from .layout import I32, I64, VOIDPTR, lltype, vec_type
from .runtime_interrupt import for_range_checked
from .runtime_ir import CTX_PTR

# ----------------------------------------------------------------------------------------------
# The dict builders: new, merge, result.


def new_dict_builder(L, n: N.NewBuilder, env) -> ir.Value:
    """dictmerger[K,V,op](hint) and groupmerger[K,V]: a new table."""
    check_key_type(n.type.key, n.loc)
    hint = L.lower(n.arg, env) if n.arg is not None else i64(0)
    return _new_table(L, n.type, hint)


def _new_table(L, t: Type, hint: ir.Value) -> ir.Value:
    """A new table for a dict builder; a dictmerger over integer keys starts dense."""
    table = new_table(L, table_of(t), hint)
    if isinstance(t, DictMerger) and dict_dense.eligible(t.key):
        dict_dense.start(L, table)
    return table


def merge_dict_builder(L, n: N.Merge, table: ir.Value, pair: ir.Value) -> None:
    """merge(b, {k, v}) into a dictmerger or groupmerger."""
    t = n.builder.ty
    b = L.builder
    key, value = b.extract_value(pair, 0), b.extract_value(pair, 1)
    b.call(_MERGE_FUNCTIONS[type(t)](L, t), [L.ctx, table, key, value])


def _dictmerger_merge(L, t: DictMerger) -> ir.Function:
    """Combine into the table at once while it is small; append to a partition once it is
    big (dict_spill.py)."""
    tt = table_of(t)

    def emit(L, ctx, table, key, value) -> None:
        b = L.builder
        hashed = b.append_basic_block("hashed")
        if dict_dense.eligible(tt.key):
            dense = b.append_basic_block("dense")
            b.cbranch(dict_dense.is_dense(L, table), dense, hashed)
            b.position_at_end(dense)
            this = b.function
            dict_dense.merge(
                L,
                tt,
                table,
                key,
                combine=lambda slot, is_new: _combine_into(L, t, slot, is_new, value),
                remerge=lambda: b.call(this, [ctx, table, key, value]),
            )
            b.ret_void()
        else:
            b.branch(hashed)
        b.position_at_end(hashed)
        with b.if_else(dict_spill.spilling(L, table)) as (spills, direct):
            with spills:
                dict_spill.append(L, tt, table, key, value)
            with direct:
                slot, is_new = insert(L, tt, table, key)
                _combine_into(L, t, slot, is_new, value)
                with b.if_then(is_new, likely=False):
                    dict_spill.start_if_big(L, tt, table)
        b.ret_void()

    name = f"db.dictmerger.merge.{tt.tag}.{MERGE_OP_DECLS[t.op].label}"
    args = [CTX_PTR, VOIDPTR, tt.key_ll, tt.value_ll]
    return function(L, name, ir.VoidType(), args, emit)


def _combine_into(L, t: DictMerger, slot, is_new, value) -> None:
    from .builders import combine  # builders routes dict builders here

    b = L.builder
    ptr = field(b, slot, VALUE)
    combined = combine(L, t.op, b.load(ptr), value, t.value)  # a new slot's value is zero
    b.store(b.select(is_new, value, combined), ptr)


def _groupmerger_merge(L, t: GroupMerger) -> ir.Function:
    tt = table_of(t)

    def emit(L, ctx, table, key, value) -> None:
        b = L.builder
        slot, is_new = insert(L, tt, table, key)
        group = field(b, field(b, slot, VALUE), 1)  # the vector's length holds the group id
        with b.if_then(is_new):
            count = b.load(field(b, header_of(b, table), COUNT))
            b.store(b.sub(count, i64(1)), group)
        _log_append(L, t, table, b.load(group), value)
        b.ret_void()

    name = f"db.groupmerger.merge.{tt.tag}"
    return function(L, name, ir.VoidType(), [CTX_PTR, VOIDPTR, tt.key_ll, lltype(t.value)], emit)


_MERGE_FUNCTIONS = {DictMerger: _dictmerger_merge, GroupMerger: _groupmerger_merge}


def _log_entry(t: GroupMerger) -> ir.LiteralStructType:
    return ir.LiteralStructType([I64, lltype(t.value)])


def _log_append(L, t: GroupMerger, table, group, value) -> None:
    b = L.builder
    entry_ty = _log_entry(t)
    header = header_of(b, table)
    length = b.load(field(b, header, LOG_LEN))
    capacity = b.load(field(b, header, LOG_CAP))
    with b.if_then(b.icmp_signed(">=", length, capacity), likely=False):
        doubled = b.mul(capacity, i64(2))
        bigger = b.select(b.icmp_signed("<", doubled, i64(16)), i64(16), doubled)
        log = b.bitcast(b.load(field(b, header, LOG)), entry_ty.as_pointer())
        b.store(b.bitcast(L.grow_array(log, length, bigger), VOIDPTR), field(b, header, LOG))
        b.store(bigger, field(b, header, LOG_CAP))
    log = b.bitcast(b.load(field(b, header, LOG)), entry_ty.as_pointer())
    entry = b.insert_value(ir.Constant(entry_ty, ir.Undefined), group, 0)
    b.store(b.insert_value(entry, value, 1), b.gep(log, [length]))
    b.store(b.add(length, i64(1)), field(b, header, LOG_LEN))


def flush(L, table: ir.Value, t: DictMerger) -> None:
    """Combine a dictmerger's spilled merges into its table (dict_spill.py); cheap when none.

    Two passes over the partitions. First each partition is aggregated in a small scratch
    table that stays in cache, and its distinct {key, value}s overwrite the partition's first
    entries. Then the table is grown once to hold every key, and the partitions' aggregates
    are combined into it in partition order, that is, region by region of the table."""
    tt = table_of(t)

    def emit(L, ctx, table) -> None:
        b = L.builder
        with b.if_then(dict_spill.spilling(L, table)):
            parts = dict_spill.partitions(L, table)
            counts = L.alloc_array(I64, i64(dict_spill.PARTITIONS))
            total = alloca_entry(b, I64)
            b.store(i64(0), total)
            scratch = new_table(L, tt, i64(0))
            last = alloca_entry(b, I64)
            b.store(i64(0), last)
            with dict_spill.each_partition(L, parts, "aggregate") as (p, part):
                clear(L, tt, scratch)
                # Partitions hold about as many keys each: sizing the scratch table for 3x the
                # last one's keeps its load near 1/5, so probes rarely go past the first slot.
                reserve(L, tt, scratch, b.mul(b.load(last), i64(3)))

                def into_scratch(pair) -> None:
                    key = b.extract_value(pair, 0)
                    h = dict_spill.partition_hash(b, table_hash(L, key, tt.key))
                    slot, is_new = insert(L, tt, scratch, key, h)
                    _combine_into(L, t, slot, is_new, b.extract_value(pair, 1))

                dict_spill.entries(L, tt, part, into_scratch)
                rewriter = dict_spill.Rewriter(L, tt, part)

                def compact(slot) -> None:
                    pair = b.insert_value(
                        ir.Constant(tt.pair, ir.Undefined), b.load(field(b, slot, KEY)), 0
                    )
                    rewriter.write(b.insert_value(pair, b.load(field(b, slot, VALUE)), 1))

                each_slot(L, tt, scratch, "compact")(compact)
                found = b.load(field(b, header_of(b, scratch), COUNT))
                b.store(found, b.gep(counts, [p]))
                b.store(found, last)
                b.store(b.add(b.load(total), found), total)
            keys = b.add(b.load(field(b, header_of(b, table), COUNT)), b.load(total))
            reserve(L, tt, table, keys)

            def into_table(pair) -> None:
                slot, is_new = insert(L, tt, table, b.extract_value(pair, 0))
                _combine_into(L, t, slot, is_new, b.extract_value(pair, 1))

            with dict_spill.each_partition(L, parts, "combine") as (p, part):
                dict_spill.entries(L, tt, part, into_table, b.load(b.gep(counts, [p])))
                dict_spill.empty(L, part)
        b.ret_void()

    name = f"db.dictmerger.flush.{tt.tag}.{MERGE_OP_DECLS[t.op].label}"
    fn = function(L, name, ir.VoidType(), [CTX_PTR, VOIDPTR], emit)
    fn.attributes.add("noinline")  # cold, and big: keep it out of the loops that merge
    L.builder.call(fn, [L.ctx, table])


def dict_builder_result(L, table: ir.Value, t: Type) -> ir.Value:
    """result(b) of a dictmerger (the table, spilled merges combined) or a groupmerger (the
    table, groups laid out)."""
    if isinstance(t, DictMerger):
        flush(L, table, t)
    if isinstance(t, GroupMerger):
        tt = table_of(t)
        name = f"db.groupmerger.result.{tt.tag}"
        fn = function(L, name, ir.VoidType(), [CTX_PTR, VOIDPTR], _emit_group_result(t))
        L.builder.call(fn, [L.ctx, table])
    return table


def _emit_group_result(t: GroupMerger):
    """Counting sort of the log by group id: one block for all values, each group in merge
    order; each slot's vector then points at its group."""
    tt = table_of(t)

    def emit(L, ctx, table) -> None:
        b = L.builder
        header = header_of(b, table)
        # A program that gives the builder to `result` twice (not linear) must not lay the
        # groups out twice: a finished table has log_cap -1.
        finished = b.icmp_signed("==", b.load(field(b, header, LOG_CAP)), i64(-1))
        with b.if_then(finished, likely=False):
            b.ret_void()
        groups = b.load(field(b, header, COUNT))
        length = b.load(field(b, header, LOG_LEN))
        log = b.bitcast(b.load(field(b, header, LOG)), _log_entry(t).as_pointer())
        starts, ends = L.alloc_array(I64, groups), L.alloc_array(I64, groups)
        memset0(b, ends, b.mul(groups, i64(8)))
        with for_range_checked(L, length, "count") as i:
            at = b.gep(ends, [b.load(field(b, b.gep(log, [i]), 0))])
            b.store(b.add(b.load(at), i64(1)), at)
        running = alloca_entry(b, I64)
        b.store(i64(0), running)
        with for_range_checked(L, groups, "start") as g:
            start = b.load(running)
            b.store(start, b.gep(starts, [g]))
            b.store(b.add(start, b.load(b.gep(ends, [g]))), running)
            b.store(start, b.gep(ends, [g]))  # from here on: where the group's next value goes
        values = L.alloc_array(lltype(t.value), length)
        with for_range_checked(L, length, "place") as i:
            entry = b.load(b.gep(log, [i]))
            at = b.gep(ends, [b.extract_value(entry, 0)])
            position = b.load(at)
            b.store(b.extract_value(entry, 1), b.gep(values, [position]))
            b.store(b.add(position, i64(1)), at)

        def point_at_group(slot) -> None:
            vec = field(b, slot, VALUE)
            group = b.load(field(b, vec, 1))
            start = b.load(b.gep(starts, [group]))
            b.store(b.gep(values, [start]), field(b, vec, 0))
            b.store(b.sub(b.load(b.gep(ends, [group])), start), field(b, vec, 1))

        each_slot(L, tt, table, "group")(point_at_group)
        b.store(i64(-1), field(b, header, LOG_CAP))
        b.ret_void()

    return emit


def fresh_dict_builder(L, t: Type) -> ir.Value:
    """An empty dictmerger or groupmerger of type `t` (a per-thread copy for a parallel loop).
    It starts small and grows: the loop's iteration count says nothing about its keys."""
    return _new_table(L, t, i64(0))


def merge_tables(L, dst: ir.Value, src: ir.Value, builder_type: Type) -> None:
    """Merge the builder `src` into `dst` (both dictmergers or both groupmergers of type
    `builder_type`, neither yet given to `result`): a dictmerger combines src's value of each
    key into dst's with the op (dst's value first); a groupmerger appends src's values of
    each key after dst's, in src's merge order. So merging per-thread builders in loop order
    gives what one thread would have built. `src` is left as it was."""
    if not isinstance(builder_type, DictMerger | GroupMerger):
        raise LoweringError(f"merge_tables merges dict builders, not {builder_type}")
    tt = table_of(builder_type)
    if isinstance(builder_type, DictMerger):
        flush(L, dst, builder_type)
        flush(L, src, builder_type)
    kind = "dictmerger" if isinstance(builder_type, DictMerger) else "groupmerger"
    suffix = f".{MERGE_OP_DECLS[builder_type.op].label}" if kind == "dictmerger" else ""
    name = f"db.{kind}.merge_tables.{tt.tag}{suffix}"
    emit = _MERGE_TABLES[type(builder_type)](builder_type)
    fn = function(L, name, ir.VoidType(), [CTX_PTR, VOIDPTR, VOIDPTR], emit)
    L.builder.call(fn, [L.ctx, dst, src])


def _reserve_for_both(L, tt: Table, dst, src) -> None:
    """Room in dst for the keys of both (src's keys come in hash order: see reserve)."""
    b = L.builder
    keys = b.add(
        b.load(field(b, header_of(b, dst), COUNT)), b.load(field(b, header_of(b, src), COUNT))
    )
    reserve(L, tt, dst, keys)


def _merge_dictmergers(t: DictMerger):
    """Dense tables merge slot by slot (dict_dense.py); otherwise as hash tables."""
    tt = table_of(t)

    def emit(L, ctx, dst, src) -> None:
        b = L.builder
        if dict_dense.eligible(tt.key):
            both = b.and_(dict_dense.is_dense(L, dst), dict_dense.is_dense(L, src))
            with b.if_then(both):

                def combine(target, slot, is_new) -> None:
                    _combine_into(L, t, target, is_new, b.load(field(b, slot, VALUE)))

                with b.if_then(dict_dense.merge_tables(L, tt, dst, src, combine)):
                    b.ret_void()
            dict_dense.to_hashed(L, tt, dst)
            dict_dense.to_hashed(L, tt, src)
        _reserve_for_both(L, tt, dst, src)

        def add(slot) -> None:
            key = b.load(field(b, slot, KEY))
            into, is_new = insert(L, tt, dst, key, b.load(field(b, slot, HASH)))
            _combine_into(L, t, into, is_new, b.load(field(b, slot, VALUE)))

        each_slot(L, tt, src, "merge")(add)
        b.ret_void()

    return emit


def _merge_groupmergers(t: GroupMerger):
    """src's groups get dst's ids (new groups added), then src's log is appended in order."""
    tt = table_of(t)

    def emit(L, ctx, dst, src) -> None:
        b = L.builder
        _reserve_for_both(L, tt, dst, src)
        src_header = header_of(b, src)
        ids = L.alloc_array(I64, b.load(field(b, src_header, COUNT)))

        def add(slot) -> None:
            key = b.load(field(b, slot, KEY))
            into, is_new = insert(L, tt, dst, key, b.load(field(b, slot, HASH)))
            group = field(b, field(b, into, VALUE), 1)
            with b.if_then(is_new):
                b.store(b.sub(b.load(field(b, header_of(b, dst), COUNT)), i64(1)), group)
            src_group = b.load(field(b, field(b, slot, VALUE), 1))
            b.store(b.load(group), b.gep(ids, [src_group]))

        each_slot(L, tt, src, "map")(add)
        log = b.bitcast(b.load(field(b, src_header, LOG)), _log_entry(t).as_pointer())
        with for_range_checked(L, b.load(field(b, src_header, LOG_LEN)), "append") as i:
            entry = b.load(b.gep(log, [i]))
            group = b.load(b.gep(ids, [b.extract_value(entry, 0)]))
            _log_append(L, t, dst, group, b.extract_value(entry, 1))
        b.ret_void()

    return emit


_MERGE_TABLES = {DictMerger: _merge_dictmergers, GroupMerger: _merge_groupmergers}


# ----------------------------------------------------------------------------------------------
# Reading dicts: len, lookup, keyexists, optlookup, tovec.


def dict_len(L, table: ir.Value, t: Dict) -> ir.Value:
    fn = function(L, "db.dict.len", I64, [VOIDPTR], _emit_len)
    return L.builder.call(fn, [table])


def _emit_len(L, table) -> None:
    b = L.builder
    empty, full = b.append_basic_block("empty"), b.append_basic_block("full")
    b.cbranch(b.icmp_unsigned("==", table, null(VOIDPTR)), empty, full)
    b.position_at_end(full)
    b.ret(b.load(field(b, header_of(b, table), COUNT)))
    b.position_at_end(empty)
    b.ret(i64(0))


def _find(L, tt: Table, table: ir.Value, key: ir.Value) -> ir.Value:
    """The slot of `key` in a dict, dense or hashed (dict_dense.py), or a null slot."""
    if not dict_dense.eligible(tt.key):
        return find(L, tt, table, key)

    def emit(L, table, key) -> None:
        b = L.builder
        with b.if_then(b.icmp_unsigned("!=", table, null(VOIDPTR))):  # null: the empty dict
            with b.if_then(dict_dense.is_dense(L, table)):
                b.ret(dict_dense.find(L, tt, table, key))
        b.ret(find(L, tt, table, key))

    name = f"db.dict.find_any.{tt.tag}"
    fn = function(L, name, tt.slot.as_pointer(), [VOIDPTR, tt.key_ll], emit)
    return L.builder.call(fn, [table, key])


def _value_or_zero(L, tt: Table, slot: ir.Value) -> tuple[ir.Value, ir.Value]:
    """(found, value): the slot's value, or the zero of V when the slot is null."""
    b = L.builder
    found = b.icmp_unsigned("!=", slot, null(slot.type))
    zero = alloca_entry(b, tt.value_ll)
    b.store(null(tt.value_ll), zero)
    return found, b.load(b.select(found, field(b, slot, VALUE), zero))


# Op emitters (ops.OP_EMITTERS): emit(L, site, args), site an ops.OpSite.


def dict_lookup(L, site, args) -> ir.Value:
    tt = table_of(site.arg_types[0])
    found, value = _value_or_zero(L, tt, _find(L, tt, args[0], args[1]))
    L.fail_unless(found, "key not found in dictionary", site.loc)
    return value


def dict_keyexists(L, site, args) -> ir.Value:
    tt = table_of(site.arg_types[0])
    slot = _find(L, tt, args[0], args[1])
    return to_bool(L.builder, L.builder.icmp_unsigned("!=", slot, null(slot.type)))


def dict_optlookup(L, site, args) -> ir.Value:
    b = L.builder
    tt = table_of(site.arg_types[0])
    found, value = _value_or_zero(L, tt, _find(L, tt, args[0], args[1]))
    out = b.insert_value(ir.Constant(lltype(site.result), ir.Undefined), to_bool(b, found), 0)
    return b.insert_value(out, value, 1)


def dict_tovec(L, site, args) -> ir.Value:
    return tovec(L, args[0], site.arg_types[0])


def tovec(L, table: ir.Value, t: Dict) -> ir.Value:
    """The entries of a dict as vec[{K,V}], sorted by key (docs/ir.md's total order)."""
    tt = table_of(t)
    ret = vec_type(tt.pair)
    fn = function(L, f"db.dict.tovec.{tt.tag}", ret, [CTX_PTR, VOIDPTR], _emit_tovec(tt))
    return L.builder.call(fn, [L.ctx, table])


def _emit_tovec(tt: Table):
    def emit(L, ctx, table) -> None:
        b = L.builder
        ret = vec_type(tt.pair)
        empty, full = b.append_basic_block("empty"), b.append_basic_block("full")
        b.cbranch(b.icmp_unsigned("==", table, null(VOIDPTR)), empty, full)
        b.position_at_end(empty)
        b.ret(ir.Constant(ret, [null(tt.pair.as_pointer()), i64(0)]))
        b.position_at_end(full)
        count = b.load(field(b, header_of(b, table), COUNT))
        entries, spare = L.alloc_array(tt.pair, count), L.alloc_array(tt.pair, count)
        filled = alloca_entry(b, I64)
        b.store(i64(0), filled)

        def gather(slot) -> None:
            k = b.load(filled)
            pair = b.insert_value(ir.Constant(tt.pair, ir.Undefined), b.load(field(b, slot, 1)), 0)
            pair = b.insert_value(pair, b.load(field(b, slot, VALUE)), 1)
            b.store(pair, b.gep(entries, [k]))
            b.store(b.add(k, i64(1)), filled)

        each_slot(L, tt, table, "gather")(gather)
        if dict_dense.eligible(tt.key):  # a dense table's slots are in key order
            with b.if_then(dict_dense.is_dense(L, table)):
                out = b.insert_value(ir.Constant(ret, ir.Undefined), entries, 0)
                b.ret(b.insert_value(out, count, 1))

        # keys are distinct, so the sort's stability does not arise
        def right_first(left, right) -> ir.Value:
            order = compare_keys(L, b.extract_value(left, 0), b.extract_value(right, 0), tt.key)
            return b.icmp_signed(">", order, ir.Constant(I32, 0))

        data = merge_sort(L, entries, spare, count, right_first)
        out = b.insert_value(ir.Constant(ret, ir.Undefined), data, 0)
        b.ret(b.insert_value(out, count, 1))

    return emit


# ----------------------------------------------------------------------------------------------
# The host boundary: a dict crosses as an i8* to a vec[{K,V}] of its pairs (at any depth of
# structs and vectors). The entry function builds tables from its parameters and turns the
# dicts of its result back into pairs (sorted by key).


def import_value(L, value: ir.Value, t: Type) -> ir.Value:
    """A parameter as the host passed it -> the value the program computes with."""
    if not contains(t, Dict):
        return value
    b = L.builder
    if isinstance(t, Struct):
        for i, f in enumerate(t.fields):
            value = b.insert_value(value, import_value(L, b.extract_value(value, i), f), i)
        return value
    if isinstance(t, Vec):
        return _map_vector(L, value, t.elem, import_value)
    check_key_type(t.key)
    tt = table_of(t)
    pairs = b.load(b.bitcast(value, vec_type(tt.pair).as_pointer()))
    count = b.extract_value(pairs, 1)
    table = new_table(L, tt, count)
    with for_range_checked(L, count, "import") as i:
        pair = b.load(b.gep(b.extract_value(pairs, 0), [i]))
        slot, _ = insert(L, tt, table, b.extract_value(pair, 0))
        b.store(import_value(L, b.extract_value(pair, 1), t.value), field(b, slot, VALUE))
    return table


def export_value(L, value: ir.Value, t: Type) -> ir.Value:
    """A result as the program computed it -> what the host reads."""
    if not contains(t, Dict):
        return value
    b = L.builder
    if isinstance(t, Struct):
        for i, f in enumerate(t.fields):
            value = b.insert_value(value, export_value(L, b.extract_value(value, i), f), i)
        return value
    if isinstance(t, Vec):
        return _map_vector(L, value, t.elem, export_value)
    pairs = tovec(L, value, t)
    if contains(t.value, Dict):
        pairs = _map_vector(L, pairs, Struct((t.key, t.value)), export_value)
    box = L.alloc_array(pairs.type, i64(1))
    b.store(pairs, box)
    return b.bitcast(box, VOIDPTR)


def _map_vector(L, vec: ir.Value, elem: Type, convert) -> ir.Value:
    """A new vector of `convert(L, x, elem)` for each element x of `vec`."""
    b = L.builder
    count = b.extract_value(vec, 1)
    data = L.alloc_array(lltype(elem), count)
    with for_range_checked(L, count, "convert") as i:
        x = b.load(b.gep(b.extract_value(vec, 0), [i]))
        b.store(convert(L, x, elem), b.gep(data, [i]))
    return b.insert_value(vec, data, 0)


__all__ = [
    "dict_builder_result",
    "dict_keyexists",
    "dict_len",
    "dict_lookup",
    "dict_optlookup",
    "dict_tovec",
    "export_value",
    "fresh_dict_builder",
    "import_value",
    "merge_dict_builder",
    "merge_tables",
    "new_dict_builder",
    "tovec",
]

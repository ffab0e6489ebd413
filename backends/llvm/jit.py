"""The LLVM engines: modules optimised with the new pass manager at O3 for the host CPU (all its
features, e.g. AVX-512), verified before JIT, and loaded by MCJIT.

* The native runtime (and anything else loaded by `compile_ir`) lives in one engine for the
  whole process.
* Compiled programs live in `JitCode` handles: their machine code stays as long as a handle is
  referenced (an executable holds its own) and is freed after. MCJIT frees machine code only
  with its engine, so programs share engines a generation at a time (`_Generation`).
* Object code read back from the disk cache is checked (`object_problem`) before MCJIT sees
  it: MCJIT aborts the process on an object it cannot load.
"""

from __future__ import annotations

import platform
import struct
import sys
import threading
import weakref
from collections import deque
from collections.abc import Iterable
from functools import cache

import llvmlite
import llvmlite.binding as llvm

_lock = threading.Lock()  # every engine operation holds it


def _features() -> str:
    """The host's CPU features. On AVX-512 machines, also let loops use 512-bit vectors:
    LLVM prefers 256 bits there by default (for older CPUs that slow their clock on 512-bit
    code), which measured 1.2x slower on Black-Scholes here (bench/llvm_math.py)."""
    features = llvm.get_host_cpu_features().flatten()
    if "+avx512f" in features.split(","):
        features += ",-prefer-256-bit"
    return features


def _new_target_machine() -> llvm.TargetMachine:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=_features(),
        opt=3,
        reloc="default",
        codemodel="jitdefault",
    )


@cache
def _target_machine() -> llvm.TargetMachine:
    """The target machine of the optimiser and of the process's engine (which owns it)."""
    return _new_target_machine()


# MCJIT's object cache, keyed by module name: objects to hand to MCJIT instead of generating
# code (from the disk cache), and the objects MCJIT generated (to store there).
_objects_in: dict[str, bytes] = {}
_objects_out: dict[str, bytes] = {}


def _notify(module, buffer) -> None:
    _objects_out[module.name] = bytes(buffer)


def _getbuffer(module) -> bytes | None:
    return _objects_in.pop(module.name, None)


def _new_engine(tm: llvm.TargetMachine) -> llvm.ExecutionEngine:
    """An MCJIT engine (it takes ownership of `tm`) with the object cache hooks."""
    backing = llvm.parse_assembly("")
    backing.triple = tm.triple
    backing.data_layout = str(tm.target_data)
    engine = llvm.create_mcjit_compiler(backing, tm)
    engine.set_object_cache(_notify, _getbuffer)
    return engine


@cache
def _engine() -> llvm.ExecutionEngine:
    """The process's engine: the runtime and `compile_ir`'s modules, never freed. Creating an
    engine also makes the process's own symbols (libc, libm) resolvable by name."""
    return _new_engine(_target_machine())


def host_fingerprint() -> str:
    """What compiled code depends on besides the program: the CPU, LLVM and llvmlite."""
    return (
        f"{llvm.get_host_cpu_name()}|{_features()}|{llvm.llvm_version_info}"
        f"|llvmlite {llvmlite.__version__}"
    )


def target_data() -> llvm.TargetData:
    return _target_machine().target_data


def triple() -> str:
    return _target_machine().triple


def optimize(module: llvm.ModuleRef, speed_level: int = 3) -> None:
    """Run the O3 pipeline (with loop and SLP vectorisation) over `module`."""
    tm = _target_machine()
    pto = llvm.create_pipeline_tuning_options(speed_level=speed_level)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    # The vectoriser interleaves loops by itself; the unroller on top made the code ~10%
    # bigger and compiling ~10% slower (mostly in code generation) for no measured speed-up.
    pto.loop_unrolling = False
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    mpm.run(module, pb)


# ----------------------------------------------------------------------------------------------
# Loading modules.


class JitCode:
    """A module loaded into an engine: the addresses of the functions it defines, and its
    object code (for the disk cache). The machine code behind the addresses lives as long as
    this object; when it is collected, the module is removed from its engine."""

    __slots__ = ("addresses", "object_code", "__weakref__")

    def __init__(self, addresses: dict[str, int], object_code: bytes | None):
        self.addresses = addresses
        self.object_code = object_code


GENERATION_SIZE = 32  # program modules per engine


class _Generation:
    """An engine for up to GENERATION_SIZE program modules. Removing a module frees its IR,
    not its machine code: MCJIT frees that only with the engine. An engine costs a target
    machine and memory-manager slabs (hundreds of KB), so programs share one a generation at
    a time, and a full generation's engine is disposed once none of its modules is held."""

    def __init__(self):
        self.engine = _new_engine(_new_target_machine())
        self.added = 0  # modules ever added
        self.held = 0  # modules whose JitCode is alive

    @property
    def full(self) -> bool:
        return self.added >= GENERATION_SIZE


_current: _Generation | None = None
_live_generations: set[_Generation] = set()  # for tests: engines not disposed yet
# Modules whose JitCode was collected, freed under `_lock` by whoever holds it next (a
# finaliser may run on any thread, also on one that holds the lock already).
_released: deque = deque()


def compile_program(text: str, name: str, cached_object: bytes | None = None) -> JitCode:
    """Load LLVM IR text as a program module: parse, verify, optimise and JIT-compile it (or,
    given the object code a previous process made from the same text, load that and skip
    optimisation and code generation). Freed when the returned handle is collected. Raises
    `UnusableObject` for object code that MCJIT could not load (then nothing was loaded)."""
    mod = _parsed(text, name, cached_object)
    with _lock:
        _free_released()
        generation = _generation_with_room()
        generation.added += 1
        try:
            addresses, produced = _add(generation.engine, mod, name, cached_object)
        except Exception:
            _dispose_if_done(generation)
            raise
        generation.held += 1
    code = JitCode(addresses, produced)
    weakref.finalize(code, _release, generation, mod).atexit = False
    return code


def compile_ir(
    text: str, name: str, cached_object: bytes | None = None, optimized: bool = True
) -> tuple[dict[str, int], bytes | None]:
    """Like `compile_program`, into the process's engine, for good (the runtime; native
    functions registered by address). Returns the function addresses and the object code.
    `optimized=False` skips the O3 pipeline (code generation still optimises): for small
    hand-written modules loaded while a caller waits, where it costs ~0.1 s and gains
    nothing measurable (the write guards)."""
    mod = _parsed(text, name, cached_object, optimized)
    with _lock:
        _free_released()
        return _add(_engine(), mod, name, cached_object)


def publish(addresses: dict[str, int]) -> None:
    """Make functions resolvable by name in every engine (the runtime's, which programs call)."""
    for name, address in addresses.items():
        llvm.add_symbol(name, address)


class UnusableObject(RuntimeError):
    """Object code that MCJIT cannot load (or that does not define what its module does)."""


def _parsed(
    text: str, name: str, cached_object: bytes | None, optimized: bool = True
) -> llvm.ModuleRef:
    """The module of `text`, optimised (when `optimized`) unless its object code is given
    (then checked)."""
    mod = llvm.parse_assembly(text)
    mod.name = name
    mod.triple = triple()
    mod.data_layout = str(target_data())
    mod.verify()
    if cached_object is None:
        if optimized:
            optimize(mod)
    else:
        problem = object_problem(cached_object, _defined_functions(mod))
        if problem is not None:
            raise UnusableObject(problem)
    return mod


_LOCAL = (llvm.Linkage.internal, llvm.Linkage.private)  # no symbol by name in the object


def _defined_functions(mod: llvm.ModuleRef) -> list[str]:
    """The functions `mod` defines that other code can find by name."""
    return [f.name for f in mod.functions if not f.is_declaration and f.linkage not in _LOCAL]


def _add(engine, mod, name: str, cached_object: bytes | None):
    """Add `mod` to `engine` (from `cached_object` when given); its addresses and object code.
    A failure leaves the engine without the module."""
    if cached_object is not None:
        _objects_in[name] = cached_object
    try:
        engine.add_module(mod)
        try:
            engine.finalize_object()
            engine.run_static_constructors()
            addresses = {f: engine.get_function_address(f) for f in _defined_functions(mod)}
            if not all(addresses.values()):
                raise UnusableObject("the object code does not define its module's functions")
        except Exception:
            _remove_quietly(engine, mod)
            raise
    finally:
        _objects_in.pop(name, None)
        produced = _objects_out.pop(name, None)
    return addresses, cached_object if cached_object is not None else produced


def _generation_with_room() -> _Generation:
    global _current
    if _current is None or _current.full:
        _current = _Generation()
        _live_generations.add(_current)
    return _current


def _release(generation: _Generation, mod) -> None:
    """A JitCode was collected: free its module now if the lock is free, else soon."""
    _released.append((generation, mod))
    if _lock.acquire(blocking=False):
        try:
            _free_released()
        finally:
            _lock.release()


def _free_released() -> None:
    """(Under `_lock`.) Remove released modules; dispose of full generations left empty."""
    while _released:
        generation, mod = _released.popleft()
        _remove_quietly(generation.engine, mod)
        generation.held -= 1
        _dispose_if_done(generation)


def _dispose_if_done(generation: _Generation) -> None:
    """(Under `_lock`.) Dispose of a full generation's engine once it holds no module."""
    if generation.held == 0 and generation.full and generation in _live_generations:
        generation.engine.close()  # frees the machine code of all its modules
        _live_generations.discard(generation)


def _remove_quietly(engine, mod) -> None:
    try:
        engine.remove_module(mod)
    except (RuntimeError, KeyError):
        pass  # not in the engine (its add failed before it got there)


def live_engines() -> int:
    """How many program engines hold machine code now (for tests of memory bounds)."""
    with _lock:
        _free_released()
        return len(_live_generations)


# ----------------------------------------------------------------------------------------------
# Checking object code before MCJIT loads it. MCJIT ends the process (report_fatal_error) on an
# object it cannot parse or link, so everything it relies on is checked here first: the ELF
# header (64-bit, this byte order, relocatable, this machine), that every section, name,
# symbol and relocation lies inside the file, that relocations are of kinds MCJIT applies and
# write inside their section, and that every undefined symbol resolves in this process.

_ELF_MACHINES = {
    "x86_64": 62,
    "amd64": 62,
    "aarch64": 183,
    "arm64": 183,
    "ppc64le": 21,
    "riscv64": 243,
}
# x86-64 relocation types RuntimeDyldELF applies (for the large code model MCJIT uses, 64 and
# PC64 in practice), with how many bytes each writes at its offset.
_RELOCATION_WIDTHS = {
    62: {0: 0, 1: 8, 2: 4, 4: 4, 9: 4, 10: 4, 11: 4, 24: 8, 25: 8, 26: 4, 29: 8, 41: 4, 42: 4},
}
_ELF_HEADER = struct.Struct("<HHIQQQIHHHHHH")  # from e_type, at offset 16
_SECTION = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")
_SHT_SYMTAB, _SHT_STRTAB, _SHT_RELA, _SHT_NOBITS, _SHT_REL = 2, 3, 4, 8, 9
_SHN_UNDEF, _SHN_ABS, _SHN_COMMON = 0, 0xFFF1, 0xFFF2


class _BadObject(Exception):
    """Why object code cannot be handed to MCJIT."""


def object_problem(data: bytes, defines: Iterable[str] = ()) -> str | None:
    """Why MCJIT could not load `data` as object code of this host that defines the functions
    `defines`, or None when it can. On a host whose object format is not checked here (not
    little-endian ELF), None: the entry's key, facts and checksum (runtime/cache.py) are then
    all that vouches for it (and `_add` checks the addresses after loading)."""
    machine = _ELF_MACHINES.get(platform.machine().lower())
    if machine is None or sys.byteorder != "little" or not sys.platform.startswith("linux"):
        return None
    with _lock:
        _engine()  # the process's symbols resolve by name once an engine exists
    try:
        defined = _check_elf(data, machine)
    except _BadObject as why:
        return str(why)
    except (struct.error, ValueError, IndexError):
        return "truncated or inconsistent ELF structures"
    missing = set(defines) - defined
    return f"does not define {sorted(missing)}" if missing else None


def _check_elf(data: bytes, machine: int) -> set[str]:
    """Check an ELF object (raising `_BadObject`); the global symbols it defines."""
    if len(data) < 64 or data[:4] != b"\x7fELF":
        raise _BadObject("not an ELF object")
    if data[4:7] != b"\x02\x01\x01":
        raise _BadObject("not a 64-bit little-endian ELF object")
    (e_type, e_machine, _, _, _, shoff, _, ehsize, _, _, shentsize, shnum, shstrndx) = (
        _ELF_HEADER.unpack_from(data, 16)
    )
    if e_type != 1 or e_machine != machine or ehsize != 64:
        raise _BadObject("not a relocatable object for this machine")
    if (
        shentsize != _SECTION.size
        or not 0 < shnum
        or shstrndx >= shnum
        or shoff + shnum * _SECTION.size > len(data)
    ):
        raise _BadObject("section table out of bounds")
    sections = [_SECTION.unpack_from(data, shoff + i * _SECTION.size) for i in range(shnum)]
    for _name, kind, _, _, offset, size, *_ in sections:
        if kind != _SHT_NOBITS and offset + size > len(data):
            raise _BadObject("section contents out of bounds")
    names_size = sections[shstrndx][5]
    if any(s[0] >= max(names_size, 1) for s in sections[1:]):
        raise _BadObject("section name out of bounds")
    defined: set[str] = set()
    for index, section in enumerate(sections):
        defined |= _SECTION_CHECKS.get(section[1], _no_check)(data, sections, index, machine)
    return defined


def _no_check(data, sections, index, machine) -> set[str]:
    return set()


def _symbols(data: bytes, sections: list, index: int) -> list[tuple]:
    _, _, _, _, offset, size, link, _, _, entsize = sections[index]
    if (
        entsize != _SYMBOL.size
        or size % _SYMBOL.size
        or link >= len(sections)
        or sections[link][1] != _SHT_STRTAB
    ):
        raise _BadObject("malformed symbol table")
    return [_SYMBOL.unpack_from(data, offset + i) for i in range(0, size, _SYMBOL.size)]


def _check_symbols(data, sections, index, machine) -> set[str]:
    """Symbols inside the file and their sections, undefined ones resolvable; the names of
    the global symbols defined."""
    symbols = _symbols(data, sections, index)
    names = sections[sections[index][6]]
    names_at, names_size = names[4], names[5]
    defined = set()
    for name, info, _, shndx, value, size in symbols:
        if name >= max(names_size, 1):
            raise _BadObject("symbol name out of bounds")
        if shndx >= len(sections) and shndx not in (_SHN_ABS, _SHN_COMMON):
            raise _BadObject("symbol in no section")
        if (
            0 < shndx < len(sections)
            and sections[shndx][1] != _SHT_NOBITS
            and value + size > sections[shndx][5]
        ):
            raise _BadObject("symbol outside its section")
        if info >> 4 == 0 or not name:
            continue  # local: only relocations inside the object refer to it
        end = data.index(b"\0", names_at + name, names_at + names_size)
        symbol = data[names_at + name : end].decode("ascii")
        if shndx != _SHN_UNDEF:
            defined.add(symbol)
        elif llvm.address_of_symbol(symbol) is None:
            raise _BadObject(f"refers to {symbol!r}, which this process does not have")
    return defined


def _check_relocations(data, sections, index, machine) -> set[str]:
    _, _, _, _, offset, size, link, target, _, entsize = sections[index]
    if (
        entsize != _RELA.size
        or size % _RELA.size
        or link >= len(sections)
        or sections[link][1] != _SHT_SYMTAB
        or not 0 < target < len(sections)
    ):
        raise _BadObject("malformed relocation section")
    symbols = sections[link][5] // _SYMBOL.size
    widths = _RELOCATION_WIDTHS.get(machine)
    target_size = sections[target][5]
    for r_offset, r_info, _ in _RELA.iter_unpack(data[offset : offset + size]):
        kind = r_info & 0xFFFFFFFF
        width = widths.get(kind) if widths is not None else 8
        if width is None:
            raise _BadObject(f"relocation of unsupported type {kind}")
        if r_info >> 32 >= symbols or r_offset + width > target_size:
            raise _BadObject("relocation out of bounds")
    return set()


def _refuse_rel(data, sections, index, machine) -> set[str]:
    raise _BadObject("REL relocations (MCJIT makes RELA on this host)")


_SECTION_CHECKS = {
    _SHT_SYMTAB: _check_symbols,
    _SHT_RELA: _check_relocations,
    _SHT_REL: _refuse_rel,
}


def optimized_ir(text: str) -> str:
    """The optimised LLVM IR of `text` (for explain and tests: did the loop vectorise?)."""
    mod = llvm.parse_assembly(text)
    mod.triple = triple()
    mod.data_layout = str(target_data())
    mod.verify()
    optimize(mod)
    return str(mod)

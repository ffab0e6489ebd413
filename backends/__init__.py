"""daybreak.backends — code generators behind one protocol (`base.Backend`).

Backends are found by name in `REGISTRY` and imported only when first used, so that importing
daybreak does not pay for LLVM or CUDA.
"""

from __future__ import annotations

import importlib

from ..ir.errors import UnsupportedError

# name -> "module:class", imported on first use
REGISTRY: dict[str, str] = {
    "interp": "daybreak.backends.interp:InterpBackend",
    "llvm": "daybreak.backends.llvm:LLVMBackend",
    "cuda": "daybreak.backends.cuda:CudaBackend",
    "cuda-emu": "daybreak.backends.cuda:CudaEmulatorBackend",
}

_instances: dict[str, object] = {}


def get_backend(name: str):
    """The backend registered as `name` (one shared instance)."""
    if name not in _instances:
        if name not in REGISTRY:
            known = ", ".join(sorted(REGISTRY))
            raise UnsupportedError("compile", name, f"no such backend (known: {known})")
        module, cls = REGISTRY[name].split(":")
        _instances[name] = getattr(importlib.import_module(module), cls)()
    return _instances[name]

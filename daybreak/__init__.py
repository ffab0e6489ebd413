"""daybreak — NumPy, pandas and SQL pipelines compiled through one loop-fusion IR.

>>> import daybreak as db
>>> db.compile("|a: i64, b: i64| a * b + 1L")(6, 7)
np.int64(43)
"""

from . import ir
from .api import compile, evaluate, explain, optimize
from .runtime.config import config
from .runtime.memory import tune_allocator
from .runtime.stats import stats
from .runtime.udf import register_udf, unregister_udf

tune_allocator()  # before any array work (runtime/memory.py says why)

__version__ = "0.1.0"

__all__ = [
    "ir",
    "compile",
    "optimize",
    "explain",
    "evaluate",
    "config",
    "stats",
    "register_udf",
    "unregister_udf",
    "__version__",
]

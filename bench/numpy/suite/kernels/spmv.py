"""spmv: CSR sparse matrix-vector product, a Python loop over rows with gathers.

Follows NPBench's "spmv" kernel (npbench/benchmarks/spmv).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=8192, N=8192, nnz=65536), "M": dict(M=65536, N=65536, nnz=524288)}


def initialize(size_preset, rng):
    M, N, nnz = SIZES[size_preset].values()
    x = rng.random((N,))
    # A random CSR matrix (scipy.sparse.random in NPBench): nnz distinct positions.
    flat = numpy.sort(rng.choice(M * N, size=nnz, replace=False))
    row_of = flat // N
    cols = (flat % N).astype(numpy.uint32)
    rows = numpy.zeros(M + 1, dtype=numpy.uint32)
    rows[1:] = numpy.cumsum(numpy.bincount(row_of, minlength=M))
    vals = rng.random(nnz)
    return rows, cols, vals, x


def kernel(np, A_row, A_col, A_val, x):
    y = np.empty(A_row.size - 1, A_val.dtype)
    for i in range(A_row.size - 1):
        cols = A_col[A_row[i] : A_row[i + 1]]
        vals = A_val[A_row[i] : A_row[i + 1]]
        y[i] = vals @ x[cols]
    return y

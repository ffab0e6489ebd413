"""The element layer every array-like frontend shares (NumPy arrays today, pandas columns next).

A lazy N-D value is an element expression over a shape (`expr`): leaves that read a vector
at strided positions, scalars computed outside the loop, and applications of IR builder
functions. `loops` turns one into the IR loop that computes it (`rows` for results read by
index, row by row), `remap` re-indexes expressions (slices, rolls, transposes, gathers),
`broadcast` stretches them over a shape, `dtypes` maps NumPy dtypes to IR scalars and
`scalar_ops` holds NumPy's element semantics in IR (floor division, sign, ...). Nothing here
knows about `daybreak.numpy.ndarray`: the frontends build on this layer, never the reverse.
"""

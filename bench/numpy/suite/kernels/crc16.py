"""crc16: CRC-16-CCITT, a pure scalar Python loop over uint8 elements and bits.

Follows NPBench's "crc16" kernel (npbench/benchmarks/crc16).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=8000), "M": dict(N=100000)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    return (rng.integers(0, 256, size=(N,), dtype=numpy.uint8),)


def kernel(np, data, poly=0x8408):
    crc = 0xFFFF
    for b in data:
        cur_byte = 0xFF & b
        for _ in range(0, 8):
            if (crc & 0x0001) ^ (cur_byte & 0x0001):
                crc = (crc >> 1) ^ poly
            else:
                crc >>= 1
            cur_byte >>= 1
    crc = ~crc & 0xFFFF
    crc = (crc << 8) | ((crc >> 8) & 0xFF)
    return crc & 0xFFFF


def numba_kernel():
    import numba

    @numba.njit
    def crc16(data, poly=0x8408):
        crc = 0xFFFF
        for b in data:
            cur_byte = 0xFF & b
            for _ in range(0, 8):
                if (crc & 0x0001) ^ (cur_byte & 0x0001):
                    crc = (crc >> 1) ^ poly
                else:
                    crc >>= 1
                cur_byte >>= 1
        crc = ~crc & 0xFFFF
        crc = (crc << 8) | ((crc >> 8) & 0xFF)
        return crc & 0xFFFF

    return crc16

"""arc_distance: pairwise great-circle distance, trigonometric elementwise work.

Follows NPBench's "arc_distance" kernel (npbench/benchmarks/pythran/arc_distance).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

SIZES = {"S": dict(N=200000), "M": dict(N=2000000)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    t0, p0, t1, p1 = rng.random((N,)), rng.random((N,)), rng.random((N,)), rng.random((N,))
    return t0, p0, t1, p1


def kernel(np, theta_1, phi_1, theta_2, phi_2):
    temp = (
        np.sin((theta_2 - theta_1) / 2) ** 2
        + np.cos(theta_1) * np.cos(theta_2) * np.sin((phi_2 - phi_1) / 2) ** 2
    )
    distance_matrix = 2 * (np.arctan2(np.sqrt(temp), np.sqrt(1 - temp)))
    return distance_matrix


def numexpr_kernel():
    import numexpr

    def arc_distance(theta_1, phi_1, theta_2, phi_2):
        temp = numexpr.evaluate(
            "sin((theta_2 - theta_1) / 2)**2 + cos(theta_1) * cos(theta_2)"
            " * sin((phi_2 - phi_1) / 2)**2"
        )
        return numexpr.evaluate("2 * arctan2(sqrt(temp), sqrt(1 - temp))")

    return arc_distance

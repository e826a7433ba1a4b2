# pymix: the Python half, merged after fast.c into the same module, so the C-defined
# sum_squares is a global here.
# ruff: noqa: F821


def mean_square(n):
    if n <= 0:
        return 0.0
    return sum_squares(n) / n

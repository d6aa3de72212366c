"""Numba kernels: plain, validated, C-contiguous arrays in, plain arrays out.

Only numpy and numba are imported here: no classes, no I/O, no validation beyond counting
what the caller must check (non-finite inputs, out-of-range values or codes), which the kernels
report in the same pass as their real work so that large arrays are read once. A kernel never
reads or writes out of bounds whatever its input values: every data-dependent index is
range-checked inside the loop.
"""

"""Seeded integer hashes, the same on every platform and process; kept bit-exact because every synthetic
sample, view choice and corrupted image derives from them."""

from __future__ import annotations

MASK64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15  # 2^64 / golden ratio
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB


def splitmix64(x: int) -> int:
    """SplitMix64's 64-bit output for the state ``x`` (mod 2^64; Steele et al. 2014): corruption seeds."""
    x = (x + _GAMMA) & MASK64
    x = ((x ^ (x >> 30)) * _MUL1) & MASK64
    x = ((x ^ (x >> 27)) * _MUL2) & MASK64
    return x ^ (x >> 31)


def mix(*values: int) -> int:
    """The data's 63-bit hash of integers (each mod 2^64), one multiply-xorshift round per value."""
    h = _GAMMA
    for v in values:
        h = ((h ^ (int(v) & MASK64)) * _MUL1) & MASK64
        h = ((h ^ (h >> 31)) * _MUL2) & MASK64
        h ^= h >> 29
    return h & (MASK64 >> 1)

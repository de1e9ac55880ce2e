"""Random streams and vectorised sampling helpers.

Every part of the generator draws from its own named stream, derived from the seed and the name.
Adding a draw in one part therefore never shifts the numbers another part sees, which keeps output
stable for a seed while the code evolves.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt


class Streams:
    def __init__(self, seed: int):
        self.seed = int(seed)

    def rng(self, *names: str | int) -> np.random.Generator:
        """The generator for a named purpose, e.g. ``rng("night", 2, "police", "adds")``."""
        words = [zlib.crc32(str(name).encode()) for name in names]
        return np.random.default_rng(np.random.SeedSequence([self.seed, *words]))


def weighted_choice(rng: np.random.Generator, weights: npt.ArrayLike, size: int) -> np.ndarray:
    """Indices into ``weights``, drawn with probability proportional to the weight."""
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    picks = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
    return np.minimum(picks, len(cumulative) - 1)


def chance(rng: np.random.Generator, p: float | np.ndarray, size: int) -> np.ndarray:
    """A boolean per item, true with probability ``p`` (scalar or per item)."""
    return rng.random(size) < p


def choose_among(rng: np.random.Generator, allowed: np.ndarray) -> np.ndarray:
    """For each row of a boolean matrix, a random column that is true there (-1 when none is)."""
    scores = np.where(allowed, rng.random(allowed.shape), -1.0)
    picks = scores.argmax(axis=1)
    return np.where(allowed.any(axis=1), picks, -1)


def rounded(rng: np.random.Generator, expected: float) -> int:
    """An integer with the given expectation (floor plus a chance of one more)."""
    whole = int(np.floor(expected))
    return whole + int(rng.random() < expected - whole)

"""Vectorised character-level edits of names: keyboard typos and rule-based misspellings.

Strings are turned into a matrix of code points (one row per string, zero padded), edited with
array indexing and turned back, so a hundred thousand typos cost a few array operations.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .rand import choose_among

# Neighbouring keys on a UK QWERTY keyboard: the usual source of a mistyped letter.
_KEYBOARD_ROWS = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_KEYBOARD_ROWS):
    for _i, _ch in enumerate(_row):
        near = _row[max(_i - 1, 0) : _i] + _row[_i + 1 : _i + 2]
        for _other in (_r - 1, _r + 1):
            if 0 <= _other < len(_KEYBOARD_ROWS):
                near += _KEYBOARD_ROWS[_other][max(_i - 1, 0) : _i + 1]
        _NEIGHBOURS[_ch] = near
_NEIGHBOUR_WIDTH = max(len(v) for v in _NEIGHBOURS.values())
# Row = code point of a capital letter; columns = its neighbours (repeated to fill the width).
_NEIGHBOUR_TABLE = np.zeros((128, _NEIGHBOUR_WIDTH), dtype=np.uint32)
for _ch, _near in _NEIGHBOURS.items():
    _NEIGHBOUR_TABLE[ord(_ch)] = [ord(_near[k % len(_near)]) for k in range(_NEIGHBOUR_WIDTH)]

SUBSTITUTE, DELETE, INSERT, TRANSPOSE = range(4)


def to_matrix(values: np.ndarray) -> np.ndarray:
    """Code points, one row per string (zero padded); one spare column for insertions."""
    text = np.asarray(values, dtype="U")
    width = max(text.dtype.itemsize // 4, 1)
    matrix = np.zeros((len(text), width + 1), dtype=np.uint32)
    if len(text):
        matrix[:, :width] = text.view(np.uint32).reshape(len(text), width)
    return matrix


def from_matrix(matrix: np.ndarray) -> np.ndarray:
    matrix = np.ascontiguousarray(matrix, dtype=np.uint32)
    return matrix.view(f"U{matrix.shape[1]}").reshape(len(matrix)) if len(matrix) else np.array([], dtype="U1")


def _is_letter(codes: np.ndarray) -> np.ndarray:
    return (codes >= ord("A")) & (codes <= ord("Z"))


def typos(values: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One keyboard slip per upper-case name: a neighbouring key struck, a letter dropped,
    doubled or two letters swapped. Returns the new strings and which ones changed."""
    matrix = to_matrix(values)
    n, width = matrix.shape
    if n == 0:
        return np.asarray(values, dtype="U"), np.zeros(0, dtype=bool)
    lengths = (matrix != 0).sum(axis=1)
    kind = rng.integers(0, 4, n)
    # The first letter is usually right: slips land on a later position.
    position = 1 + np.floor(rng.random(n) * np.maximum(lengths - 1, 1)).astype(np.int64)
    position = np.minimum(position, np.maximum(lengths - 1, 0))
    rows = np.arange(n)
    current = matrix[rows, position]
    cols = np.arange(width)[None, :]
    edited = matrix.copy()

    substitute = (kind == SUBSTITUTE) & _is_letter(current)
    neighbour = _NEIGHBOUR_TABLE[np.minimum(current, 127), rng.integers(0, _NEIGHBOUR_WIDTH, n)]
    edited[rows[substitute], position[substitute]] = neighbour[substitute]

    delete = (kind == DELETE) & (lengths >= 4) & _is_letter(current)
    shifted = np.take_along_axis(matrix, np.minimum(cols + (cols >= position[:, None]), width - 1), axis=1)
    shifted[:, -1] = 0
    edited[delete] = shifted[delete]

    insert = (kind == INSERT) & _is_letter(current)  # doubles the letter, the commonest insertion
    doubled = np.take_along_axis(matrix, np.maximum(cols - (cols > position[:, None]), 0), axis=1)
    edited[insert] = doubled[insert]

    following = matrix[rows, np.minimum(position + 1, width - 1)]
    transpose = (kind == TRANSPOSE) & _is_letter(current) & _is_letter(following) & (current != following)
    edited[rows[transpose], position[transpose]] = following[transpose]
    edited[rows[transpose], position[transpose] + 1] = current[transpose]

    result = from_matrix(edited)
    return result, result != np.asarray(values, dtype="U")


def apply_rules(values: pd.Series, rules: tuple[tuple[str, str], ...], rng: np.random.Generator) -> pd.Series:
    """Rewrite one occurrence of one applicable rule per value (regex → replacement).

    The rule is chosen at random among those whose pattern occurs in the value; values no rule
    applies to come back unchanged.
    """
    values = values.astype("str")
    if values.empty:
        return values
    with warnings.catch_warnings():  # patterns keep their groups for the replacement
        warnings.simplefilter("ignore", UserWarning)
        applicable = np.column_stack([values.str.contains(pattern, regex=True).to_numpy(bool) for pattern, _ in rules])
    chosen = choose_among(rng, applicable)
    result = values.copy()
    for r, (pattern, replacement) in enumerate(rules):
        rows = chosen == r
        if rows.any():
            result[rows] = values[rows].str.replace(pattern, replacement, n=1, regex=True)
    return result

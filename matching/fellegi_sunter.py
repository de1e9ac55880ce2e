"""Fellegi–Sunter: m probabilities by EM on the candidate pairs, u probabilities from random pairs.

- **u** (how often a level occurs between two different people) is counted on random record pairs,
  which are almost all non-matches.
- **m** (how often it occurs between two records of one person) is estimated by expectation
  maximisation over the candidate pairs, as a two-class mixture. The non-match class gets its own
  level frequencies during EM, because blocking makes candidate non-matches agree far more often than
  random ones (they share a date of birth, say); those frequencies are used for training only.
- the **prior** (the share of all record pairs that match) is the EM's share of matches among the
  candidates scaled by how many candidates there are among all pairs.
- **term frequencies**: agreeing exactly on a name weighs log2(m / frequency of that name), so a match
  on a rare surname counts more than one on SMITH.

EM runs on the distinct patterns of levels (a few thousand), not on the millions of pairs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .arrays import group_rows
from .levels import NULL

log = logging.getLogger("nominal.match")

_FLOOR = 1e-6


@dataclass
class EMResult:
    m: list[np.ndarray]
    u_candidates: list[np.ndarray]
    match_share: float  # λ among the candidates
    iterations: int
    converged: bool


def level_frequencies(levels: np.ndarray, n_levels: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Share of each non-null level (the null level gets 0).

    No pseudo-counts: a level never seen gets a share of 0, which the weights floor at ``_FLOOR``
    on both sides, so it weighs nothing — smoothing m and u by the same count would instead give an
    unseen level a large positive weight (their sample sizes differ a hundredfold).
    """
    counts = np.bincount(levels, weights=weights, minlength=n_levels).astype("float64")
    counts[NULL] = 0.0  # null is every kind's first level (matching.levels)
    total = counts[NULL + 1 :].sum()
    return counts / total if total else counts


def patterns(gamma: np.ndarray, n_levels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the level matrix and how often each occurs."""
    if gamma.shape[1] == 0:
        return np.zeros((1, 0), np.int8), np.array([len(gamma)])
    radix = np.cumprod([1, *n_levels[:-1]]).astype(np.int64)
    codes = gamma.astype(np.int64) @ radix
    first, counts = group_rows(codes)
    return gamma[first], counts


def _initial_m(n_levels: int) -> np.ndarray:
    """Strong agreement likely among matches, 'else' unlikely: a start EM moves from."""
    m = np.zeros(n_levels)
    m[NULL + 1 :] = 0.5 ** np.arange(1, n_levels)  # the strongest agreement 0.5, then 0.25, …
    m[-1] = 0.05 if n_levels > 2 else m[-1]
    return m / m[NULL + 1 :].sum()


def expectation_maximisation(
    gamma: np.ndarray,
    n_levels: list[int],
    *,
    u_start: list[np.ndarray],
    max_iterations: int = 60,
    tolerance: float = 1e-5,
    fix_u: bool = False,
    active: list[bool] | None = None,
) -> EMResult:
    """Estimate m and the match share by EM (and, unless ``fix_u``, the non-matches' own frequencies).

    ``active``: the comparisons that take part; the others (those a training session blocked on,
    which say nothing there) are left out of the likelihood and keep their starting m. The non-match
    side starts from the random-pair frequencies ``u_start``.
    """
    rows, counts = patterns(gamma, n_levels)
    counts = counts.astype("float64")
    k = rows.shape[1]
    active = active or [True] * k
    m = [_initial_m(n) for n in n_levels]
    u = [np.asarray(x, dtype="float64") for x in u_start]
    share = 0.1
    converged = False
    iteration = 0
    while iteration < max_iterations:
        iteration += 1
        log_m = np.zeros(len(rows))
        log_u = np.zeros(len(rows))
        for j in range(k):
            if not active[j]:
                continue
            level = rows[:, j]
            present = level != NULL
            log_m[present] += np.log(np.maximum(m[j][level[present]], _FLOOR))
            log_u[present] += np.log(np.maximum(u[j][level[present]], _FLOOR))
        # posterior probability that each pattern is a match
        a = np.log(share) + log_m
        b = np.log1p(-share) + log_u
        posterior = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        matched = counts * posterior
        unmatched = counts * (1 - posterior)
        new_share = float(np.clip(matched.sum() / counts.sum(), _FLOOR, 1 - _FLOOR))
        new_m = [level_frequencies(rows[:, j], n_levels[j], matched) if active[j] else m[j] for j in range(k)]
        new_u = (
            u
            if fix_u
            else [level_frequencies(rows[:, j], n_levels[j], unmatched) if active[j] else u[j] for j in range(k)]
        )
        change = max([abs(new_share - share)] + [float(np.abs(x - y).max()) for x, y in zip(new_m, m) if len(x)])
        m, u, share = new_m, new_u, new_share
        if change < tolerance:
            converged = True
            break
    log.info("EM: %d iterations, %s, match share %.4f", iteration, "converged" if converged else "not converged", share)
    return EMResult(m=m, u_candidates=u, match_share=share, iterations=iteration, converged=converged)


def estimate_prior(weights: np.ndarray, total_pairs: float, iterations: int = 50) -> float:
    """The share of all record pairs that match, given each candidate pair's weight without a prior.

    EM for the prior alone over every pair: pairs blocking never proposed are taken as non-matches
    (their posterior is ~0), so the fixed point is λ = Σ P(match | candidate, λ) / all pairs.
    """
    prior = min(0.5, max(len(weights), 1) / max(total_pairs, 1.0) / 2)
    for _ in range(iterations):
        odds = prior / (1 - prior) * np.exp2(np.clip(weights, -200, 200))
        new = float(np.clip((odds / (1 + odds)).sum() / max(total_pairs, 1.0), 1e-15, 0.5))
        if abs(new - prior) <= 1e-6 * prior:
            return new
        prior = new
    return prior


def level_weights(m: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Match weight (bits) of each level; null weighs nothing."""
    weights = np.log2(np.maximum(m, _FLOOR) / np.maximum(u, _FLOOR))
    weights[NULL] = 0.0
    return weights


def prior_weight(prior: float) -> float:
    return float(np.log2(prior / (1 - prior)))


def probability(match_weight: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(match_weight, -200, 200)))

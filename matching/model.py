"""The trained model: settings plus m, u, prior and term frequencies; saved as ``model.json``.

A night can reuse the previous night's model so that its result does not drift because EM was run
again; ``--retrain`` estimates a new one. Scoring a pair gives its match weight (bits), probability
and the weight of each comparison, which is also how a data officer's explanation is written.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nominal.errors import ConfigError

from . import levels
from .blocking import key_values
from .blocking_keys import key_of
from .comparisons import Gamma, compare
from .fellegi_sunter import (
    estimate_prior,
    expectation_maximisation,
    level_frequencies,
    level_weights,
    prior_weight,
    probability,
)
from .prepare import Records
from .settings import Comparison, Settings

FORMAT_VERSION = 1
_TF_FLOOR = 1e-7


@dataclass
class ComparisonModel:
    name: str
    kind: str
    labels: list[str]
    m: np.ndarray
    u: np.ndarray
    term_frequencies: dict[str, float] | None = None

    @property
    def weights(self) -> np.ndarray:
        weights = level_weights(self.m, self.u)
        if self.kind == "name_variant":
            # Which reading of the names agreed (swapped, through an alias) qualifies the forename and
            # surname evidence; it is not evidence of its own: it may lower the weight, never add to it.
            weights = np.minimum(weights, 0.0)
        return weights

    def as_dict(self) -> dict:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "levels": [
                {"label": label, "m": float(m), "u": float(u), "weight": float(w)}
                for label, m, u, w in zip(self.labels, self.m, self.u, self.weights)
            ],
        }
        if self.term_frequencies is not None:
            out["term_frequencies"] = self.term_frequencies
        return out

    @classmethod
    def from_dict(cls, d: dict) -> ComparisonModel:
        levels = d["levels"]
        return cls(
            name=d["name"],
            kind=d["kind"],
            labels=[lv["label"] for lv in levels],
            m=np.array([lv["m"] for lv in levels]),
            u=np.array([lv["u"] for lv in levels]),
            term_frequencies=d.get("term_frequencies"),
        )


@dataclass
class Scores:
    match_weight: np.ndarray
    match_probability: np.ndarray
    weights: dict[str, np.ndarray]  # per comparison, bits


@dataclass
class Model:
    settings: Settings
    comparisons: list[ComparisonModel]
    prior: float
    candidate_match_share: float
    trained: dict = field(default_factory=dict)

    def configured(self, comparison: ComparisonModel) -> Comparison:
        """The comparison as the settings configure it (its column, its fuzzy thresholds)."""
        found = self.settings.comparison(comparison.name)
        if found is None:
            raise ConfigError(f"the model's comparison {comparison.name!r} is not in its settings")
        return found

    def score(self, gamma: Gamma, records: Records, weights: bool = True) -> Scores:
        """Match weight and probability of every pair, and (``weights``) each comparison's weight."""
        total = np.full(len(gamma), prior_weight(self.prior))
        kept: dict[str, np.ndarray] = {}
        for c in self.comparisons:
            codes = gamma.levels[c.name]
            w = c.weights[codes].astype("float64")
            if c.term_frequencies is not None and c.name in gamma.tf_codes:
                at = levels.index(self.configured(c), "exact")
                exact = codes == at
                if exact.any():
                    frequency = self._frequencies(c, records)[gamma.tf_codes[c.name][exact]]
                    w[exact] = np.log2(max(c.m[at], 1e-6) / frequency)
            if weights:
                kept[c.name] = w.astype("float32")
            total += w
        return Scores(match_weight=total, match_probability=probability(total), weights=kept)

    def _frequencies(self, comparison: ComparisonModel, records: Records) -> np.ndarray:
        """The model's term frequency of every value in these records' vocabulary (a floor for unseen ones)."""
        cache = records.term_frequencies
        key = (id(self), comparison.name)
        if key not in cache:
            vocabulary = (
                records.names.values
                if comparison.kind in _TF_COLUMNS
                else records.codes(self.configured(comparison).column_name())[0].values
            )
            frequency = (
                pd.Series(vocabulary, dtype="str")
                .map(comparison.term_frequencies)
                .to_numpy(dtype="float64", na_value=np.nan)
            )
            # a value the model never saw is as rare as its rarest value, no rarer
            rarest = min((comparison.term_frequencies or {}).values(), default=_TF_FLOOR)
            cache[key] = np.where(np.isnan(frequency), rarest, np.maximum(frequency, _TF_FLOOR))
        return cache[key]

    def explain_all(self, pairs: pd.DataFrame) -> pd.Series:
        """Each pair's evidence in words, for every row of a scored pair table (built column by column):
        ``surname: exact (+11.2); date of birth: day and month transposed (+6.0)``."""
        parts = []
        for c in self.comparisons:
            words = np.array([levels.in_words(label) for label in c.labels], dtype=object)
            level = pairs[f"{c.name}_level"].to_numpy(dtype=np.int64)
            weight = pd.Series(pairs[f"{c.name}_weight"].to_numpy(dtype="float64")).map("{:+.1f}".format)
            parts.append(f"{c.name.replace('_', ' ')}: " + pd.Series(words[level], dtype="str") + " (" + weight + ")")
        joined = parts[0]
        for part in parts[1:]:
            joined = joined + "; " + part
        return pd.Series(joined.to_numpy(), index=pairs.index, dtype="str")

    def evidence_all(self, pairs: pd.DataFrame) -> pd.Series:
        """Each pair's evidence as JSON text, for every row of a scored pair table: a list of
        ``{"comparison", "level" (its name), "label", "weight" (bits)}``, one per comparison."""
        parts = []
        for c in self.comparisons:
            heads = np.array(
                [
                    json.dumps({"comparison": c.name, "level": lv.name, "label": lv.label}, ensure_ascii=False)[:-1]
                    + ', "weight": '
                    for lv in levels.levels_of(self.configured(c))
                ],
                dtype=object,
            )
            code = pairs[f"{c.name}_level"].to_numpy(dtype=np.int64)
            weight = pd.Series(pairs[f"{c.name}_weight"].to_numpy(dtype="float64")).map("{:.3f}".format)
            parts.append(pd.Series(heads[code], dtype="str") + weight + "}")
        joined = "[" + parts[0]
        for part in parts[1:]:
            joined = joined + ", " + part
        return pd.Series((joined + "]").to_numpy(), index=pairs.index, dtype="str")

    # --- persistence -------------------------------------------------------------------------

    def as_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "settings": self.settings.model_dump(mode="json"),
            "prior": self.prior,
            "prior_weight": prior_weight(self.prior),
            "candidate_match_share": self.candidate_match_share,
            "trained": self.trained,
            "comparisons": [c.as_dict() for c in self.comparisons],
        }

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(self.as_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> Model:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("format_version") != FORMAT_VERSION:
                raise ConfigError(f"{path}: model format {data.get('format_version')} is not {FORMAT_VERSION}")
            return cls(
                settings=Settings.model_validate(data["settings"]),
                comparisons=[ComparisonModel.from_dict(c) for c in data["comparisons"]],
                prior=float(data["prior"]),
                candidate_match_share=float(data["candidate_match_share"]),
                trained=data.get("trained", {}),
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"{path}: not a nominal model file ({exc.__class__.__name__})") from None

    def fits(self, settings: Settings) -> bool:
        """Whether this model was trained with these settings (otherwise it must be retrained)."""
        return self.settings.model_dump() == settings.model_dump()


def total_pairs(records: Records, settings: Settings) -> float:
    n = records.n
    if settings.link_type == "link_only":
        sizes = records.frame["feed"].value_counts().to_numpy(dtype="float64")
        return float((sizes.sum() ** 2 - (sizes**2).sum()) / 2)
    return n * (n - 1) / 2


def random_pairs(records: Records, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(settings.training.seed)
    count = settings.training.random_pairs
    a = rng.integers(0, records.n, size=count)
    b = rng.integers(0, records.n, size=count)
    keep = a != b
    if settings.link_type == "link_only":
        feeds = pd.factorize(records.frame["feed"])[0]
        keep &= feeds[a] != feeds[b]
    return a[keep], b[keep]


def term_frequencies(records: Records, kind: str, column: str | None) -> dict[str, float]:
    """Share of records with each value: names from the coded name columns, others from their column."""
    if kind in _TF_COLUMNS:
        frequency = records.name_frequencies(_TF_COLUMNS[kind])
        present = np.flatnonzero(frequency > 0)
        return {str(records.names.values[i]): float(frequency[i]) for i in present}
    values = records.frame[column].dropna().astype("str")
    counts = values.value_counts()
    return {str(k): float(v) / max(len(values), 1) for k, v in counts.items()}


_TF_COLUMNS = {"forename": "forename", "surname": "surname_key"}


def _blocked_on(comparison: Comparison, keys: list[str]) -> bool:
    """Whether every pair sharing these keys agrees on the comparison (it says nothing in such a session)."""
    return any(comparison.kind in key_of(k).agrees or comparison.column == k for k in keys)


def _session_pairs(records: Records, candidates: Gamma, keys: list[str]) -> np.ndarray:
    """Candidate pairs that share every key of a session."""
    same = np.ones(len(candidates), dtype=bool)
    for key in keys:
        codes = key_values(records, key)
        same &= (codes[candidates.a] == codes[candidates.b]) & (codes[candidates.a] >= 0)
    return same


def train(records: Records, settings: Settings, candidates: Gamma) -> Model:
    """u from random pairs; m by EM sessions over the candidates (Splink's way); the prior by EM over all pairs.

    Each session trains on the candidates that share some keys (a date of birth, say) with u fixed
    at the random-pair values, leaving out the comparisons those keys make agree: among such pairs
    the non-matches then look like random pairs in every comparison still in play. A comparison's m
    is the mean over the sessions it took part in.
    """
    names = [c.name for c in settings.comparisons]
    labels = {c.name: levels.labels(c) for c in settings.comparisons}
    n_levels = [len(labels[n]) for n in names]
    ra, rb = random_pairs(records, settings)
    random_gamma = compare(records, settings, ra, rb)
    u = [level_frequencies(random_gamma.levels[n], n_levels[i]) for i, n in enumerate(names)]
    matrix = candidates.matrix(names)

    estimates: list[list[np.ndarray]] = [[] for _ in names]
    sessions = []
    for keys in settings.training.sessions:
        active = [not _blocked_on(c, keys) for c in settings.comparisons]
        chosen = _session_pairs(records, candidates, keys)
        if chosen.sum() < 10:
            continue
        em = expectation_maximisation(
            matrix[chosen],
            n_levels,
            u_start=u,
            fix_u=True,
            active=active,
            max_iterations=settings.training.max_iterations,
            tolerance=settings.training.tolerance,
        )
        sessions.append(
            {
                "keys": keys,
                "pairs": int(chosen.sum()),
                "match_share": em.match_share,
                "iterations": em.iterations,
                "converged": em.converged,
            }
        )
        for i, is_active in enumerate(active):
            if is_active:
                estimates[i].append(em.m[i])
    untrained = [i for i, found in enumerate(estimates) if not found]
    if untrained:  # a comparison no session could train: estimate it over all candidates
        em = expectation_maximisation(
            matrix,
            n_levels,
            u_start=u,
            max_iterations=settings.training.max_iterations,
            tolerance=settings.training.tolerance,
        )
        sessions.append(
            {
                "keys": [],
                "pairs": len(candidates),
                "match_share": em.match_share,
                "iterations": em.iterations,
                "converged": em.converged,
            }
        )
        for i in untrained:
            estimates[i].append(em.m[i])
    m = [np.mean(found, axis=0) for found in estimates]

    comparisons: list[ComparisonModel] = []
    for i, c in enumerate(settings.comparisons):
        tf = term_frequencies(records, c.kind, c.column) if c.term_frequency else None
        comparisons.append(
            ComparisonModel(name=c.name, kind=c.kind, labels=labels[c.name], m=m[i], u=u[i], term_frequencies=tf)
        )
    pair_weights = np.zeros(len(candidates))
    for i, trained in enumerate(comparisons):
        pair_weights += trained.weights[matrix[:, i]]
    prior = estimate_prior(pair_weights, total_pairs(records, settings))
    return Model(
        settings=settings,
        comparisons=comparisons,
        prior=prior,
        candidate_match_share=float(prior * total_pairs(records, settings) / max(len(candidates), 1)),
        trained={
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "records": records.n,
            "candidate_pairs": len(candidates),
            "random_pairs": len(ra),
            "sessions": sessions,
        },
    )

"""Candidate pairs: records that share every key of at least one blocking rule.

Vectorised throughout: a rule's keys become one integer code per record, records are sorted by
code, and the pairs inside each block are enumerated with array arithmetic. Blocks larger than
``max_block_size`` are skipped and reported (a key that common says little). Pairs are returned
as two aligned arrays of rids with ``a < b``, without duplicates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .arrays import dense_codes, isin_sorted, unique_sorted
from .blocking_keys import is_derived, key_of
from .prepare import Records
from .settings import BlockingRule, Settings

log = logging.getLogger("nominal.match")


@dataclass
class Candidates:
    a: np.ndarray  # int64 rids, a < b
    b: np.ndarray
    per_rule: dict[str, int] = field(default_factory=dict)  # new pairs each rule contributed
    skipped_blocks: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.a)


def key_values(records: Records, key: str) -> np.ndarray:
    """One blocking key for every record as a non-negative integer code, -1 where it has none."""
    if key not in records.block_keys:
        records.block_keys[key] = key_of(key).compute(records)
    return records.block_keys[key]


def rule_codes(records: Records, rule: BlockingRule) -> tuple[np.ndarray, np.ndarray]:
    """(rids, block codes) for a rule; a record with any key missing is in no block.

    With ``aliases`` a record is also entered under each alias's name (surname and forename
    keys taken from the alias), so a record filed under an alias still meets its other records.
    """
    rid = np.arange(records.n, dtype=np.int64)
    keys = {k: key_values(records, k) for k in rule.keys}
    if rule.aliases and not records.aliases.empty:
        alias = records.aliases
        alias_rid = alias["rid"].to_numpy(dtype=np.int64)
        surnames, forenames = alias["surname"].to_numpy(), alias["forename"].to_numpy()
        for k, v in keys.items():
            of_alias = key_of(k).of_alias  # a name key: the alias's own; any other: its record's
            keys[k] = np.concatenate([v, of_alias(records, surnames, forenames) if of_alias else v[alias_rid]])
        rid = np.concatenate([rid, alias_rid])
    combined = np.zeros(len(rid), dtype=np.int64)
    valid = np.ones(len(rid), dtype=bool)
    span = 1  # combined values stay below this
    for k in rule.keys:
        codes = keys[k]
        valid &= codes >= 0
        width = int(codes.max()) + 2 if len(codes) else 1
        if span * width >= 2**62:  # renumber densely first, so that many keys never overflow 64 bits
            combined = dense_codes(combined)
            span = int(combined.max()) + 1 if len(combined) else 1
        combined = combined * width + codes
        span *= width
    return rid[valid], combined[valid]


def pairs_in_blocks(
    rid: np.ndarray, block: np.ndarray, max_block_size: int, only: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """All pairs of distinct rids sharing a block (a < b); blocks over the size limit are skipped.

    ``only`` (a boolean mask over rids) keeps just the pairs with at least one flagged record,
    and only the blocks holding a flagged record are enumerated: the incremental path.
    """
    order = np.argsort(block, kind="stable")  # which pair comes first inside a block does not matter
    rid, block = rid[order], block[order]
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    sizes = np.diff(np.r_[starts, len(block)])
    too_big = sizes > max_block_size
    keep_block = (sizes > 1) & ~too_big
    if only is not None:
        flagged = np.add.reduceat(only[rid].astype(np.int64), starts) > 0 if len(rid) else np.zeros(0, bool)
        keep_block &= flagged
    block_end = np.repeat(starts + sizes, sizes)
    keep = np.repeat(keep_block, sizes)
    position = np.arange(len(rid))
    counts = np.where(keep, block_end - position - 1, 0)
    total = int(counts.sum())
    first = np.repeat(position, counts)
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    second = first + 1 + offset
    a, b = rid[first], rid[second]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    distinct = lo != hi
    lo, hi = lo[distinct], hi[distinct]
    if only is not None:
        either = only[lo] | only[hi]
        lo, hi = lo[either], hi[either]
    return lo, hi, int(too_big.sum())


def candidate_pairs(records: Records, settings: Settings, only: np.ndarray | None = None) -> Candidates:
    """The union of every rule's pairs, each pair once (rids a < b)."""
    feeds = pd.factorize(records.frame["feed"])[0]
    seen = np.zeros(0, dtype=np.int64)
    per_rule, skipped = {}, {}
    n = np.int64(records.n)
    for rule in settings.blocking:
        if any(not is_derived(k) and k not in records.frame.columns for k in rule.keys):
            log.info("blocking rule %s skipped: a key is not in these records", rule.name)
            continue
        rid, block = rule_codes(records, rule)
        a, b, too_big = pairs_in_blocks(rid, block, settings.max_block_size, only)
        if settings.link_type == "link_only":
            across = feeds[a] != feeds[b]
            a, b = a[across], b[across]
        codes = unique_sorted(a * n + b)
        new = codes[~isin_sorted(codes, seen)]
        per_rule[rule.name] = int(len(new))
        skipped[rule.name] = too_big
        if too_big:
            log.info(
                "blocking rule %s: %d blocks larger than %d records skipped",
                rule.name,
                too_big,
                settings.max_block_size,
            )
        seen = unique_sorted(np.concatenate([seen, new]))
    return Candidates(a=seen // n, b=seen % n, per_rule=per_rule, skipped_blocks=skipped)

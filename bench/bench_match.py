"""Matching accuracy and speed, nominal against Splink 5 (DuckDB), on the same records.

    .venv/bin/python bench/bench_match.py [febrl4] [10000] [100000]     (default: all three)

Datasets: FEBRL4 (5,000 + 5,000 records, link only, through ``febrl4_mapping.yaml`` and
``febrl4_settings.yaml``), and nominal's generated feeds for N people (one night, all feeds
deduplicated together, nominal's default settings). The canonical records are made once and
cached (``match_data.py``); then each tool runs in its own child process, so its time excludes
loading and its peak memory is its own (``nominal_runner.py``, ``splink_runner.py``).

Every accuracy figure is ``matching.evaluate.evaluate`` on cluster assignments: pairwise
precision, recall and F1 of the persons a tool makes when it links its pairs at or above a
threshold (connected components), for both tools alike (``match_metrics.py``).

Targets (issue): FEBRL4 nominal F1 >= 0.998 and >= Splink's, time <= Splink's; generated feeds
at 10,000 and 100,000 people nominal F1 >= 0.99 and above Splink's, time <= Splink's.
"""

from __future__ import annotations

import sys

from common import measured

DEFAULT_DATASETS = ("febrl4", "10000", "100000")
FEBRL4_TARGET_F1 = 0.998
GENERATED_TARGET_F1 = 0.99
TOOLS = ("nominal", "splink")

PREPARE = (
    "import sys, json; sys.path.insert(0, 'bench'); import match_data; "
    "print(json.dumps({'path': str(match_data.folder(sys.argv[1]))}))"
)
RUN = "import sys, json; sys.path.insert(0, 'bench'); import {module}; print(json.dumps({module}.run(sys.argv[1])))"


def label(name: str) -> str:
    return "FEBRL4" if name == "febrl4" else f"generated, {int(name):,} people"


def run_dataset(name: str) -> dict[str, dict]:
    path = measured(PREPARE, name)["path"]
    return {tool: measured(RUN.format(module=f"{tool}_runner"), path) for tool in TOOLS}


def _prf(scores: dict) -> str:
    return f"{scores['precision']:.4f} {scores['recall']:.4f} {scores['f1']:.4f}"


def print_dataset(name: str, results: dict[str, dict]) -> None:
    nominal, splink = results["nominal"], results["splink"]
    print(f"\n{label(name)}: {nominal['records']:,} records")
    rows = [
        ("seconds (matching, in the child)", lambda r: f"{r['seconds']:.2f}"),
        ("child process wall seconds", lambda r: f"{r['wall_seconds']:.1f}"),
        ("peak RSS MB (the child's own)", lambda r: f"{r['peak_mb']:,}"),
        ("candidate pairs", lambda r: f"{r['candidate_pairs']:,}"),
        ("blocking recall", lambda r: f"{r['blocking_recall']:.6f}"),
    ]
    rows += [(f"P R F1 at {t}", lambda r, t=t: _prf(r["sweep"][str(t)])) for t in ("0.5", "0.8", "0.9", "0.95", "0.99")]
    rows += [
        ("best F1 (threshold)", lambda r: f"{r['best']['f1']:.4f} ({r['best']['threshold']})"),
        ("default result P R F1", lambda r: _prf(r["default"])),
    ]
    print(f"  {'':36} {'nominal':>24} {'splink':>24}")
    for title, show in rows:
        print(f"  {title:36} {show(nominal):>24} {show(splink):>24}")
    print(
        "  default result: nominal's own (link threshold 0.95 with its identifier links, twins rule and "
        "unique-identifier splits); Splink's clustered at 0.95 by cluster_pairwise_predictions_at_threshold"
    )
    clusters = nominal["default"]["clusters"]
    print(
        f"  nominal default: {clusters['persons']:,} persons for {clusters['true_people']:,} people, "
        f"{clusters['true_people_split']} people split, {clusters['persons_merging_people']} persons merging people, "
        f"{nominal['links_cut']} links cut by constraints"
    )
    print(f"  nominal stages (s): {nominal['stages']}")
    print(f"  splink stages (s):  {splink['stages']}")
    if nominal["null_comparisons"]:
        print(
            f"  WARNING: nominal compared no pair on {', '.join(nominal['null_comparisons'])} (null for every pair): "
            "the matcher did not see these columns"
        )
    print(
        f"  nominal pairs by rule: {nominal['pairs_by_rule']}"
        + (f"  skipped blocks: {nominal['skipped_blocks']}" if nominal["skipped_blocks"] else "")
    )


def targets(name: str, results: dict[str, dict]) -> list[str]:
    nominal, splink = results["nominal"], results["splink"]
    febrl = name == "febrl4"
    floor = FEBRL4_TARGET_F1 if febrl else GENERATED_TARGET_F1
    lines = []
    for which in ("best", "default"):
        n, s = nominal[which]["f1"], splink[which]["f1"]
        ahead = n >= s if febrl else n > s
        ok = n >= floor and ahead
        lines.append(
            f"{label(name)}: {which} F1 nominal {n:.4f} (>= {floor}: {'yes' if n >= floor else 'NO'}) "
            f"vs Splink {s:.4f} ({'>=' if febrl else '>'}: {'yes' if ahead else 'NO'})  {'met' if ok else 'NOT MET'}"
        )
    fast = nominal["seconds"] <= splink["seconds"]
    lines.append(
        f"{label(name)}: time nominal {nominal['seconds']:.1f} s vs Splink {splink['seconds']:.1f} s  "
        f"{'met' if fast else 'NOT MET'}"
    )
    return lines


def print_summary(all_results: dict[str, dict[str, dict]]) -> None:
    print("\nsummary")
    header = (
        f"  {'dataset':26} {'tool':8} {'seconds':>8} {'peak MB':>8} {'block rec':>9} "
        f"{'best F1 (thr)':>16} {'F1 @ default':>12}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for name, results in all_results.items():
        for tool in TOOLS:
            r = results[tool]
            best = f"{r['best']['f1']:.4f} ({r['best']['threshold']})"
            print(
                f"  {label(name):26} {tool:8} {r['seconds']:>8.2f} {r['peak_mb']:>8,} {r['blocking_recall']:>9.4f} "
                f"{best:>16} {r['default']['f1']:>12.4f}"
            )
    print("\ntargets")
    for name, results in all_results.items():
        for line in targets(name, results):
            print(f"  {line}")


def main() -> None:
    names = sys.argv[1:] or list(DEFAULT_DATASETS)
    all_results = {}
    for name in names:
        all_results[name] = run_dataset(name)
        print_dataset(name, all_results[name])
    print_summary(all_results)


if __name__ == "__main__":
    main()

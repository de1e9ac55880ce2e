"""Charts drawn on the server as SVG (no script, no inline style: colours come from classes in
nominal.css): the match weight's waterfall on a review, and the graph of a person's records.

These only place shapes; the numbers are the service's (each comparison's weight, each link's
probability)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Bar:
    label: str
    detail: str
    y: float
    x: float
    width: float
    css: str  # wf-prior, wf-up, wf-down, wf-total
    value: str
    text_x: float
    text_anchor: str


@dataclass(frozen=True)
class Waterfall:
    width: int
    height: int
    label_width: int
    row: int
    zero_x: float
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    axis_y: float


def probability(weight: float) -> float:
    """A match weight (log2 of the Bayes factor with the prior) as a probability."""
    return 1 / (1 + 2 ** (-weight)) if weight > -1000 else 0.0


def waterfall(prior: float, steps: list[tuple[str, str, float]], total: float, width: int = 720) -> Waterfall:
    """Rows from the prior, through each comparison's weight (label, level, weight), to the match
    weight; each bar starts where the last ended, as in Splink's waterfall chart."""
    label_width, row, pad = 250, 30, 50
    running = prior
    spans: list[tuple[str, str, float, float, str]] = [("Before any comparison", "the prior", 0.0, prior, "wf-prior")]
    for label, level, weight in steps:
        spans.append((label, level, running, running + weight, "wf-up" if weight >= 0 else "wf-down"))
        running += weight
    chance = probability(total)
    said = (
        f"probability {chance:.1%}"
        if 0.001 <= chance <= 0.999
        else ("probability under 0.1%" if chance < 0.001 else "probability over 99.9%")
    )
    spans.append(("Match weight", said, 0.0, total, "wf-total"))
    lowest = min(0.0, *(min(a, b) for _, _, a, b, _ in spans))
    highest = max(0.0, *(max(a, b) for _, _, a, b, _ in spans))
    lo, hi = math.floor(lowest / 5) * 5, math.ceil(highest / 5) * 5
    if hi - lo < 10:
        hi = lo + 10
    plot = width - label_width - pad

    def at(value: float) -> float:
        return round(label_width + (value - lo) / (hi - lo) * plot, 1)

    bars = []
    for i, (label, level, start, end, css) in enumerate(spans):
        left, right = at(min(start, end)), at(max(start, end))
        delta = end - start if css in ("wf-up", "wf-down") else end
        value = f"{delta:+.1f}"
        # the value beside the bar's far end, or after it when the bar reaches the labels' edge
        leftwards = delta < 0 and left - 44 > label_width
        bars.append(
            Bar(
                label,
                level,
                i * row + 8,
                left,
                max(right - left, 1.5),
                css,
                value,
                left - 4 if leftwards else right + 4,
                "end" if leftwards else "start",
            )
        )
    step = 5 if hi - lo <= 40 else 10
    ticks = [(at(v), f"{v:+d}" if v else "0") for v in range(int(lo), int(hi) + 1, step)]
    height = len(spans) * row + 40
    return Waterfall(width, height, label_width, row, at(0.0), bars, ticks, len(spans) * row + 8)


@dataclass(frozen=True)
class Node:
    key: str
    x: float
    y: float
    css: str  # node-person, node-record, node-outside
    lines: list[str]


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str  # edge-link, edge-review
    label: str
    lx: float
    ly: float


@dataclass
class Graph:
    width: int
    height: int
    nodes: list[Node] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


def graph(person_id: str, records: list[str], edges: list[Any], width: int = 880, height: int = 460) -> Graph:
    """The person in the middle, their records around it, each joined by how it was linked (with the
    model's probability where there is one); review pairs between records as dashed lines, reaching
    records of other persons on an outer ring. ``edges`` are the service's ``Edge`` (a, b, probability, how)."""
    cx, cy = width / 2, height / 2
    inner = min(width, height) / 2 - 60
    out = Graph(width, height)
    places: dict[str, tuple[float, float]] = {f"person:{person_id}": (cx, cy)}
    out.nodes.append(Node(f"person:{person_id}", cx, cy, "node-person", ["Person", person_id]))
    for i, key in enumerate(records):
        angle = -math.pi / 2 + 2 * math.pi * i / max(len(records), 1)
        x, y = cx + inner * 1.9 * math.cos(angle), cy + inner * math.sin(angle)
        places[key] = (round(x, 1), round(y, 1))
    outside = [k for e in edges for k in (e.a, e.b) if k not in places and not k.startswith("person:")]
    outside = list(dict.fromkeys(outside))
    for i, key in enumerate(outside):
        angle = -math.pi / 4 + 2 * math.pi * i / max(len(outside), 1)
        places[key] = (
            round(cx + (inner + 50) * 1.6 * math.cos(angle), 1),
            round(cy + (inner + 40) * math.sin(angle), 1),
        )
    for key, (x, y) in places.items():
        if key.startswith("person:"):
            continue
        feed, _, source_key = key.partition(":")
        css = "node-record" if key in records else "node-outside"
        out.nodes.append(Node(key, x, y, css, [feed, source_key]))
    for e in edges:
        if e.a not in places or e.b not in places:
            continue
        (x1, y1), (x2, y2) = places[e.a], places[e.b]
        review = e.how.startswith("review")
        score = f"{e.probability:.2f}" if e.probability is not None else ""
        how = "review" if review else _how(e.how)
        label = f"{how} {score}".strip()
        at = 0.5 if review else 0.6  # a link's words nearer its record, clear of the person in the middle
        lx, ly = x2 + (x1 - x2) * at, y2 + (y1 - y2) * at
        out.lines.append(Line(x1, y1, x2, y2, "edge-review" if review else "edge-link", label, lx, ly + 4))
    return out


_IDENTIFIERS = {"pnc_id": "PNC ID", "cro_number": "CRO number", "noms_number": "NOMS number", "crn": "CRN"}


def _how(how: str) -> str:
    """ "identifier: pnc_id" → "PNC ID"; "model" → "model"."""
    kind, _, on = how.partition(": ")
    return _IDENTIFIERS.get(on, on.replace("_", " ")) if kind == "identifier" and on else kind.replace("_", " ")

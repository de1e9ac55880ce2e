"""Seconds per stage, each stage timed from the end of the one before, with the process's peak
memory by the end of each stage: what the stages report in their stats and benchmarks print."""

from __future__ import annotations

import resource
import time


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mb: dict[str, int] = {}
        self._clock = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._clock, 2)
        self.peak_mb[stage] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux
        self._clock = now

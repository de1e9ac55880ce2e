"""Synthetic feed generator: nightly police, probation and prison deliveries of generated people,
with the truth (which person each record is, and which errors were injected) beside them.

Only synthetic people, ever. See docs/synthetic.md.

    from nominal.synthetic import generate, GeneratorSettings
    report = generate(people=1000, seed=7, out=Path("x"), nights=3, start_date=date(2026, 11, 23))
"""

from .generate import Delivery, GenerationReport, NightReport, generate
from .settings import GeneratorSettings

__all__ = ["generate", "GeneratorSettings", "GenerationReport", "NightReport", "Delivery"]

"""Logging for the command line: Rich on a terminal, plain lines otherwise.

Log messages are built from masked values only (nominal.masking); as a second line of defence a
filter masks anything shaped like an identifier or a date that slips into a message.
"""

from __future__ import annotations

import logging
import re
import sys

from rich.console import Console
from rich.logging import RichHandler

from nominal.masking import mask_identifier

# Shapes of personal identifiers that must never reach a log in full. (Dates are not matched:
# logs are full of as-of dates; dates of birth are never put in a message in the first place.)
_SENSITIVE = re.compile(
    r"\b(?:\d{2}(?:\d{2})?/\d{1,7}[A-Za-z]"  # PNC ID, long or short form
    r"|\d{1,6}/\d{2}[A-Za-z]|SF\d{2}/\d{1,6}[A-Za-z]"  # CRO number, standard or SF
    r"|[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d])\b"  # NI number
)

# Off a terminal (a scheduler's log, a pipe) lines are never wrapped: a wrapped line splits words
# and identifiers that tools grep for.
console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SENSITIVE.sub(lambda m: mask_identifier(m.group(0)), message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def setup_logging(verbose: bool = False) -> None:
    handler = RichHandler(console=console, show_path=False, show_time=False, markup=False)
    handler.addFilter(MaskingFilter())
    root = logging.getLogger("nominal")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False

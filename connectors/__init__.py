"""Connectors by transport: each pulls one feed's extract and returns a RawExtract.

A feed is configuration (``nominal.yaml``: connector name + options); the transports are here.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .base import ConnectorOptions, FetchContext, RawExtract

CONNECTORS = ("landing", "file", "sql", "http")


def connector(name: str) -> ModuleType:
    """The module implementing a transport (imported lazily: http and sql pull in heavier libraries)."""
    if name not in CONNECTORS:
        raise KeyError(name)
    return importlib.import_module(f"nominal.connectors.{name}")


__all__ = ["CONNECTORS", "ConnectorOptions", "FetchContext", "RawExtract", "connector"]

"""The configuration every command runs with: ``nominal.yaml`` read by the core, then checked by
the stages it names — before any work starts, not halfway through a night.

The core's ``nominal.config.read_config`` knows the file's shape; only the stages know whether a
connector exists and takes these options, whether a mapping file parses and whether matching's
settings and publish's rules load. Each problem is named by its key (``feeds[0].options.delimitter:
unknown key — did you mean 'delimiter'?``).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from nominal.config import Config, read_config
from nominal.connectors import CONNECTORS, connector
from nominal.errors import ConfigError
from nominal.mappings.spec import load_mapping
from nominal.matching.settings import load_settings
from nominal.publish.rules import load_rules
from nominal.yamlfile import describe, problems


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read ``path`` (default ./nominal.yaml, else the shipped config) and check it against the stages."""
    config = read_config(path)
    found = check(config)
    if found:
        raise ConfigError(describe(config.source or "config", found))
    return config


def check(config: Config) -> list[str]:
    """Everything wrong with the stages' parts of ``config``, each named by its key."""
    found = []
    for i, feed in enumerate(config.feeds):
        if feed.connector not in CONNECTORS:
            found.append(f"feeds[{i}].connector: unknown connector {feed.connector!r}; one of {', '.join(CONNECTORS)}")
        else:
            options_model = connector(feed.connector).Options
            try:
                options_model.model_validate(feed.options)
            except ValidationError as exc:
                found += problems(exc, options_model, prefix=f"feeds[{i}].options")
        try:
            load_mapping(config.mapping_path(feed))
        except ConfigError as exc:
            found.append(f"feeds[{i}].mapping: {exc}")
        suite = config.suite_path(feed)
        if suite is not None and not suite.is_file():
            found.append(f"feeds[{i}].suite: {suite} not found")
    common = config.common_suite_path()
    if common is not None and not common.is_file():
        found.append(f"validation.common_suite: {common} not found")
    for key, load, path in (
        ("matching.settings", load_settings, config.match_settings_path()),
        ("publish.rules", load_rules, config.publish_rules_path()),
    ):
        if path is not None:
            try:
                load(Path(path))
            except ConfigError as exc:
                found.append(f"{key}: {exc}")
    return found

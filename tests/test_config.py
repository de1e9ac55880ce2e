"""nominal.yaml: validated on load, every mistake named by its key."""

from __future__ import annotations

import textwrap

import pytest

from nominal.config import SHIPPED_CONFIG
from nominal.errors import ConfigError
from nominal.flows.configuration import load_config

FEED = """
feeds:
  - name: police
    connector: landing
    options: {file: "nominals_{date:%Y%m%d}.csv"}
    mapping: police.yaml
"""


def write(tmp_path, text):
    path = tmp_path / "nominal.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_config_lists_the_three_feeds():
    config = load_config(SHIPPED_CONFIG)
    assert [f.name for f in config.feeds] == ["police", "probation", "prison"]
    assert all(config.mapping_path(f).is_file() for f in config.feeds)


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    config = load_config(write(tmp_path, "landing: in\narchive: /abs/archive\n" + FEED))
    assert config.landing_dir == tmp_path / "in"
    assert str(config.archive_dir) == "/abs/archive"


def test_local_nominal_yaml_is_the_default(tmp_path, monkeypatch):
    write(tmp_path, "landing: mine\n" + FEED)
    monkeypatch.chdir(tmp_path)
    assert load_config().landing_dir == tmp_path / "mine"


def test_shipped_config_is_used_when_there_is_no_local_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.source == SHIPPED_CONFIG and config.landing_dir == tmp_path / "landing"


def test_env_overrides_the_store_url(tmp_path, monkeypatch):
    monkeypatch.setenv("NOMINAL_DB_URL", "postgresql+psycopg://u@h/db")
    assert load_config(write(tmp_path, FEED)).db_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    "text, message",
    [
        (FEED.replace("connector:", "conector:"), "feeds[0].conector: unknown key — did you mean 'connector'?"),
        (FEED.replace("connector: landing", "connector: ftp"), "unknown connector 'ftp'"),
        (
            FEED.replace('{file: "nominals_{date:%Y%m%d}.csv"}', "{file: x.csv, delimitter: ','}"),
            "feeds[0].options.delimitter: unknown key — did you mean 'delimiter'?",
        ),
        (FEED.replace('{file: "nominals_{date:%Y%m%d}.csv"}', "{}"), "feeds[0].options.file: required key is missing"),
        (FEED.replace("police.yaml", "nowhere.yaml"), "feeds[0].mapping: mapping file"),
        (FEED + "thresholds: {row_drop_max: 2}", "thresholds.row_drop_max"),
        (FEED + "treshold: {}", "treshold: unknown key"),
        (FEED.replace("name: police", "name: Police Feed"), "feeds[0].name"),
        (FEED + FEED.replace("feeds:\n", ""), "repeated: police"),
        ("feeds: [\n", "not valid YAML at line"),
        ("- a\n- b\n", "expected a mapping"),
    ],
)
def test_mistakes_are_named_by_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert message in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")

"""``nominal.yaml``: feeds, store, thresholds and schedule, as a validated model.

This is the configuration's shape only (the core knows no stage). What only a stage can judge —
that a connector exists and takes these options, that a mapping file parses, that matching's
settings load — is checked by ``nominal.flows.configuration.load_config``, which every command
uses. Every mistake is reported with the key that holds it (``feeds[0].conector: unknown key —
did you mean 'connector'?``). Relative paths in a config file are relative to that file's folder;
in the shipped default config they are relative to the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from nominal.errors import ConfigError
from nominal.yamlfile import Strict, read_yaml, validate

SHIPPED_CONFIG = Path(__file__).with_name("default_config.yaml")
LOCAL_CONFIG = Path("nominal.yaml")
SHIPPED_MAPPINGS = Path(__file__).with_name("mappings")
SHIPPED_SUITES = Path(__file__).parent / "expectations" / "suites"
DB_URL_ENV = "NOMINAL_DB_URL"


class StoreConfig(Strict):
    url: str = Field("sqlite:///nominal.db", description="SQLAlchemy URL; env NOMINAL_DB_URL overrides")


class FeedConfig(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="short lower-case name, e.g. police")
    connector: str
    options: dict[str, Any] = Field(default_factory=dict)
    mapping: str = Field(description="mapping YAML: a path, or the name of one shipped in mappings/")
    suite: str | None = Field(None, description="expectation suite: a path, or a name shipped in expectations/suites/")
    enabled: bool = True


class Thresholds(Strict):
    row_drop_max: float = Field(0.20, ge=0, le=1, description="largest fall in a feed's rows against its recent runs")
    error_rate_max: float = Field(0.10, ge=0, le=1, description="largest share of a feed's records with errors")
    row_history_nights: int = Field(7, ge=1, le=366, description="recent nights a feed's row count is compared with")


class ValidationConfig(Strict):
    common_suite: str | None = Field("common.json", description="rules for every feed; a path or a shipped suite name")
    data_docs: bool = Field(True, description="build GX Data Docs for every run")
    schema_drift_severity: Literal["critical", "error", "warning"] = "warning"


class MatchingConfig(Strict):
    settings: str | None = Field(None, description="model settings YAML; default matching/default_settings.yaml")
    state_dir: str = Field(
        "state/matching", description="what a night's matching leaves for the next: model, pairs, persons"
    )


class PublishConfig(Strict):
    rules: str | None = Field(
        None, description="publish rules YAML (survivorship, conflicts, discrepancies); default publish/rules.yaml"
    )
    reports: str = Field("reports", description="folder of each night's reports: <reports>/<as-of date>/")


class TriageConfig(Strict):
    """Sign-in and sessions of the triage service, its web app and API (``nominal serve``)."""

    session_idle_minutes: int = Field(30, ge=1, le=24 * 60, description="a session unused this long ends")
    session_max_hours: float = Field(12, gt=0, le=24 * 7, description="a session ends this long after sign-in")
    token_days: int = Field(30, ge=1, le=366, description="an access token (NOMINAL_USER_TOKEN) lasts this long")
    sign_in_failures: int = Field(5, ge=1, le=100, description="failed sign-ins for one name before a pause")
    sign_in_failures_per_address: int = Field(20, ge=1, le=1000, description="… and from one address")
    sign_in_pause_minutes: int = Field(15, ge=1, le=24 * 60, description="the window failures are counted in")
    secure_cookies: bool = Field(True, description="cookies only over HTTPS; false for local http (the demo)")


class EmailAlerts(Strict):
    smtp_host: str = Field(description="the mail server")
    smtp_port: int = Field(25, ge=1, le=65535)
    starttls: bool = Field(False, description="upgrade the connection with STARTTLS")
    username: str | None = Field(None, description="sign-in name, or env:VARNAME")
    password: str | None = Field(None, description="env:VARNAME (never the password itself in the file)")
    sender: str = Field(description="the From address")
    to: list[str] = Field(min_length=1, description="who is told")


class AlertsConfig(Strict):
    """Who is told when a night's gate fails, a night fails, or no night has published by a time."""

    webhook: str | None = Field(None, description="a URL (or env:VARNAME) that receives a JSON POST")
    email: EmailAlerts | None = None
    publish_by: str | None = Field(
        None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM (schedule.timezone): alert if none published"
    )
    timeout_seconds: float = Field(10, gt=0, le=120)
    summary_url: str | None = Field(None, description="where the nights' summary pages are served, for the message")


class ScheduleConfig(Strict):
    cron: str = "30 1 * * *"
    timezone: str = "Europe/London"
    retries: int = Field(
        3, ge=0, le=20, description="retries of a feed whose source is unreachable (never of a data error)"
    )
    retry_delay_seconds: float = Field(30, ge=0, description="first retry's delay; each later one doubles")


class Config(Strict):
    landing: str = Field("landing", description="folder where deliveries arrive: <landing>/<feed>/<date>/")
    archive: str = Field("archive", description="folder of read-only copies of every loaded extract")
    store: StoreConfig = Field(default_factory=StoreConfig)
    feeds: list[FeedConfig]
    thresholds: Thresholds = Field(default_factory=Thresholds)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    triage: TriageConfig = Field(default_factory=TriageConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)

    # Set by load_config: where relative paths start, and where the file came from.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    source: Path | None = Field(None, exclude=True)

    @field_validator("feeds")
    @classmethod
    def _unique_names(cls, feeds: list[FeedConfig]) -> list[FeedConfig]:
        names = [f.name for f in feeds]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"feed names must be unique; repeated: {', '.join(repeated)}")
        if not feeds:
            raise ValueError("at least one feed is needed")
        return feeds

    def path(self, value: str | os.PathLike[str]) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def landing_dir(self) -> Path:
        return self.path(self.landing)

    @property
    def archive_dir(self) -> Path:
        return self.path(self.archive)

    @property
    def db_url(self) -> str:
        """The store URL: env NOMINAL_DB_URL, else the config's; a relative SQLite file is beside the config."""
        url = os.environ.get(DB_URL_ENV) or self.store.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://" and ":memory:" not in url:
            return prefix + str(self.path(url[len(prefix) :]))
        return url

    def enabled_feeds(self) -> list[FeedConfig]:
        return [f for f in self.feeds if f.enabled]

    def feed(self, name: str) -> FeedConfig:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        raise ConfigError(f"no feed named {name!r} in {self.source or 'the config'}")

    def resource(self, value: str, shipped: Path) -> Path:
        """A mapping or suite file: a path relative to the config, else one shipped with nominal."""
        candidate = self.path(value)
        if candidate.is_file():
            return candidate
        for name in (value, f"{value}.yaml", f"{value}.json"):
            if (shipped / name).is_file():
                return shipped / name
        return candidate

    def mapping_path(self, feed: FeedConfig) -> Path:
        return self.resource(feed.mapping, SHIPPED_MAPPINGS)

    def suite_path(self, feed: FeedConfig) -> Path | None:
        return self.resource(feed.suite, SHIPPED_SUITES) if feed.suite else None

    @property
    def match_state_dir(self) -> Path:
        return self.path(self.matching.state_dir)

    def match_settings_path(self) -> Path | None:
        return self.path(self.matching.settings) if self.matching.settings else None

    def publish_rules_path(self) -> Path | None:
        return self.path(self.publish.rules) if self.publish.rules else None

    @property
    def reports_dir(self) -> Path:
        return self.path(self.publish.reports)

    def common_suite_path(self) -> Path | None:
        common = self.validation.common_suite
        return self.resource(common, SHIPPED_SUITES) if common else None


def default_config_path() -> Path:
    return LOCAL_CONFIG if LOCAL_CONFIG.is_file() else SHIPPED_CONFIG


def read_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate a config file's shape (default ./nominal.yaml, else the shipped one).

    Commands use ``nominal.flows.configuration.load_config``, which also checks what the stages judge.
    """
    path = Path(path) if path else default_config_path()
    raw = read_yaml(path, "config file")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    base_dir = Path.cwd() if path.resolve() == SHIPPED_CONFIG.resolve() else path.resolve().parent
    return validate(Config, raw, path, extra={"base_dir": base_dir, "source": path})

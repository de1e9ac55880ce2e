"""Telling people when a night goes wrong: a gate failed, the night failed, or no night has
published by the time it should (``alerts.publish_by``). The message goes to a webhook (a JSON POST)
and/or by e-mail (SMTP), as configured under ``alerts:`` in nominal.yaml.

Messages carry the night, what happened and why, in masked words (the reasons a gate gives, a run's
message), never a person's data; a secret (the webhook's URL token, the SMTP password) comes from
the environment and is never printed. A failure to notify is logged, never raised: it must not turn
a published night into a failed one.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine

from nominal.clock import utcnow
from nominal.config import AlertsConfig, Config
from nominal.store import dashboards

log = logging.getLogger("nominal.alerts")


@dataclass(frozen=True)
class Alert:
    """What happened, in words a duty officer acts on."""

    kind: str  # gate_failed | failed | late
    night: dt.date | None
    title: str
    text: str

    def as_json(self, summary_url: str | None) -> dict[str, object]:
        body: dict[str, object] = {
            "service": "nominal",
            "kind": self.kind,
            "night": self.night.isoformat() if self.night else None,
            "title": self.title,
            "text": self.text,
        }
        if summary_url and self.night:
            body["summary"] = f"{summary_url.rstrip('/')}/{self.night.isoformat()}/summary.html"
        return body


def _secret(value: str | None) -> str | None:
    if value and value.startswith("env:"):
        return os.environ.get(value[4:])
    return value


def notify(settings: AlertsConfig, alert: Alert) -> list[str]:
    """Send ``alert`` to every configured channel; returns those that took it (failures are logged)."""
    sent = []
    if settings.webhook:
        url = _secret(settings.webhook)
        try:
            response = httpx.post(url or "", json=alert.as_json(settings.summary_url), timeout=settings.timeout_seconds)
            response.raise_for_status()
            sent.append("webhook")
        except (httpx.HTTPError, ValueError) as exc:
            log.error("the alert could not be posted to the webhook: %s", exc.__class__.__name__)
    if settings.email:
        try:
            _mail(settings, alert)
            sent.append("email")
        except (OSError, smtplib.SMTPException) as exc:
            log.error("the alert could not be e-mailed: %s", exc.__class__.__name__)
    return sent


def _mail(settings: AlertsConfig, alert: Alert) -> None:
    email = settings.email
    assert email is not None
    message = EmailMessage()
    message["Subject"] = f"nominal: {alert.title}"
    message["From"] = email.sender
    message["To"] = ", ".join(email.to)
    body = alert.as_json(settings.summary_url)
    lines = [alert.text, ""]
    if "summary" in body:
        lines.append(f"The night's summary: {body['summary']}")
    message.set_content("\n".join(lines))
    with smtplib.SMTP(email.smtp_host, email.smtp_port, timeout=settings.timeout_seconds) as smtp:
        if email.starttls:
            smtp.starttls(context=ssl.create_default_context())
        username, password = _secret(email.username), _secret(email.password)
        if username and password:
            smtp.login(username, password)
        smtp.send_message(message)


def night_failed(config: Config, night: dt.date, gate: bool, message: str | None) -> list[str]:
    """A night stopped: its gate failed (``gate``) or it failed; ``message`` is its masked reason."""
    if not (config.alerts.webhook or config.alerts.email):
        return []
    when = f"{night:%A} {night.day} {night:%B %Y}"
    if gate:
        title = f"the night of {when} stopped at a gate: nothing published"
        text = f"The night of {when} was not published because a feed's gate failed. {message or ''}".strip()
    else:
        title = f"the night of {when} failed: nothing published"
        text = f"The night of {when} failed before it could publish. {message or ''}".strip()
    text += " The last good night's records stand; run the night again once the cause is fixed."
    return notify(config.alerts, Alert("gate_failed" if gate else "failed", night, title, text))


def check_late(config: Config, engine: Engine, now: dt.datetime | None = None) -> Alert | None:
    """If it is past ``alerts.publish_by`` (in the schedule's time zone) and tonight's night has not
    published, an alert (sent); else None. Run it from a scheduler a little after the time."""
    if not config.alerts.publish_by:
        return None
    zone = ZoneInfo(config.schedule.timezone)
    local = (now or utcnow()).astimezone(zone)
    hour, minute = (int(part) for part in config.alerts.publish_by.split(":"))
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if local < due:
        return None
    published = dashboards.last_published(engine)
    if published is not None and published.astimezone(zone) >= due - dt.timedelta(hours=24):
        return None
    tonight = local.date()
    when = f"{tonight:%A} {tonight.day} {tonight:%B %Y}"
    text = f"No night has published since {published:%d %B %Y %H:%M} UTC" if published else "No night has published yet"
    alert = Alert("late", tonight, f"no night published by {config.alerts.publish_by} on {when}", f"{text}.")
    notify(config.alerts, alert)
    return alert

"""Users for tests of the triage service: one of each role, all with the same (test-only) password."""

from __future__ import annotations

from sqlalchemy import Engine

from nominal.triage import users
from nominal.triage.actors import Actor
from nominal.vocab import Role

PASSWORD = "correct horse battery staple"
STAFF = {
    "admin1": Role.ADMIN,
    "super1": Role.SUPERVISOR,
    "officer1": Role.OFFICER,
    "officer2": Role.OFFICER,
    "viewer1": Role.VIEWER,
}


def make_staff(engine: Engine) -> dict[str, Actor]:
    """The staff above in a store that has no users yet; each as the Actor the service would make."""
    first = users.add_user(engine, None, "admin1", "Ada Admin", Role.ADMIN, PASSWORD)
    admin = Actor(first.id, first.name, first.display_name, Role.ADMIN, None, "test")
    actors = {"admin1": admin}
    for name, role in STAFF.items():
        if name == "admin1":
            continue
        added = users.add_user(
            engine, admin, name, name.replace("1", " One").replace("2", " Two").title(), role, PASSWORD
        )
        actors[name] = Actor(added.id, added.name, added.display_name, role, None, "test")
    return actors

"""Who is acting: a signed-in user with their role, session and address (what the audit log keeps)."""

from __future__ import annotations

from dataclasses import dataclass

from nominal.store.audit import AuditEntry
from nominal.vocab import Role

from .roles import Permission, allowed, require


@dataclass(frozen=True)
class Actor:
    user_id: int
    name: str
    display_name: str
    role: Role
    session_id: int | None = None
    client_address: str | None = None

    def may(self, permission: Permission) -> bool:
        return allowed(self.role, permission)

    def require(self, permission: Permission) -> None:
        require(self.role, permission)

    def audit(
        self,
        action: str,
        object_type: str,
        object_id: object = None,
        *,
        person_id: str | None = None,
        reason: str | None = None,
        **detail: object,
    ) -> AuditEntry:
        """An audit entry for something this actor did."""
        return AuditEntry(
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            user_id=self.user_id,
            person_id=person_id,
            reason=reason,
            detail=dict(detail),
            session_id=self.session_id,
            client_address=self.client_address,
        )

"""The dashboard's roles, lowest first: each role may do everything the roles below it may.

- ``viewer``: every page and its JSON twin (readiness, controls, AI systems, the register, drift, SoA);
- ``auditor``: also the stored evidence objects and the audit log;
- ``owner``: also a nonconformity's owner, due date and corrective action (those not assigned to someone
  else), and exception requests;
- ``admin``: also any nonconformity, approving or rejecting exception requests, and the tokens.
"""

from __future__ import annotations

import enum


class Role(enum.Enum):
    VIEWER = "viewer"
    AUDITOR = "auditor"
    OWNER = "owner"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {role: rank for rank, role in enumerate(Role)}

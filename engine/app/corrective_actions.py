"""The corrective actions annexa.yaml declares (``nonconformities:``), each with its closure record.

Read the same way by ``annexa nonconformities`` and by the notifications after a scan: a closure record
closes a nonconformity, so both must see it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from annexa.audit.nonconformities import Action, ClosureRecord

if TYPE_CHECKING:
    from annexa.plugins.config import Config


def configured_actions(config: Config) -> tuple[Action, ...]:
    """The corrective actions of annexa.yaml; the closure record (``closed:``) is read from the validated
    entry each action came from."""
    entries = config.raw.get("nonconformities") or ()
    return tuple(
        Action(
            rule=a.rule,
            control=a.control,
            subject=a.subject,
            owner=a.owner,
            action=a.action,
            due=a.due,
            closed=None
            if "closed" not in entry
            else ClosureRecord(
                on=date.fromisoformat(str(entry["closed"]["date"])),
                by=entry["closed"]["by"],
                justification=entry["closed"]["justification"],
            ),
        )
        for a, entry in zip(config.corrective_actions, entries, strict=True)
    )

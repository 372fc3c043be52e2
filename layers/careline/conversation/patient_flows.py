"""One patient, many numbers: which conversation holds a verified patient's open flow.

Conversations are keyed by phone number (the party). A patient who starts a reschedule by text from
their cell and calls from work is one patient on two numbers: once the caller is verified as that
patient, the flow left open on the other number can be offered back. The store keeps, with each
turn that leaves a verified patient's flow open, a record keyed by a keyed hash of the patient id
(never the id) naming the party that holds it; this looks it up. Ports only, no AWS.
"""

from __future__ import annotations

from careline.conversation.model import ConversationContext
from careline.identity.ports import SubjectKeys, SubjectKind
from careline.observability import logger
from careline.ports import ContextStore


class PatientFlows:
    """Where a verified patient's open flow lives, by their keyed patient hash."""

    def __init__(self, store: ContextStore, keys: SubjectKeys) -> None:
        self._store = store
        self._keys = keys

    def key(self, patient_id: str) -> str:
        """The patient's keyed hash: what the store records an open flow under."""
        return self._keys.subject_key(SubjectKind.PATIENT, patient_id)

    def context_holding(self, patient_id: str) -> ConversationContext | None:
        """The conversation that last held an open flow of `patient_id` (the caller checks it still
        does, and whose it is). A failed lookup is no flow found: the turn goes on without it."""
        try:
            party = self._store.party_with_open_flow(self.key(patient_id))
            return self._store.load(party) if party is not None else None
        except Exception:  # noqa: BLE001 - a missing convenience must never fail the patient's turn
            logger.warning("open-flow lookup failed", exc_info=True)
            return None

"""Identity verification: dates of birth and names as patients write them, and the policy that
proves who is texting before any PHI is disclosed (`IdentityVerifier`)."""

from careline.identity.dob import find_date_of_birth, parse_date_of_birth
from careline.identity.ledger import InMemoryVerificationLedger
from careline.identity.names import PersonName, candidate_splits, names_match, normalize_name, split_full_name
from careline.identity.ports import SubjectKeys, SubjectKind, VerificationLedger
from careline.identity.verification import (
    FRAUD_SIGNAL_EVENT,
    AlreadyVerified,
    AskDateOfBirth,
    AskNameAndDob,
    Expecting,
    Failed,
    FraudRule,
    IdentityVerifier,
    Locked,
    NeedsPerson,
    NeedsPersonReason,
    Stage,
    VerificationOutcome,
    VerificationState,
    VerificationStep,
    Verified,
)

__all__ = [
    "FRAUD_SIGNAL_EVENT",
    "AlreadyVerified",
    "AskDateOfBirth",
    "AskNameAndDob",
    "Expecting",
    "Failed",
    "FraudRule",
    "IdentityVerifier",
    "InMemoryVerificationLedger",
    "Locked",
    "NeedsPerson",
    "NeedsPersonReason",
    "PersonName",
    "Stage",
    "SubjectKeys",
    "SubjectKind",
    "VerificationLedger",
    "VerificationOutcome",
    "VerificationState",
    "VerificationStep",
    "Verified",
    "candidate_splits",
    "find_date_of_birth",
    "names_match",
    "normalize_name",
    "parse_date_of_birth",
    "split_full_name",
]

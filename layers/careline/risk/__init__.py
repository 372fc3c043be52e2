"""No-show risk: the chance that a patient misses an appointment, from what the EHR knows.

`AppointmentFacts` (`careline.risk.facts`) is one appointment and its patient's history;
`risk_features` (`careline.risk.features`) is the one feature function training and scoring share;
`RiskModel` (`careline.risk.model`) turns features into a calibrated probability from a versioned
JSON artifact (`load`, `RiskModelError`); `facts_from_fhir` (`careline.risk.fhir`) builds the record
from FHIR R4 resources. Training and backtesting are on the developer side
(`careline risk train`, `careline risk backtest`; docs/decisions/0014).
"""

from careline.risk.facts import AppointmentFacts, CoverageKind, Outcome, PriorAppointment, Sex
from careline.risk.features import risk_features
from careline.risk.fhir import RiskInputError, facts_from_fhir
from careline.risk.model import FORMAT, Calibration, RiskModel, RiskModelError, TrainingRecord, load

__all__ = [
    "FORMAT",
    "AppointmentFacts",
    "Calibration",
    "CoverageKind",
    "Outcome",
    "PriorAppointment",
    "RiskInputError",
    "RiskModel",
    "RiskModelError",
    "Sex",
    "TrainingRecord",
    "facts_from_fhir",
    "load",
    "risk_features",
]

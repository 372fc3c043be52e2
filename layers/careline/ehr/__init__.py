"""The practice's EHR as Careline sees it: value types (here) and the FHIR R4 adapter (`fhir`)."""

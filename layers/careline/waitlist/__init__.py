"""The waitlist and backfilling freed slots (docs/decisions/0016)."""

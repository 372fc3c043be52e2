"""What the local page shows of reminders: the watched visits, what was sent, the freed slots.

Read straight from the table's plain attributes (a low-level scan, fine for a local table), so
nothing encrypted is ever decrypted for the page: a visit shows its appointment id, start, risk
tier and outcome; a ledger entry its key (`reminder#<appointment id>#<step>` or an offer's),
channel and time; a freed slot its practitioner, start, state and how many were offered it.
Patient ids, numbers and emails stay out.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Final

from careline.reminders.report import TierOutcomes

from careline_local.aws import LocalResources, scan_items

# how far back the page looks for visits: a week of outcomes (the scoring job's own look-back)
LOOK_BACK: Final = timedelta(days=7)


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name, {})
    return str(value["S"]) if "S" in value else None


def _number(item: dict[str, Any], name: str) -> float | None:
    value = item.get(name, {})
    return float(value["N"]) if "N" in value else None


def _flag(item: dict[str, Any], name: str) -> bool:
    return bool(item.get(name, {}).get("BOOL", False))


def _instant(item: dict[str, Any], name: str) -> str | None:
    """A stored instant (pynamodb's UTC format or Careline's instant key) as ISO 8601."""
    raw = _text(item, name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


def _prefixed(
    resources: LocalResources, pk_prefix: str, sk: str, *, sk_is_prefix: bool
) -> list[dict[str, Any]]:
    condition = "begins_with(sk, :sk)" if sk_is_prefix else "sk = :sk"
    return scan_items(
        resources.region,
        resources.table_name,
        FilterExpression=f"begins_with(pk, :pk) AND {condition}",
        ExpressionAttributeValues={":pk": {"S": pk_prefix}, ":sk": {"S": sk}},
    )


def reminder_activity(resources: LocalResources, now: datetime) -> dict[str, Any]:
    """`{"visits": [...], "sent": [...], "slots": [...], "no_show_by_tier": [...]}` for the local page
    (see the module doc); the last is each tier's outcomes and no-show rate over the listed visits."""
    since = (now - LOOK_BACK).isoformat()
    visits = []
    for item in _prefixed(resources, "VISIT#", "VISIT", sk_is_prefix=False):
        starts_at = _instant(item, "starts_at")
        if starts_at is None or starts_at < since:
            continue
        probability = _number(item, "probability")
        visits.append(
            {
                "appointment_id": _text(item, "appointment_id"),
                "starts_at": starts_at,
                "tier": _text(item, "tier"),
                "probability": round(probability, 3) if probability is not None else None,
                "channel": _text(item, "preferred_channel"),
                "consent": _flag(item, "consent"),
                "cancelled": _flag(item, "cancelled"),
                "outcome": _text(item, "outcome"),
            }
        )
    visits.sort(key=lambda v: (v["starts_at"] or "", v["appointment_id"] or ""))

    sent = []
    for item in _prefixed(resources, "LEDGER#", "SENT#", sk_is_prefix=True):
        key = str(_text(item, "sk") or "").removeprefix("SENT#")
        kind, _, rest = key.partition("#")
        appointment_id, _, step = rest.rpartition("#") if kind == "reminder" else (None, "", None)
        sent.append(
            {
                "key": key,
                "kind": kind,
                "appointment_id": appointment_id or None,
                "step": step,
                "channel": _text(item, "channel"),
                "sent_at": _instant(item, "sent_at"),
            }
        )
    sent.sort(key=lambda s: s["sent_at"] or "", reverse=True)

    slots = []
    for item in _prefixed(resources, "SLOT#", "SLOT", sk_is_prefix=False):
        offers = _number(item, "offer_count")
        slots.append(
            {
                "slot_key": _text(item, "slot_key"),
                "practitioner_id": _text(item, "practitioner_id"),
                "start": _instant(item, "start"),
                "state": _text(item, "state"),
                "offers": int(offers) if offers is not None else 0,
                "filled": "filled_by" in item,
            }
        )
    slots.sort(key=lambda s: s["start"] or "")
    tiers: dict[str, Counter[str]] = {}
    for visit in visits:
        counts = tiers.setdefault(str(visit["tier"]), Counter())
        counts["total"] += 1
        if visit["outcome"]:
            counts[str(visit["outcome"])] += 1
    no_show_by_tier = [TierOutcomes(t, c["total"], dict(c)).to_json() for t, c in sorted(tiers.items())]
    return {"visits": visits, "sent": sent, "slots": slots, "no_show_by_tier": no_show_by_tier}

"""A tiny FHIR R4 JSON client for the dev server: just what seeding and scenario checks need.

The conversation engine reaches the EHR through its own `Ehr` port and adapter; this client exists
so the local runtime and tests can put a practice into the server and look at what happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import urllib3

Resource = dict[str, Any]
SearchParams = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


class FhirError(RuntimeError):
    """The server answered with an error status; carries the status and the OperationOutcome text."""

    def __init__(self, method: str, path: str, status: int, outcome: Any) -> None:
        self.status = status
        self.outcome = outcome
        # Only the path and the issue text: neither carries a request body, so no PHI reaches a log.
        super().__init__(f"{method} {_path_only(path)} -> {status}: {_issue_text(outcome)}")


def _path_only(path: str) -> str:
    # Search parameters can hold a phone number or a birth date; keep them out of messages.
    return path.split("?", 1)[0]


def _issue_text(outcome: Any) -> str:
    if isinstance(outcome, dict) and outcome.get("resourceType") == "OperationOutcome":
        texts = [
            str(issue.get("details", {}).get("text") or issue.get("diagnostics") or issue.get("code"))
            for issue in outcome.get("issue", [])
        ]
        return "; ".join(texts) or "no details"
    return "no OperationOutcome"


def _query(params: SearchParams | None) -> str:
    if not params:
        return ""
    pairs: list[tuple[str, str]] = []
    items = params.items() if isinstance(params, Mapping) else params
    for key, value in items:
        if isinstance(value, str):
            pairs.append((key, value))
        else:
            pairs.extend((key, v) for v in value)
    # quote_via=quote keeps "+" in phone numbers from turning into a space on the server.
    return "?" + urlencode(pairs, quote_via=quote)


class FhirClient:
    """Blocking FHIR JSON over HTTP with keep-alive; safe to share between threads."""

    def __init__(self, base_url: str, *, timeout_seconds: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = urllib3.PoolManager(
            maxsize=4,
            timeout=urllib3.Timeout(total=timeout_seconds),
            retries=False,
            headers={"Accept": "application/fhir+json"},
        )

    def close(self) -> None:
        self._http.clear()

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Resource:
        """Send one request to `<base>/<path>`; returns the JSON body, raises FhirError on 4xx/5xx."""
        url = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
        headers = {"Content-Type": "application/fhir+json"} if body is not None else None
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        response = self._http.request(method, url, body=payload, headers=headers)
        data: Any = json.loads(response.data) if response.data else {}
        if response.status >= 400:
            raise FhirError(method, path, response.status, data)
        if not isinstance(data, dict):
            raise FhirError(method, path, response.status, None)
        return data

    # --- instance and type interactions ----------------------------------------------------------

    def read(self, resource_type: str, resource_id: str) -> Resource:
        return self.request("GET", f"{resource_type}/{quote(resource_id, safe='')}")

    def create(self, resource: Mapping[str, Any]) -> Resource:
        """POST a resource; the server assigns the id."""
        return self.request("POST", str(resource["resourceType"]), resource)

    def put(self, resource: Mapping[str, Any]) -> Resource:
        """Create or replace the resource at the id it carries (create-by-update)."""
        path = f"{resource['resourceType']}/{quote(str(resource['id']), safe='')}"
        return self.request("PUT", path, resource)

    def delete(self, resource_type: str, resource_id: str) -> None:
        self.request("DELETE", f"{resource_type}/{quote(resource_id, safe='')}")

    def search_bundle(self, resource_type: str, params: SearchParams | None = None) -> Resource:
        return self.request("GET", resource_type + _query(params))

    def search(self, resource_type: str, params: SearchParams | None = None) -> list[Resource]:
        """The matching resources themselves (the dev server returns every match on one page)."""
        bundle = self.search_bundle(resource_type, params)
        return [entry["resource"] for entry in bundle.get("entry", []) if "resource" in entry]

    # --- system interactions ---------------------------------------------------------------------

    def transaction(self, bundle: Mapping[str, Any]) -> Resource:
        """POST a transaction or batch Bundle to the base; returns the response Bundle."""
        return self.request("POST", "", bundle)

    def batch_put(self, resources: Sequence[Mapping[str, Any]], *, chunk: int = 500) -> None:
        """PUT many resources at their ids in batch Bundles; raises FhirError if any entry failed."""
        for start in range(0, len(resources), chunk):
            part = resources[start : start + chunk]
            response = self.transaction(
                {
                    "resourceType": "Bundle",
                    "type": "batch",
                    "entry": [
                        {
                            "resource": r,
                            "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
                        }
                        for r in part
                    ],
                }
            )
            for entry, sent in zip(response.get("entry", []), part, strict=True):
                answer = entry.get("response", {})
                # R4 allows "201 Created" as well as "201".
                status = int(str(answer.get("status", "0")).split()[0] or 0)
                if not 200 <= status < 300:
                    raise FhirError(
                        "PUT", f"{sent['resourceType']}/{sent['id']}", status, answer.get("outcome")
                    )

    def metadata(self) -> Resource:
        return self.request("GET", "metadata")

    def reset(self) -> None:
        """Delete every resource on the dev server (its dev-only `$reset` operation)."""
        self.request("POST", "$reset")

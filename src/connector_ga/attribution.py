"""Fault attribution: each request gets exactly one fault (DESIGN.md, "Fault attribution").

Implemented once, as an Ibis expression, and shared by every source.
"""

from __future__ import annotations

import ibis

from .schema import DEFAULT_UNATTRIBUTED

THROTTLING_REASONS = ("ratelimitexceeded", "quotaexceeded")
BACKEND_REASONS = ("backendconnectionfailure", "timeout")
CLIENT_REASONS = (
    "subscriptionkeynotfound",
    "subscriptionkeyinvalid",
    "clientconnectionfailure",
    "calleripnotallowed",
    "operationnotfound",
    "unauthorized",
)
_UNATTRIBUTED = "unattributed"


def derived_fault(t: ibis.Table) -> ibis.Value:
    """The first matching rule of the table; rule 9 yields the marker 'unattributed'."""
    status, backend = t.status, t.backend_status
    reason = t.error_reason.lower()
    source = t.error_source.lower()
    return ibis.cases(
        ((status == 429) | reason.isin(THROTTLING_REASONS), "throttled"),  # 1
        ((status >= 100) & (status < 400), "none"),  # 2
        (backend >= 500, "backend"),  # 3
        ((backend >= 400) & (backend < 500), "client"),  # 4
        (backend < 400, "connector"),  # 5: the backend answered fine, the connector failed
        (reason.isin(BACKEND_REASONS) | (source == "forward-request"), "backend"),  # 6
        (reason.isin(CLIENT_REASONS), "client"),  # 7
        ((status >= 400) & (status < 500), "client"),  # 8
        else_=_UNATTRIBUTED,  # 9: a 5xx with nothing to say who caused it
    )


def attribute(t: ibis.Table, unattributed_5xx: str = DEFAULT_UNATTRIBUTED) -> ibis.Table:
    """Add `fault` (explicit when given, else derived) and `unattributed` (rule 9 applied)."""
    t = t.mutate(_derived=derived_fault(t))  # computed once, read twice
    unattributed = t.fault.isnull() & (t._derived == _UNATTRIBUTED)
    fault = t.fault.fill_null(
        ibis.ifelse(t._derived == _UNATTRIBUTED, ibis.literal(unattributed_5xx), t._derived)
    )
    return t.mutate(fault=fault, unattributed=unattributed).drop("_derived")

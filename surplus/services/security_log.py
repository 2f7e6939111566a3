"""The account security log: who signed in, failed, changed a factor or a token, from
which network (the address truncated: /24 for IPv4, /48 for IPv6) and which browser.

Records are added to the caller's session; the caller commits (a failed sign-in is
committed even though the request answers an error)."""

from __future__ import annotations

import ipaddress

from flask import has_request_context, request
from sqlalchemy.orm import Session

from ..models import SecurityEvent, SecurityEventKind, User

USER_AGENT_CHARS = 200


def truncate_ip(address: str | None) -> str:
    """The network of ``address``, never the host: 203.0.113.7 → 203.0.113.0,
    2001:db8:1:2::5 → 2001:db8:1::; "" when it is not an address."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def record(
    session: Session,
    kind: SecurityEventKind,
    user: User | None = None,
    detail: str = "",
) -> SecurityEvent:
    """Add one line to the log, with the current request's network and browser."""
    ip = agent = ""
    if has_request_context():
        ip = truncate_ip(request.remote_addr)
        agent = (request.user_agent.string or "")[:USER_AGENT_CHARS]
    event = SecurityEvent(
        user_id=user.id if user is not None else None,
        kind=kind,
        ip=ip,
        user_agent=agent,
        detail=detail[:200],
    )
    session.add(event)
    return event

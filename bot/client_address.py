"""Who sent a request, and over what: behind the documented nginx (deploy/nginx/linli.conf)
every request comes from the proxy on this machine, which names the real client in
`X-Real-IP` and the scheme in `X-Forwarded-Proto`. Only a loopback peer is trusted to say so;
from anywhere else those headers are a client's own claim and are ignored."""

from __future__ import annotations

import ipaddress

from aiohttp import web

MAX_CHARS = 64  # the longest address kept (an IPv6 address with a zone fits)


def from_trusted_proxy(request: web.Request) -> bool:
    """Whether the peer is on this machine (the reverse proxy), so its headers count."""
    try:
        peer = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.is_loopback


def client_address(request: web.Request) -> str:
    """The client's address: the proxy's `X-Real-IP` when the peer is the trusted proxy and
    the header holds an address, else the peer itself ("unknown" when there is none)."""
    peer = request.remote or "unknown"
    if not from_trusted_proxy(request):
        return peer[:MAX_CHARS]
    forwarded = request.headers.get("X-Real-IP", "").strip()
    try:
        return str(ipaddress.ip_address(forwarded))[:MAX_CHARS]
    except ValueError:
        return peer[:MAX_CHARS]


def is_secure(request: web.Request) -> bool:
    """Whether the client reached us over HTTPS: directly, or through the trusted proxy that
    says `X-Forwarded-Proto: https` (cookies are then marked `Secure`)."""
    if request.secure:
        return True
    if not from_trusted_proxy(request):
        return False
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0]
    return proto.strip().lower() == "https"

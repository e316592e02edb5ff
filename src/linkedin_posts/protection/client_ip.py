"""The client's address: the peer's, or X-Forwarded-For's when the peer is a trusted proxy."""

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import Scope

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address


def client_address(scope: Scope, trusted_proxies: Sequence[Network]) -> Address | None:
    """The nearest address in the chain that is not one of our proxies.

    X-Forwarded-For is read right to left: each proxy appends the address it received the
    request from, so the entries right of the first untrusted one were written by our proxies
    and everything left of it by whoever the client is, who can write anything there.
    """
    peer = peer_address(scope)
    if peer is None or not _trusted(peer, trusted_proxies):
        return peer
    hops = [
        hop.strip()
        for name, value in scope["headers"]
        if name == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
    ]
    nearest = peer
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # Only our proxies wrote what we walked so far; past garbage nothing is theirs.
            return nearest
        if not _trusted(address, trusted_proxies):
            return address
        nearest = address
    return nearest


def peer_address(scope: Scope) -> Address | None:
    """The direct peer, whatever headers it sent."""
    return _parse(scope["client"][0]) if scope.get("client") else None


def rate_limit_identity(address: Address | None) -> str:
    """IPv6 by /64: one subscriber gets a whole /64 and could rotate through it at will."""
    if address is None:
        return "ip:unknown"
    if isinstance(address, IPv6Address):
        return f"ip:{IPv6Network((address, 64), strict=False)}"
    return f"ip:{address}"


def _parse(text: str) -> Address | None:
    try:
        address = ip_address(text)
    except ValueError:
        return None
    # A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted_proxies: Sequence[Network]) -> bool:
    return any(address in network for network in trusted_proxies)

"""Which address a request counts against: X-Forwarded-For only through our own proxies."""

from ipaddress import ip_address, ip_network

import pytest

from linkedin_posts.protection.client_ip import Network, client_address, rate_limit_identity

PROXIES: list[Network] = [ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32")]


def scope(peer: str | None, *forwarded: str) -> dict[str, object]:
    return {
        "client": None if peer is None else (peer, 40000),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # An untrusted peer's header is whatever it wants: ignored.
        ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),
        # Through our proxy: the address the proxy saw.
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        # A client that forged an entry: the proxy appended the real one, which is used.
        ("10.0.0.2", ["1.1.1.1, 198.51.100.1"], "198.51.100.1"),
        # Two of our proxies in a row, and the header split over two lines.
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1", "10.0.0.9"], "198.51.100.1"),
        # Garbage left of our proxies' entries: the nearest address they vouch for.
        ("10.0.0.2", ["not-an-ip, 10.0.0.5"], "10.0.0.5"),
        # A trusted peer that forwarded no header: the peer itself.
        ("127.0.0.1", [], "127.0.0.1"),
        # IPv4 clients on a dual-stack listener.
        ("::ffff:203.0.113.9", ["1.2.3.4"], "203.0.113.9"),
    ],
)
def test_the_client_is_the_first_untrusted_address_from_the_right(
    peer: str, forwarded: list[str], expected: str
) -> None:
    assert client_address(scope(peer, *forwarded), PROXIES) == ip_address(expected)


def test_without_trusted_proxies_the_header_never_counts() -> None:
    assert client_address(scope("10.0.0.2", "198.51.100.1"), []) == ip_address("10.0.0.2")


def test_ipv6_clients_count_by_their_64() -> None:
    one = rate_limit_identity(ip_address("2001:db8:1:2::1"))
    other = rate_limit_identity(ip_address("2001:db8:1:2:ffff::9"))
    assert one == other == "ip:2001:db8:1:2::/64"
    assert rate_limit_identity(ip_address("192.0.2.1")) == "ip:192.0.2.1"
    assert rate_limit_identity(client_address(scope(None), PROXIES)) == "ip:unknown"

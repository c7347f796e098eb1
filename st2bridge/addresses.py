"""The address of the person behind a request, for the login throttle (st2bridge/auth.py)
and the audit log (st2bridge/audit.py):
helpers with no database access, for the API, the admin and the portal.

- X-Forwarded-For is believed only from a peer in PORTAL_TRUSTED_PROXIES (addresses or
  networks; none by default). Entries are read from the right, skipping our own proxies: the
  first one not in the list names the client. The ones further left were written by whoever
  sent the request, and are never read. Not loopback by default: every process on this
  machine (an action's HTTP call from the worker included) comes from loopback.
- The portal signs its users in (and acts for them) through its embedded API over HTTP, so
  the API sees the portal's own address. The portal vouches for the browser's address instead
  (for the throttle and the audit log, st2bridge.audit), in the
  X-Portal-Client-Address header: the address and the username, signed with SECRET_KEY and
  good for SIGNED_ADDRESS_MAX_AGE seconds. Nobody without the secret key can forge it, and a
  captured one names that one user only. A header that does not verify is ignored.
- The throttle counts an IPv6 client by its /64 (what one host is usually given) and an
  IPv4-mapped IPv6 address as the IPv4 address.
"""

import functools
import ipaddress

from django.core import signing
from django.core.exceptions import ImproperlyConfigured

PORTAL_ADDRESS_HEADER = "X-Portal-Client-Address"
PORTAL_ADDRESS_META = "HTTP_X_PORTAL_CLIENT_ADDRESS"
SIGNED_ADDRESS_MAX_AGE = 30  # seconds: the portal signs just before its request
SIGNING_SALT = "st2bridge.addresses.portal-client-address"
ADDRESS_LENGTH = 64  # LoginFailure.address


def client_address(meta, trusted_proxies):
    """The client's address: the peer's, or the one our trusted proxies forwarded."""
    peer = meta.get("REMOTE_ADDR", "")
    networks = _networks(tuple(trusted_proxies))
    if not _within(peer, networks):
        return peer
    address = peer
    for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop = hop.strip()
        if _ip(hop) is None:
            break  # not an address: keep the last one a trusted proxy vouched for
        address = hop
        if not _within(hop, networks):
            break
    return address[:ADDRESS_LENGTH]


def login_address(meta, username, trusted_proxies):
    """The address a sign-in of `username` counts against: the one the portal vouched for,
    else client_address()."""
    return _vouched_address(meta.get(PORTAL_ADDRESS_META, ""), username) or client_address(
        meta, trusted_proxies
    )


def vouch_for(address, username):
    """The X-Portal-Client-Address value for `username` signing in from `address`."""
    return signing.dumps([address, username], salt=SIGNING_SALT)


def _vouched_address(value, username):
    if not value:
        return None
    try:
        address, signed_for = signing.loads(
            value, salt=SIGNING_SALT, max_age=SIGNED_ADDRESS_MAX_AGE
        )
    except (signing.BadSignature, ValueError, TypeError):  # forged, expired or malformed
        return None
    if signed_for != username or _ip(address) is None:
        return None
    return address


def throttle_key(address):
    """What the throttle counts `address` as: IPv4 as is, IPv6 by its /64."""
    ip = _ip(address)
    if ip is None:
        return address[:ADDRESS_LENGTH]
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _ip(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(address, networks):
    ip = _ip(address)
    if ip is None:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks if network.version == ip.version)


@functools.lru_cache(maxsize=8)
def _networks(entries):
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as error:
        raise ImproperlyConfigured(f"PORTAL_TRUSTED_PROXIES: {error}") from None

"""The address of the person behind a request: a pure helper for the API and the portal.

Behind a trusted proxy (by default only this machine: nginx on loopback, or the portal calling
its embedded API), the nearest proxy's X-Forwarded-For entry names the client; otherwise the
peer address does. Only the rightmost entry counts: that one was written by our own proxy,
the ones before it by whoever sent the request.
"""


def client_address(meta, trusted_proxies):
    peer = meta.get("REMOTE_ADDR", "")
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if peer in trusted_proxies and forwarded:
        return forwarded.split(",")[-1].strip()[:64] or peer
    return peer

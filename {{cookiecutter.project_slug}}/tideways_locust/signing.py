"""The ``X-Tideways-Profiler`` header, signed the way Tideways' server checks it.

The algorithm is Tideways' own server-side check (``Tideways.php``,
``decideProfiling()``)::

    key     = hex MD5 of the API key
    message = "method=" + METHOD + "&time=" + EXPIRES + "&user=" + USER
    header  = message + "&hash=" + hex HMAC-SHA256(key, message)

A wrong or expired header makes Tideways skip monitoring the request
altogether, which is worse than sending none, so every traced request is
signed for the second it is sent in.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time

PROFILER_HEADER = "X-Tideways-Profiler"
REF_HEADER = "X-Tideways-Ref"
DEFAULT_TTL = 120
"""Seconds a signature stays valid; Tideways' documentation uses 120."""
MAX_TTL = 86400


class TidewaysSigner:
    """Builds ``X-Tideways-Profiler`` values for one API key."""

    __slots__ = ("_expires", "_header", "_key")

    def __init__(self, api_key: str) -> None:
        # Tideways keys the HMAC with the hex MD5 of the API key, not with the key.
        self._key = hashlib.md5(api_key.encode("utf-8")).hexdigest().encode("ascii")
        self._expires = 0
        self._header = ""

    def header(self, expires: int, method: str = "", user: str = "") -> str:
        """The header value for a trace that may start until Unix time ``expires``."""
        message = f"method={method}&time={expires}&user={user}"
        digest = hmac.digest(self._key, message.encode("utf-8"), "sha256").hex()
        return f"{message}&hash={digest}"

    def fresh_header(self, ttl: int = DEFAULT_TTL) -> str:
        """A header valid from now for ``ttl`` seconds.

        The header depends only on the key and the expiry second, so all the
        requests of one second get the value that signing each of them would
        give: it is computed once a second, not once a request.
        """
        expires = int(time.time()) + ttl
        if expires != self._expires:
            self._header = self.header(expires)
            self._expires = expires
        return self._header


@functools.lru_cache(maxsize=16)
def shared_signer(api_key: str) -> TidewaysSigner:
    """One signer a key, shared by the users of a process."""
    return TidewaysSigner(api_key)

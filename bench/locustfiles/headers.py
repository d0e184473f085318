"""Plain Locust users that send headers of their own on every request, no tideways_locust: the floors.

- ``Headers*``: the two trace headers, the floor for the traced configurations at rate 100: what two
  more headers on a request cost in Locust and its HTTP library, added the cheapest way each client
  offers (the session's own headers), with no code of ours. The values have the length of real ones
  (a signed header, an X-Tideways-Ref like the runtime's), so nginx answers ``traced``.
- ``Authorization*``: ``Authorization: Bearer LOGIN_TOKEN``, the floor for ``--app-login bearer``.
"""

import os

from locust import FastHttpUser, HttpUser, constant, task

HEADERS = {
    "X-Tideways-Profiler": "method=&time=1764284400&user=&hash=" + "0123456789abcdef" * 4,
    "X-Tideways-Ref": "20261127T230000-ab12-0123abcd-1234567",
}
AUTHORIZATION = {"Authorization": f"Bearer {os.environ.get('LOGIN_TOKEN', '')}"}


class HeadersHttpUser(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.client.headers.update(HEADERS)  # requests sends a session's headers with every request

    @task
    def index(self):
        self.client.get("/")


class HeadersFastHttpUser(FastHttpUser):
    wait_time = constant(0)
    default_headers = HEADERS  # sent with every request

    @task
    def index(self):
        self.client.get("/")


class AuthorizationHttpUser(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.client.headers.update(AUTHORIZATION)

    @task
    def index(self):
        self.client.get("/")


class AuthorizationFastHttpUser(FastHttpUser):
    wait_time = constant(0)
    default_headers = AUTHORIZATION

    @task
    def index(self):
        self.client.get("/")

"""A small client of Tideways' REST API: the calls the report makes, and one line for each way they fail.

Documented at support.tideways.com (reference/api/: traces-api, performance-metrics-api,
authentication-scopes-rate-limiting): ``{base}/{organization}/{project}/{endpoint}``
with ``Authorization: Bearer <token>``; the token is an organization's API token with
the scopes ``traces`` and ``metrics``, not the project's API key. The rate limit is
per organization and hour; past it the API answers 429 until the hour ends, with
``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (epoch seconds) headers.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import requests

from ..links import TidewaysProject

DEFAULT_API_URL = "https://app.tideways.io/apps/api"
TOKEN_VARIABLE = "TIDEWAYS_API_TOKEN"
URL_VARIABLE = "TIDEWAYS_API_URL"
SCOPES = {"traces": "traces", "performance": "metrics"}


class ApiError(Exception):
    """A call that failed; the message is one line that says what to fix (and never holds the token)."""


class RateLimitError(ApiError):
    """The organization's hourly limit is used up: nothing more is asked until it resets."""


class TidewaysApi:
    """Calls one project's REST API, retrying server errors and timeouts a bounded number of times."""

    def __init__(
        self,
        project: TidewaysProject,
        token: str,
        base_url: str = DEFAULT_API_URL,
        timeout: float = 20.0,
        attempts: int = 3,
        backoff: float = 1.0,
        sleep=time.sleep,
    ) -> None:
        self.project = project
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.calls = 0
        self.rate_limit: dict | None = None
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self._session.trust_env = True  # a proxy from HTTPS_PROXY, like any other client

    def performance(self, end_minute: str, minutes: int, environment: str, service: str | None) -> dict:
        params = {"ts": end_minute, "m": minutes, "env": environment}
        if service:
            params["s"] = service
        answer = self.get("performance", params)
        application = answer.get("application") if isinstance(answer, dict) else None
        if not isinstance(application, dict):
            raise self._malformed("performance", "no 'application' object")
        return application

    def traces(
        self,
        min_date: str,
        max_date: str,
        environment: str,
        service: str | None,
        limit: int,
        sort_by: str,
        transaction_name: str | None = None,
    ) -> list[dict]:
        params = {
            "env": environment,
            "has_callgraph": "true",
            "min_date": min_date,
            "max_date": max_date,
            "sort_by": sort_by,
            "limit": limit,
        }
        if service:
            params["s"] = service
        if transaction_name:
            params["transaction_name"] = transaction_name
        answer = self.get("traces", params)
        traces = answer.get("traces") if isinstance(answer, dict) else None
        if not isinstance(traces, list):
            raise self._malformed("traces", "no 'traces' list")
        return [trace for trace in traces if isinstance(trace, dict)]

    def get(self, endpoint: str, params: dict) -> object:
        url = f"{self.base_url}/{self.project.api_path()}/{endpoint}"
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                self.calls += 1
                response = self._session.get(url, params=params, timeout=self.timeout)
            except requests.Timeout:
                if last:
                    raise ApiError(
                        f"Tideways API: no answer from {endpoint} within {self.timeout:g} s, {attempt} attempts: "
                        "try again later, or raise --timeout"
                    ) from None
            except requests.RequestException as error:
                if last:
                    reason = type(error).__name__
                    raise ApiError(
                        f"Tideways API: cannot reach {self.base_url} ({reason}), {attempt} attempts: check the "
                        f"network, or {URL_VARIABLE} if it points elsewhere"
                    ) from None
            else:
                self._note_rate_limit(response)
                if response.status_code < 500:
                    return self._answer(endpoint, response)
                if last:
                    raise ApiError(
                        f"Tideways API: {endpoint} failed with {response.status_code} (a server error) "
                        f"{attempt} times: try again later"
                    )
            self._sleep(self.backoff * attempt)
        raise AssertionError("unreachable")

    def _note_rate_limit(self, response) -> None:
        headers = response.headers
        if "X-RateLimit-Limit" in headers or "X-RateLimit-Reset" in headers:
            self.rate_limit = {
                "limit": headers.get("X-RateLimit-Limit"),
                "remaining": headers.get("X-RateLimit-Remaining"),
                "reset": headers.get("X-RateLimit-Reset"),
            }

    def _answer(self, endpoint: str, response) -> object:
        status = response.status_code
        project = str(self.project)
        if status == 401:
            raise ApiError(
                f"Tideways API: 401, the token was rejected: set {TOKEN_VARIABLE} to a valid API token of the "
                "organization (Organization settings > API Access; not the project's API key)"
            )
        if status == 403:
            raise ApiError(
                f"Tideways API: 403 on {endpoint}: the token lacks the scope '{SCOPES.get(endpoint, endpoint)}' "
                f"or access to {project}: make a token with the scopes traces and metrics"
            )
        if status == 404:
            raise ApiError(
                f"Tideways API: 404, no project {project} at {self.base_url}: check the project "
                f"(--project, LOCUST_TIDEWAYS_PROJECT, as in the app's URLs) and {URL_VARIABLE}"
            )
        if status == 429:
            raise RateLimitError(f"Tideways API: 429, {self._limit_text()}: run the report again after that")
        if status >= 400:
            raise ApiError(f"Tideways API: {endpoint} answered {status}{self._detail(response)}: check the options")
        try:
            return response.json()
        except ValueError:
            raise self._malformed(endpoint, "not JSON") from None

    def _limit_text(self) -> str:
        limit = (self.rate_limit or {}).get("limit")
        reset = (self.rate_limit or {}).get("reset")
        text = "the organization's hourly limit of API calls" + (f" ({limit})" if limit else "") + " is used up"
        try:
            moment = datetime.fromtimestamp(int(str(reset)), UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            return text + "; it resets when the hour ends"
        return text + f"; it resets at {moment:%Y-%m-%d %H:%M} UTC"

    @staticmethod
    def _detail(response) -> str:
        try:
            body = response.json()
        except ValueError:
            return ""
        if isinstance(body, dict):
            message = body.get("error") or body.get("msg")
            if isinstance(message, str) and message.strip():
                return f" ({message.strip().splitlines()[0][:200]})"
        return ""

    def _malformed(self, endpoint: str, what: str) -> ApiError:
        return ApiError(
            f"Tideways API: the answer of {endpoint} is not the documented JSON ({what}): "
            f"check that {URL_VARIABLE} points at Tideways' API, or try again later"
        )

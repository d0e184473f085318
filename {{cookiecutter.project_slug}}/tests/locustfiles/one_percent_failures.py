"""A user whose every hundredth request fails, for the pass/fail limit tests."""

from locust import constant

import thresholds  # noqa: F401 - the limits under test
from tideways_locust import HttpTidewaysUser


def ninety_nine_good_one_bad(user):
    for _ in range(99):
        user.client.get("/good")
    with user.client.get("/bad", catch_response=True) as response:
        response.failure("failed on purpose")


class OnePercentFailures(HttpTidewaysUser):
    tasks = [ninety_nine_good_one_bad]
    wait_time = constant(0)

"""Users for the comparison's tests: three endpoints, no wait, so a short run has enough requests.

The target's ``--delay`` makes an endpoint as slow as a test needs: the same in two
runs (A/A), or slower in the second (A/B).
"""

import random

from locust import constant, task

from tideways_locust import HttpTidewaysUser


class Shop(HttpTidewaysUser):
    wait_time = constant(0)

    @task
    def home(self):
        self.client.get("/")

    @task
    def product(self):
        self.client.get(f"/products/{random.randint(1, 100)}", name="/products/{id}")

    @task
    def cart(self):
        self.client.post("/cart", json={"id": 1})

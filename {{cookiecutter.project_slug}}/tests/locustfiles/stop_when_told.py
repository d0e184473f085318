"""No users: lets a test end a run at the moment it has seen what it waits for.

``run_locust(..., until=...)`` (``tests/conftest.py``) adds this file to ``-f``. SIGUSR1
then does what the end of ``--run-time`` does in a headless run (Locust's ``main``:
``runner.quit()``), so the summary, the HTML report and the exit code come as they
would after a run time, without the test depending on where a run time lands.
"""

import logging
import signal

import gevent
from locust import events
from locust.runners import WorkerRunner

STOP_SIGNAL = signal.SIGUSR1  # tests/conftest.py sends it


@events.init.add_listener
def _on_init(environment, **_kwargs):
    runner = environment.runner
    if isinstance(runner, WorkerRunner):  # a worker stops when its master quits
        return

    def stop():
        logging.getLogger(__name__).info("told to stop, shutting down")
        runner.quit()

    gevent.signal_handler(STOP_SIGNAL, lambda: gevent.spawn(stop))

"""Trigger Tideways callgraph traces from Locust users, and find them again.

Tideways takes a full callgraph trace of a PHP request that carries a valid,
fresh ``X-Tideways-Profiler`` header. ``HttpTidewaysUser`` and
``FastHttpTidewaysUser`` add it to ``--tideways-trace-rate`` percent of the
requests their ``self.client`` sends, signed with the key from
``--tideways-apikey`` / ``LOCUST_TIDEWAYS_APIKEY``. Each traced request also
carries ``X-Tideways-Ref``: the run's id, or one id a request.

One module a concern:

- ``signing``: the header, as Tideways' server checks it;
- ``options``: the ``--tideways-*`` options and how each is read;
- ``tracing``: which requests carry the header, and the user classes;
- ``sampling``: the first N requests of each endpoint, and a budget a minute, across workers;
- ``tracelog``: the count of traced requests, by endpoint, the trace log, lost workers, the summary line;
- ``runrecord``: the run's window and per-minute figures, the run file;
- ``links``: links to a run's traces in the Tideways app;
- ``event``: the run's event in Tideways (a marker or release at its start);
- ``webui``: the Tideways tab of Locust's web UI;
- ``logins``: users log in (form, token, bearer, basic), one account a user;
- ``profiles``: load profiles (ramp, steps, spike, soak, breakpoint) and arrival rates;
- ``lifecycle``: what runs at Locust's init, test start and quit;
- ``compat``: what the runtime needs of Locust, checked when it is imported;
- ``report``: ``python -m tideways_locust.report``, Locust beside Tideways after a run.
"""

from . import compat

compat.check()  # before anything hooks into Locust: one line and exit 2 when something is missing

from . import lifecycle as _lifecycle  # noqa: E402, F401 - registers the options' and the run's listeners
from .options import parse_trace_rate  # noqa: E402
from .profiles import LoadProfile  # noqa: E402
from .signing import PROFILER_HEADER, REF_HEADER, TidewaysSigner  # noqa: E402
from .tracing import FastHttpTidewaysUser, HttpTidewaysUser  # noqa: E402

__all__ = [
    "PROFILER_HEADER",
    "REF_HEADER",
    "FastHttpTidewaysUser",
    "HttpTidewaysUser",
    "LoadProfile",
    "TidewaysSigner",
    "parse_trace_rate",
]

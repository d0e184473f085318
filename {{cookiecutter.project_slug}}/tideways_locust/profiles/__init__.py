"""Load profiles: ramp, steps, spike, soak and breakpoint, in users or in requests a second.

- ``spec``: the profile a run's options ask for, as stages, and every check of them;
- ``options``: the ``--load-*`` options;
- ``shape``: ``LoadProfile``, the Locust shape that runs it (the locustfile imports it);
- ``pacing``: arrival rates, users paced with Locust's ``constant_throughput``;
- ``stages``: each stage's figures, the breakpoint's verdicts and the capacity;
- ``run``: the run's profile on one process, wired to Locust's events by ``lifecycle``.
"""

from . import options as _options  # noqa: F401 - registers the --load-* options
from .run import LoadRun
from .shape import LoadProfile
from .spec import PROFILES, Profile, ProfileError, build

__all__ = ["PROFILES", "LoadProfile", "LoadRun", "Profile", "ProfileError", "build"]

"""The benchmarks: what tideways_locust costs next to plain Locust, and what baking costs.

Three benchmarks, each a module with its own ``main``:

- :mod:`bench.run` (``make bench``): tracing's cost in requests/s, CPU and memory, side by side
  with plain Locust, against nginx; results in ``bench/results/``;
- :mod:`bench.api_import`: how long a bake from a 2,000-operation API description takes;
- :mod:`bench.gate` (``make bench-gate``): the regression gate's false alarms over A/A pairs of
  real runs, and the share of slowdowns it catches; results in ``bench/results/gate.md``.

The parts they share, one concern a module:

- :mod:`bench.settings`: options, defaults, where results go;
- :mod:`bench.configs`: the Locust configurations, the pairs, the goals;
- :mod:`bench.processes`: starting, bounding and stopping processes; CPU time from ``/proc``;
- :mod:`bench.target`: nginx as the target;
- :mod:`bench.runner`: one Locust run alone, two side by side, the header's timing;
- :mod:`bench.measuring`: a run's window, its quiet seconds, requests/s, the traced share;
- :mod:`bench.profiles`: py-spy profiles and their differences;
- :mod:`bench.stats`: medians, ratios, the goals' verdicts, the comparison with earlier results;
- :mod:`bench.report` and :mod:`bench.chart`: ``results.md`` and ``chart.png``;
- :mod:`bench.machine`: the machine's facts.

A new benchmark (say, a capacity profile) is one new module with a ``main`` that takes its
configurations from :mod:`bench.configs` (or its own), runs them with :class:`bench.runner.Runner`
against :func:`bench.target.start_nginx`, and writes with :mod:`bench.report`'s ``table``.
Servers, ports and logs come from :mod:`scripts.processes`, shared with the demo and the tests.
"""

"""Benchmark: rendering 10,000 Kestra expressions (``{{ ... }}`` blocks), as a ForEach over values does.

    .venv/bin/python benchmarks/expressions_bench.py [--iterations 1000] [--repeat 5]

Each iteration renders the properties of one task run (10 templates, one ``{{ ... }}`` block each: paths,
filters, operators, ``??``, the ternary, ``~``, a date filter, a loop) against that iteration's
variables, so 1,000 iterations render 10,000 blocks. The first round includes compiling the templates
(cached afterwards); the median of the rounds is reported with the cold first round. Target: under 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from kestra_airflow_sdk.flows.expressions import Renderer
from kestra_airflow_sdk.flows.secrets import SecretResolver

TEMPLATES = [
    "{{ flow.namespace }}.{{ flow.id }}",
    "{{ taskrun.value | upper }}",
    "{{ outputs.run_dag.state == 'SUCCESS' ? 'ok' : 'failed' }}",
    "{{ outputs.missing.value ?? inputs.fallback }}",
    "{{ inputs.n * 2 + taskrun.index }}",
    "{{ 'dag-' ~ taskrun.value | slugify }}",
    "{{ execution.startDate | date('yyyy-MM-dd') }}",
    "{{ outputs.run_dag.conf | json }}",
    "{{ inputs.tags | join(',') }}",
    "{% for t in inputs.tags %}{{ loop.index }}={{ t }};{% endfor %}",
]


def variables(index: int) -> dict[str, Any]:
    return {
        "flow": {"id": "airflow", "namespace": "company.team"},
        "execution": {"id": "1KWLxLeaXEXNDaXWP7YSKA", "startDate": "2026-01-01T00:00:00Z"},
        "taskrun": {"value": f"Value {index}", "index": index},
        "inputs": {"n": 3, "fallback": "none", "tags": ["a", "b", "c"]},
        "outputs": {"run_dag": {"state": "SUCCESS" if index % 2 else "FAILED", "conf": {"i": index}}},
    }


def one_round(iterations: int) -> float:
    secrets = SecretResolver(environ={})
    start = time.perf_counter()
    for index in range(iterations):
        renderer = Renderer(variables(index), secrets, "each")
        for position, text in enumerate(TEMPLATES):
            renderer.render_text(text, f"property{position}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    blocks = options.iterations * len(TEMPLATES)
    cold = one_round(options.iterations)
    warm = [one_round(options.iterations) for _ in range(options.repeat)]
    median = statistics.median(warm)
    print(
        f"{blocks} blocks: first round (compiling) {cold:.3f} s, median of {options.repeat} rounds {median:.3f} s"
    )
    print(f"{blocks / median:,.0f} blocks/s; target under 0.5 s: {'met' if median < 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()

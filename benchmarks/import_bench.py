"""Benchmark: how long ``import kestra_airflow_sdk`` and a notebook's first uses take, beside
``import airflow_client.client`` (the official client).

    .venv/bin/python benchmarks/import_bench.py --repeat 15

Each probe runs in a fresh interpreter (``python -c``), timed inside it around the probe only
(interpreter start-up excluded): wall time (``perf_counter``; on a shared machine it includes the
time other processes hold the cores) and CPU time of the process (``process_time``). The median and
the best of ``--repeat`` are reported, with the heavy optional modules (pandas, pyarrow,
ipywidgets) each probe loaded. ``apache-airflow-client`` comes with the ``bench`` extra.

``import kestra_airflow_sdk`` loads each public name on first use, so the first uses are measured
too: ``from kestra_airflow_sdk import AirflowClient`` (httpx, pydantic, the REST models) and
``Flow`` + ``TriggerDagRun`` (the flow models and the union of task types), imported and then
built into a one-task flow. The SDK's target is 0.3 s for the import on the 2-core machine, without
pandas: pandas, pyarrow and ipywidgets load on first use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

HEAVY = ("pandas", "pyarrow", "ipywidgets")
PROBES = {
    "import kestra_airflow_sdk": "import kestra_airflow_sdk",
    "+ import AirflowClient": "from kestra_airflow_sdk import AirflowClient",
    "+ import Flow, TriggerDagRun": "from kestra_airflow_sdk import Flow, TriggerDagRun",
    "+ build a Flow": (
        "from kestra_airflow_sdk import Flow, TriggerDagRun\n"
        "Flow('bench', 'company.team').task(TriggerDagRun(id='t', baseUrl='http://x', dagId='d'))"
    ),
    "import airflow_client.client": "import airflow_client.client",
}
TIMED = """
import json, sys, time
wall, cpu = time.perf_counter(), time.process_time()
{code}
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({{"wall": wall, "cpu": cpu, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def measure(code: str, repeat: int) -> dict[str, object]:
    """Median and best wall and CPU time of ``code`` over ``repeat`` fresh interpreters."""
    walls: list[float] = []
    cpus: list[float] = []
    heavy: list[str] = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", TIMED.format(code=code, heavy=HEAVY)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        answer = json.loads(out.strip().splitlines()[-1])
        walls.append(answer["wall"])
        cpus.append(answer["cpu"])
        heavy = answer["heavy"]
    return {
        "wall_median": statistics.median(walls),
        "wall_best": min(walls),
        "cpu_median": statistics.median(cpus),
        "loads": heavy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(
        f"{'probe (fresh interpreter)':<32}{'wall median':>12}{'wall best':>11}{'CPU median':>12}  heavy modules"
    )
    for label, code in PROBES.items():
        try:
            result = measure(code, args.repeat)
        except subprocess.CalledProcessError as exc:
            print(f"{label:<32}  not importable: {exc.stderr.strip().splitlines()[-1]}")
            continue
        loads = ", ".join(result["loads"]) or "none"  # type: ignore[arg-type]
        print(
            f"{label:<32}{result['wall_median']:>11.3f}s{result['wall_best']:>10.3f}s"
            f"{result['cpu_median']:>11.3f}s  {loads}"
        )


if __name__ == "__main__":
    main()

"""Benchmark: how long ``import kestra_airflow_sdk`` takes, beside ``import airflow_client.client``.

    .venv/bin/python benchmarks/import_bench.py --repeat 15

Each import runs in a fresh interpreter (``python -c``), timed inside it with ``perf_counter``
around the import only (interpreter start-up excluded); the median and the best of ``--repeat`` are
reported, with the heavy optional modules (pandas, pyarrow, ipywidgets) each import loaded.
``apache-airflow-client`` comes with the ``bench`` extra. The SDK's target is 0.3 s on the 2-core
machine, without pandas: pandas, pyarrow and ipywidgets load on first use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

HEAVY = ("pandas", "pyarrow", "ipywidgets")
PROBE = """
import json, sys, time
start = time.perf_counter()
import {module}
took = time.perf_counter() - start
print(json.dumps({{"seconds": took, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def measure(module: str, repeat: int) -> dict[str, object]:
    """Median and best import time of ``module`` over ``repeat`` fresh interpreters."""
    times: list[float] = []
    heavy: list[str] = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        answer = json.loads(out.strip().splitlines()[-1])
        times.append(answer["seconds"])
        heavy = answer["heavy"]
    return {"module": module, "median_s": statistics.median(times), "best_s": min(times), "loads": heavy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"{'import':<28}{'median':>9}{'best':>9}  heavy modules loaded")
    for module in ("kestra_airflow_sdk", "airflow_client.client"):
        try:
            result = measure(module, args.repeat)
        except subprocess.CalledProcessError as exc:
            print(f"{module:<28}  not importable: {exc.stderr.strip().splitlines()[-1]}")
            continue
        loads = ", ".join(result["loads"]) or "none"  # type: ignore[arg-type]
        print(f"{module:<28}{result['median_s']:>8.3f}s{result['best_s']:>8.3f}s  {loads}")


if __name__ == "__main__":
    main()

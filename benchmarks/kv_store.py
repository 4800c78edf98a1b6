"""Benchmark: the local KV store, 1,000 writes and 1,000 reads, from Python and from a flow.

    .venv/bin/python benchmarks/kv_store.py [--count 1000] [--rounds 5] [--storage-dir DIR]

The file system alone first (write a temporary file, rename it over the key's file, read it back:
the least a KV write and read do), then from Python (``KVStore``): ``count`` writes of distinct keys
(a small JSON map each), ``count`` reads of them, ``keys()`` and ``list()`` of the namespace, and
``count`` writes with ``overwrite=False`` of new keys (the hard-link path). From a flow: a Kestra 2.0
``Loop`` of ``count`` iterations, each a ``kv.Set`` then a ``kv.Get``, against the same loop with two
``Return`` tasks: the difference per iteration is what the KV tasks cost over any two tasks. Each
figure is the median of ``rounds`` rounds, each in a fresh folder (a temporary one unless
``--storage-dir``); times are per operation (per iteration for the loops).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kestra_airflow_sdk.flows import Flow
from kestra_airflow_sdk.storage import KVStore


def timed(operation: Callable[[], object]) -> float:
    start = time.perf_counter()
    operation()
    return time.perf_counter() - start


def files_round(folder: Path, count: int) -> dict[str, float]:
    """The file system alone: per key, write a temporary file and rename it over the key's file,
    then read it back (what each KV write and read does at least)."""
    folder.mkdir(parents=True)
    paths = [folder / f"key-{i:05d}.json" for i in range(count)]

    def write() -> None:
        for i, path in enumerate(paths):
            temporary = folder / f".{i}.tmp"
            temporary.write_text(json.dumps({"n": i}), encoding="utf-8")
            os.replace(temporary, path)

    write_time = timed(write)
    read_time = timed(lambda: [json.loads(p.read_text(encoding="utf-8")) for p in paths])
    return {"files only: write + rename": write_time / count, "files only: read": read_time / count}


def python_round(folder: Path, count: int) -> dict[str, float]:
    """Seconds per operation of one round of the Python API in ``folder``."""
    store = KVStore("bench.kv", folder)
    keys = [f"key-{i:05d}" for i in range(count)]
    write = timed(lambda: [store.set(k, {"n": i, "name": k}) for i, k in enumerate(keys)])
    read = timed(lambda: [store.get(k) for k in keys])
    assert store.get(keys[-1]) == {"n": count - 1, "name": keys[-1]}
    listed = timed(store.keys)
    entries = timed(store.list)
    create = timed(lambda: [store.set(f"new-{k}", 1, overwrite=False) for k in keys])
    return {
        "set (overwrite)": write / count,
        "get": read / count,
        "set (overwrite=False)": create / count,
        f"keys() of {count}": listed,
        f"list() of {count}": entries,
    }


def loop_flow(count: int, kv: bool) -> Flow:
    body = (
        """
      - id: set
        type: io.kestra.plugin.core.kv.Set
        key: "key-{{ item.index }}"
        value: "{{ item.index * 2 }}"
      - id: get
        type: io.kestra.plugin.core.kv.Get
        key: "key-{{ item.index }}"
"""
        if kv
        else """
      - id: set
        type: io.kestra.plugin.core.debug.Return
        format: "key-{{ item.index }}"
      - id: get
        type: io.kestra.plugin.core.debug.Return
        format: "key-{{ item.index }}"
"""
    )
    return Flow.from_yaml(
        f"""
id: kv_bench
namespace: bench.kv
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: "{{{{ range(0, {count - 1}) }}}}"
    tasks:{body.rstrip()}
""",
        kestra="2.0",
    )


def flow_round(folder: Path, count: int) -> dict[str, float]:
    """Seconds per iteration of the Loop with the KV tasks, and with two Return tasks."""
    found = {}
    for name, kv in (("Loop: kv.Set + kv.Get", True), ("Loop: two Return tasks", False)):
        flow = loop_flow(count, kv)
        elapsed = timed(lambda flow=flow: asyncio.run(flow.arun(progress=False, storage_dir=folder)))  # type: ignore[misc]
        found[name] = elapsed / count
    assert KVStore("bench.kv", folder).get(f"key-{count - 1}") == 2 * (count - 1)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--storage-dir", type=Path, default=None)
    options = parser.parse_args()
    python_round(Path(tempfile.mkdtemp()), 20)  # imports, caches: not measured
    flow_round(Path(tempfile.mkdtemp()), 5)
    results: dict[str, list[float]] = {}
    for n in range(options.rounds):
        base = options.storage_dir / f"round-{n}" if options.storage_dir else Path(tempfile.mkdtemp())
        for name, seconds in {
            **files_round(base / "files", options.count),
            **python_round(base / "py", options.count),
            **flow_round(base / "flow", options.count),
        }.items():
            results.setdefault(name, []).append(seconds)
    print(f"KV store, {options.count} keys, median of {options.rounds} rounds")
    print(f"{'operation':<28}  {'median ms':>10}  {'min ms':>8}  {'max ms':>8}")
    for name, values in results.items():
        print(
            f"{name:<28}  {1000 * statistics.median(values):>10.3f}  {1000 * min(values):>8.3f}  {1000 * max(values):>8.3f}"
        )
    kv_cost = statistics.median(results["Loop: kv.Set + kv.Get"]) - statistics.median(
        results["Loop: two Return tasks"]
    )
    print(f"KV tasks over two Return tasks, per iteration: {1000 * kv_cost:.3f} ms")


if __name__ == "__main__":
    main()

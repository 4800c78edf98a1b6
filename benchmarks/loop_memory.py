"""Benchmark: memory and time of a Kestra 2.0 ``Loop`` run locally, 1,000 then 10,000 iterations of a
``Return`` task (no Airflow).

    .venv/bin/python benchmarks/loop_memory.py [--sizes 1000 10000] [--concurrency 1] [--outputs 0]

Kestra 2.0 runs each iteration as a sub-execution so that a large loop does not grow its execution;
locally a finished iteration leaves only what Kestra's outputs need (its declared outputs, its state
count). After a warm-up run (imports, template cache), for each size the flow runs once for its wall
time, then once under tracemalloc: the peak of Python allocations during the run, and what the
finished execution still holds, and the memory in use when the tenth and the last iteration ended
(their difference, per iteration in between, is what a finished iteration leaves behind). With ``--outputs 1`` each iteration declares one output (a short string), which the loop
keeps, as Kestra keeps it: memory then grows by about that output per iteration, and by nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import tracemalloc

from kestra_airflow_sdk.flows import Execution, Flow, Observer, TaskRun


class Sampler(Observer):
    """Python memory in use (tracemalloc) when the tenth and the last iteration ended: the difference
    is what the finished iterations in between left behind."""

    def __init__(self, size: int) -> None:
        self.marks = {max(size // 10, 1): 0, size: 0}
        self.ended = 0

    def task_ended(self, execution: Execution, task_run: TaskRun) -> None:
        if task_run.task_id == "r":
            self.ended += 1
            if self.ended in self.marks:
                self.marks[self.ended] = tracemalloc.get_traced_memory()[0]

    def bytes_per_iteration(self) -> float:
        (first, at_first), (last, at_last) = sorted(self.marks.items())
        return (at_last - at_first) / max(last - first, 1)


def loop_flow(size: int, concurrency: int, outputs: bool) -> Flow:
    """The flow: ``size`` iterations (Pebble's ``range`` is inclusive)."""
    declared = (
        """
    outputs:
      - id: value
        value: "{{ outputs.r.value }}"
"""
        if outputs
        else "\n"
    )
    return Flow.from_yaml(
        f"""
id: loop_memory
namespace: bench
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: "{{{{ range(0, {size - 1}) }}}}"
    concurrencyLimit: {concurrency}{declared.rstrip()}
    tasks:
      - id: r
        type: io.kestra.plugin.core.debug.Return
        format: "value {{{{ item.index }}}}"
"""
    )


def run_once(flow: Flow, size: int, observers: list[Observer] | None = None) -> Execution:
    execution = asyncio.run(flow.arun(progress=False, observers=observers))
    assert execution.state.value == "SUCCESS", execution
    assert execution.task_run("loop").outputs["iterationCount"] == size
    return execution


def measure(size: int, concurrency: int, outputs: bool) -> tuple[float, float, float, float]:
    """Peak MiB of Python allocations during a run, MiB the finished execution still holds, bytes
    left behind per finished iteration (all three with tracemalloc), and the seconds of a run
    without tracemalloc (which slows allocations)."""
    flow = loop_flow(size, concurrency, outputs)
    start = time.perf_counter()
    run_once(flow, size)
    elapsed = time.perf_counter() - start
    gc.collect()
    tracemalloc.start()
    sampler = Sampler(size)
    execution = run_once(flow, size, [sampler])
    _, peak = tracemalloc.get_traced_memory()
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del execution
    return peak / 2**20, held / 2**20, sampler.bytes_per_iteration(), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--outputs", type=int, choices=[0, 1], default=0)
    options = parser.parse_args()
    print(
        f"Loop of a Return task, concurrencyLimit {options.concurrency}, declared outputs: {options.outputs}"
    )
    print(
        f"{'iterations':>10}  {'peak MiB':>9}  {'held MiB':>9}  {'B/finished iteration':>20}  "
        f"{'total s':>8}  {'ms/iteration':>12}"
    )
    run_once(loop_flow(10, options.concurrency, bool(options.outputs)), 10)  # imports, caches: not measured
    for size in options.sizes:
        peak, held, left, elapsed = measure(size, options.concurrency, bool(options.outputs))
        print(
            f"{size:>10}  {peak:>9.2f}  {held:>9.2f}  {left:>20.1f}  {elapsed:>8.2f}  {1000 * elapsed / size:>12.3f}"
        )


if __name__ == "__main__":
    main()

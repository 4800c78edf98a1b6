"""The Markdown tables and ratios the history benchmark prints (docs/benchmarks.md records them)."""

from __future__ import annotations

#: the memory floor of (d): its requests, every page parsed and dropped (not an export: no "best")
FLOOR = "(f) floor: (d)'s streams, each page parsed and dropped (its response freed at once), nothing kept"
LABELS = {
    "export_sdk": "(a) kestra-airflow-sdk `client.dag_runs()`",
    "history_sdk": "(a') kestra-airflow-sdk `client.run_history()` (first call: a full export)",
    "export_httpx_cursor": "(c) hand-written httpx, sequential cursor pages over `~`",
    "export_httpx_per_dag": "(d) hand-written httpx, one cursor stream per DAG, 8 DAGs in flight",
    "export_httpx": "(e) hand-written httpx, offset pages over `~`, 4 in flight",
    "export_official": "(b) apache-airflow-client + `pd.DataFrame` (offset pages)",
    "export_pages_only": FLOOR,
}
HAND_WRITTEN = ("export_httpx_cursor", "export_httpx_per_dag", "export_httpx")
TI_LABELS = {
    "ti_sdk": "(a) kestra-airflow-sdk `client.task_instances()` (every DAG)",
    "ti_httpx_cursor": "(c) hand-written httpx, sequential cursor pages over `~/dagRuns/~`",
    "ti_httpx_per_dag": "(d) hand-written httpx, one cursor stream per DAG, 8 DAGs in flight",
    "ti_pages_only": FLOOR,
}
TI_HAND_WRITTEN = ("ti_httpx_cursor", "ti_httpx_per_dag")
EXPORTS = tuple(LABELS)
TI_EXPORTS = tuple(TI_LABELS)
PROFILES = {
    "sqlite": "SQLite, 1 API worker",
    "production": "production profile: PostgreSQL + Redis + Celery, 4 API workers",
}
TABLE = "| wall s | client CPU s | peak memory growth MB | frame deep MB | requests | server time s |"


def row(label: str, r: dict[str, float]) -> str:
    """One table row of a measurement (``-`` where memory was not measured)."""
    mem = "-" if r["mem"] != r["mem"] else format(r["mem"], ".1f")
    frame = "-" if r["frame"] != r["frame"] else format(r["frame"], ".1f")
    return f"| {label} | {r['wall']:.2f} | {r['cpu']:.2f} | {mem} | {frame} | {r['requests']:.0f} | {r['server']:.2f} |"


def export_report(
    version: str, profile: str, repeat: int, export: dict[str, dict[str, float]], loads: list[str], dags: int
) -> list[str]:
    """The full export tables (runs, task instances) and their ratios, as Markdown lines; the ratio
    lines start with the profile (``[sqlite]``, ``[production]``)."""
    lines = [
        f"Airflow {version} ({PROFILES[profile]}), {dags} DAGs, median of {repeat}, each in a fresh "
        f"process; load average (1/5/15 min) before and after each round: {'; '.join(loads)}.",
        "",
    ]
    if "export_sdk" in export:
        lines += run_lines(export, profile)
    if "ti_sdk" in export:
        lines += ti_lines(export, profile)
    return lines


def ti_lines(export: dict[str, dict[str, float]], profile: str) -> list[str]:
    """The task instance export table and its ratios."""
    a = export["ti_sdk"]
    lines = [
        f"| full export of every task instance ({a['rows']:.0f}) → DataFrame {TABLE}",
        "|---|---|---|---|---|---|---|",
        *(row(TI_LABELS[name], export[name]) for name in TI_EXPORTS if name in export),
        "",
    ]
    hand_written = [name for name in TI_HAND_WRITTEN if name in export]
    if hand_written:
        best = min(hand_written, key=lambda name: export[name]["wall"])
        lines.append(
            f"* [{profile}] task instances export wall, SDK / best hand-written: **{a['wall'] / export[best]['wall']:.2f}x** "
            f"(best: {TI_LABELS[best]}; target <= 1.1x)"
        )
    lines += [
        f"* [{profile}] task instances: peak memory growth / final DataFrame `memory_usage(deep=True)`: "
        f"**{a['mem'] / a['frame']:.2f}x** (target <= 2x)",
        *floor_lines(export.get("ti_pages_only"), a, f"[{profile}] task instances"),
        "",
    ]
    return lines


def floor_lines(floor: dict[str, float] | None, sdk: dict[str, float], what: str) -> list[str]:
    """What reading the pages alone costs in memory (the floor (f)), against the SDK's frame."""
    if floor is None:
        return []
    return [
        f"* {what}: the floor (f) alone, pages read and dropped: {floor['mem']:.1f} MB = "
        f"**{floor['mem'] / sdk['frame']:.2f}x** the SDK's frame; the SDK above the floor: "
        f"{sdk['mem'] - floor['mem']:.1f} MB = {(sdk['mem'] - floor['mem']) / sdk['frame']:.2f}x"
    ]


def run_lines(export: dict[str, dict[str, float]], profile: str) -> list[str]:
    """The run export table and its ratios."""
    a = export["export_sdk"]
    lines = [
        f"| full export of every run ({a['rows']:.0f}) → DataFrame {TABLE}",
        "|---|---|---|---|---|---|---|",
        *(row(LABELS[name], export[name]) for name in EXPORTS if name in export),
        "",
    ]
    hand_written = [name for name in HAND_WRITTEN if name in export]
    if hand_written:
        best = min(hand_written, key=lambda name: export[name]["wall"])
        lines.append(
            f"* [{profile}] full export wall, SDK / best hand-written: **{a['wall'] / export[best]['wall']:.2f}x** "
            f"(best: {LABELS[best]}; target <= 1.1x)"
        )
        if "history_sdk" in export:
            lines.append(
                f"* [{profile}] `run_history()` full export wall, SDK / best hand-written: "
                f"**{export['history_sdk']['wall'] / export[best]['wall']:.2f}x**"
            )
    memory = f"`dag_runs()` **{a['mem'] / a['frame']:.2f}x**"
    if "history_sdk" in export:
        memory += f", `run_history()` {export['history_sdk']['mem'] / export['history_sdk']['frame']:.2f}x"
    lines.append(
        f"* [{profile}] peak memory growth / final DataFrame `memory_usage(deep=True)`: {memory} (target <= 2x)"
    )
    lines += floor_lines(export.get("export_pages_only"), a, f"[{profile}] runs")
    if "export_official" in export:
        lines.append(
            f"* [{profile}] full export wall, SDK / apache-airflow-client: {a['wall'] / export['export_official']['wall']:.2f}x"
        )
    return [*lines, ""]


def report(
    version: str,
    profile: str,
    repeat: int,
    export: dict[str, dict[str, float]],
    loads: list[str],
    dags: int,
    refresh: dict[str, float],
    refresh_file: dict[str, float],
    batched: dict[str, float],
    naive: dict[str, float],
) -> None:
    a = export["export_sdk"]
    lines = [
        *export_report(version, profile, repeat, export, loads, dags),
        "| incremental refresh, 10 runs changed | wall s | client CPU s | peak memory growth MB "
        "| frame deep MB | requests | server time s |",
        "|---|---|---|---|---|---|---|",
        row("`client.run_history()` (same client: re-running a cell)", refresh),
        row("`client.run_history(path=...)` (new process, parquet file)", refresh_file),
        "",
        "| 100 concurrent waits on one DAG | poll ticks | requests | requests per tick |",
        "|---|---|---|---|",
        f"| SDK `wait_for_dag_run` x100 under `asyncio.gather` | {batched['ticks']:.0f} | {batched['requests']:.0f} | {batched['per_tick']:.2f} |",
        f"| per-run polling (`get_dag_run` x100 per tick, 8 in flight) | {naive['ticks']:.0f} | {naive['requests']:.0f} | {naive['per_tick']:.2f} |",
        "",
        f"* [{profile}] refresh (10 changed runs) vs full export: **{a['wall'] / refresh['wall']:.1f}x faster** (target >= 20x), "
        f"{refresh['requests']:.0f} vs {a['requests']:.0f} requests; from the parquet file in a new process: "
        f"{a['wall'] / refresh_file['wall']:.1f}x",
        f"* [{profile}] waits: **{batched['per_tick']:.2f} requests per tick** (target <= 2) vs {naive['per_tick']:.0f} for per-run polling",
    ]
    print("\n".join(lines))

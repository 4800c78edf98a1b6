"""kestra-airflow-sdk: orchestrate Apache Airflow DAGs the Kestra way, from Python and Jupyter.

Every public name is importable from here, e.g. ``from kestra_airflow_sdk import AirflowClient``.
"""

from . import airflow as _airflow
from . import flows as _flows
from . import runner as _runner
from .airflow import *  # noqa: F403  (the REST layer's public names, listed in its __all__)
from .client import AirflowClient, AsyncAirflowClient
from .display import RunProgress, TaskInstances, watch_dag_runs
from .errors import KestraAirflowError
from .flows import *  # noqa: F403  (flows, tasks, YAML, expressions and secrets errors)
from .kestra import AsyncKestraServer, KestraApiError, KestraError, KestraServer
from .migration import FlowsFromDags, ScheduleNote, flows_for_dags, map_schedule, write_flows
from .runner import *  # noqa: F403  (executions, the runner and progress observers)
from .wiring import install as _install_layers

__version__ = "0.1.0"

_install_layers()  # the higher layers' behaviour for the lower layers' models (see .wiring)

__all__: list[str] = [
    "AirflowClient",
    "AsyncAirflowClient",
    "AsyncKestraServer",
    "FlowsFromDags",
    "KestraAirflowError",
    "KestraApiError",
    "KestraError",
    "KestraServer",
    "RunProgress",
    "ScheduleNote",
    "TaskInstances",
    "flows_for_dags",
    "map_schedule",
    "watch_dag_runs",
    "write_flows",
]
__all__ += _airflow.__all__
__all__ += _flows.__all__
__all__ += _runner.__all__

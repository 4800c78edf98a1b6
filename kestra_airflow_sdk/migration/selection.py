"""The DAGs a migration call asks for, checked against what Airflow has."""

from __future__ import annotations

from collections.abc import Iterable

from ..airflow.arguments import segment
from ..airflow.errors import InvalidArgumentError
from ..airflow.models import AirflowDag

__all__ = ["selected_dags"]


def selected_dags(dags: list[AirflowDag], dag_ids: str | Iterable[str] | None) -> list[AirflowDag]:
    """The DAGs ``dag_ids`` names (None: all of them), in the order asked; unknown ids are refused."""
    if dag_ids is None:
        return dags
    wanted = [dag_ids] if isinstance(dag_ids, str) else list(dag_ids)
    for one in wanted:
        segment(one, "dag_ids")
    known = {dag.dag_id: dag for dag in dags}
    missing = [one for one in wanted if one not in known]
    if missing:
        raise InvalidArgumentError(
            f"dag_ids: Airflow does not know {', '.join(map(repr, missing))} "
            f"(it has {len(known)} DAGs; client.dags() lists them)"
        )
    return [known[one] for one in dict.fromkeys(wanted)]

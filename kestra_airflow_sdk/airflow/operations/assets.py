"""Operations on Airflow 3's assets: list them, read and create their events, materialize one.

Every endpoint here came with Airflow 3.0.0 (``/api/v2/assets``, ``/assets/events`` GET and POST,
``/assets/{id}/materialize``); Airflow 2's datasets are not assets, so an Airflow 2 server gets an
:class:`~..errors.UnsupportedFeatureError` before any request of these operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...transport.effects import Op
from ...transport.operation import operation
from ..arguments import aware, iso, json_object, segment
from ..arguments import limit as checked_limit
from ..asset_models import Asset, AssetEvent
from ..errors import InvalidArgumentError
from ..features import Feature, require
from ..models import DagRun
from ..pagination import pages, parse_rows
from ..session import Session

__all__ = ["ASSETS", "AssetOperations", "AssetRef", "check_asset", "resolve_asset"]

#: assets, their events and materializing one: ``/api/v2/assets...`` (Airflow 3.0.0)
ASSETS = Feature("assets", "3.0.0")

#: how an operation is told which asset: its id, its name or URI, or the :class:`Asset` itself
AssetRef = int | str | Asset


def _list_assets(session: Session, params: Mapping[str, Any], limit: int | None = None) -> Op[list[Asset]]:
    rows = yield from pages(session, "/assets", "assets", action="Listing assets", params=params, limit=limit)
    return parse_rows(Asset, rows)


def check_asset(asset: AssetRef) -> AssetRef:
    """``asset`` unchanged when it can name an asset: an :class:`Asset`, an id >= 0, a non-empty
    name or URI (checked before any request)."""
    if isinstance(asset, Asset) or (isinstance(asset, str) and asset):
        return asset
    if isinstance(asset, int) and not isinstance(asset, bool) and asset >= 0:
        return asset
    raise InvalidArgumentError(
        "asset: expected an asset id (int >= 0), an asset name or URI (non-empty str) or an Asset, "
        f"got {asset!r}"
    )


def resolve_asset(session: Session, asset: AssetRef) -> Op[Asset]:
    """Operation: the asset ``asset`` names: an :class:`Asset` as it is, an id read with ``GET
    /assets/{id}``, a string the asset of that exact name (else of that exact URI)."""
    check_asset(asset)
    if isinstance(asset, Asset):
        return asset
    if isinstance(asset, int):
        body = yield from session._call("GET", f"/assets/{asset}", action=f"Reading asset {asset}")
        return Asset.model_validate(body)
    # the patterns match a superset (case-insensitive substrings); the exact match is chosen here
    for field in ("name", "uri"):
        found = yield from _list_assets(session, {f"{field}_pattern": asset})
        exact = [a for a in found if getattr(a, field) == asset]
        if exact:
            return exact[0]
    raise InvalidArgumentError(
        f"asset: no asset named {asset!r} or with that URI on {session.base_url} "
        "(client.assets() lists them; an id, name or URI is expected)"
    )


class AssetOperations(Session):
    """The asset operations of both clients (Airflow 3.0.0 or later)."""

    @operation
    def list_assets(self, *, dag_id: str | None = None, limit: int | None = None) -> Op[list[Asset]]:
        """Every asset (Airflow 3.0.0+), all pages fetched: name, URI, group, the DAGs it schedules
        and the tasks that produce or consume it.

        Args:
            dag_id: only the assets this DAG is scheduled on or produces/consumes.
            limit: stop after this many assets.
        """
        checked_limit(limit)
        if dag_id is None:
            yield from require(self, ASSETS)
            return (yield from _list_assets(self, {}, limit))
        segment(dag_id, "dag_id")
        yield from require(self, ASSETS)
        # ``dag_ids`` is a pattern on Airflow 3.3 (a superset): the DAG's own assets are kept here
        found = yield from _list_assets(self, {"dag_ids": dag_id})
        mine = [a for a in found if dag_id in (*a.scheduled_dags, *a.producing_dags, *a.consuming_dags)]
        return mine[:limit] if limit is not None else mine

    @operation
    def get_asset(self, asset: AssetRef) -> Op[Asset]:
        """One asset (Airflow 3.0.0+), by id, exact name or exact URI."""
        check_asset(asset)
        yield from require(self, ASSETS)
        return (yield from resolve_asset(self, asset))

    @operation
    def list_asset_events(
        self,
        asset: AssetRef | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        source_dag_id: str | None = None,
        limit: int | None = None,
    ) -> Op[list[AssetEvent]]:
        """Asset events (Airflow 3.0.0+), oldest first, each with the DAG runs it took part in.

        Airflow 3.3.2 answers 500 to this list while a run one of the listed events started is
        still queued (that run has no start date yet, which Airflow's answer requires): the client
        retries 5xx answers; if the scheduler is slow to start the run, ask again once it started.

        Args:
            asset: one asset (id, name, URI or :class:`Asset`), or None for the events of every asset.
            since: only events at or after this timezone-aware time.
            until: only events at or before this timezone-aware time.
            source_dag_id: only the events the tasks of this DAG produced.
            limit: stop after this many events.
        """
        checked_limit(limit)
        if source_dag_id is not None:
            segment(source_dag_id, "source_dag_id")
        if asset is not None:
            check_asset(asset)
        params: dict[str, Any] = {
            "timestamp_gte": iso(aware(since, "since")),
            "timestamp_lte": iso(aware(until, "until")),
            "source_dag_id": source_dag_id,
            "order_by": "timestamp",
        }
        yield from require(self, ASSETS)
        if asset is not None:
            params["asset_id"] = (yield from resolve_asset(self, asset)).asset_id
        rows = yield from pages(
            self, "/assets/events", "asset_events", action="Listing asset events", params=params, limit=limit
        )
        return parse_rows(AssetEvent, rows)

    @operation
    def create_asset_event(
        self, asset: AssetRef, *, extra: Mapping[str, Any] | None = None
    ) -> Op[AssetEvent]:
        """Record an event of ``asset`` (Airflow 3.0.0+), as a task producing it would: the DAGs
        scheduled on the asset start runs (later reads of the event list them in ``created_dag_runs``).

        Args:
            asset: the asset (id, name, URI or :class:`Asset`).
            extra: a JSON object kept with the event (Airflow adds ``"from_rest_api": true``).
        """
        body_extra = json_object(extra, "extra")
        check_asset(asset)
        yield from require(self, ASSETS)
        target = yield from resolve_asset(self, asset)
        body: dict[str, Any] = {"asset_id": target.asset_id}
        if body_extra is not None:
            body["extra"] = body_extra
        created = yield from self._call(
            "POST", "/assets/events", action=f"Creating an event of asset {target.name!r}", json_body=body
        )
        return AssetEvent.model_validate(created)

    @operation
    def materialize(self, asset: AssetRef) -> Op[DagRun]:
        """Run the DAG that produces ``asset`` (Airflow 3.0.0+): the run it started (usually
        ``queued``). Airflow answers 404 when no DAG produces the asset, 409 when several do."""
        check_asset(asset)
        yield from require(self, ASSETS)
        target = yield from resolve_asset(self, asset)
        body = yield from self._call(
            "POST",
            f"/assets/{target.asset_id}/materialize",
            action=f"Materializing asset {target.name!r}",
        )
        return DagRun.model_validate(body)

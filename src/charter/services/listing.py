"""The generic List* operation: filters, sort, pagination over the document store.

Most SageMaker List operations share one input vocabulary (NameContains,
CreationTimeAfter/Before, LastModifiedTimeAfter/Before, StatusEquals, SortBy,
SortOrder, MaxResults, NextToken); ``list_operation`` registers a handler that
maps it onto ``store.resources.list_page``.
"""

from __future__ import annotations

from typing import Callable

from ..store import resources as store
from . import Call, operation

_SORT_ALIASES = {"Name": "Name", "CreationTime": "CreationTime", "Status": "Status", "LastModifiedTime": "LastModifiedTime"}


def epoch(value):
    return value.timestamp() if value is not None else None


def list_operation(
    name: str,
    *,
    resource_type: str,
    result_key: str,
    summary: Callable[[store.Resource], dict],
    default_sort: str = "CreationTime",
    default_order: str = "Descending",
    default_max_results: int = 10,
    parent_of: Callable[[Call, dict], str | None] | None = None,
    status_param: str = "StatusEquals",
    resource: Callable[[str, str, dict], str] | None = None,
    matches_nothing: tuple[str, ...] = (),
) -> None:
    """Register ``name`` as a List operation over ``resource_type``.

    ``matches_nothing`` names filters on what Charter never has (warm pools, training
    plans): a request that uses one gets an empty page, as AWS answers when nothing matches.
    """

    def handler(call: Call, params: dict) -> dict:
        if any(params.get(member) is not None for member in matches_nothing):
            return {result_key: []}
        query = store.ListQuery(
            account=call.account,
            region=call.region,
            resource_type=resource_type,
            parent=parent_of(call, params) if parent_of else None,
            name_contains=params.get("NameContains"),
            created_after=epoch(params.get("CreationTimeAfter")),
            created_before=epoch(params.get("CreationTimeBefore")),
            modified_after=epoch(params.get("LastModifiedTimeAfter")),
            modified_before=epoch(params.get("LastModifiedTimeBefore")),
            status=params.get(status_param),
            sort_by=_SORT_ALIASES.get(params.get("SortBy") or default_sort, default_sort),
            ascending=(params.get("SortOrder") or default_order) == "Ascending",
        )
        rows, token = store.list_page(
            call.conn,
            query,
            call.codec,
            max_results=params.get("MaxResults") or default_max_results,
            next_token=params.get("NextToken"),
        )
        out: dict = {result_key: [summary(row) for row in rows]}
        if token:
            out["NextToken"] = token
        return out

    handler.__name__ = name
    operation(name, resource=resource, writes=False)(handler)

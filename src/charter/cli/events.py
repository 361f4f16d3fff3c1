"""``charter events``: webhook subscriptions, their deliveries, and recent events.

Like ``charter iam``, these open the installation named by the CHARTER_*
variables directly, so they work with the server stopped; a running server's
webhook worker picks up what they change from the database.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Optional

import typer
from rich.table import Table

app = typer.Typer(help="Webhook subscriptions to Charter's events, and their deliveries.", no_args_is_help=True)


def _main():
    # cli.main mounts this module while it is being imported; reach back into it only when a command runs.
    from . import main

    return main


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@app.command()
def subscribe(
    url: str = typer.Option(..., "--url", help="Where to POST events: an http:// or https:// URL."),
    detail_type: list[str] = typer.Option(
        [], "--type", help="Only events of this detail-type (repeatable); every type when omitted."
    ),
) -> None:
    """Subscribe URL to events; prints the subscription and its signing secret (shown once) as JSON."""
    from ..services import subscriptions

    main = _main()
    with main._administering() as (instance, conn):
        subscription_id, secret = subscriptions.subscribe(conn, instance.keyring, url, detail_type)
        created = subscriptions.get(conn, subscription_id)
    main._print_json(
        {"SubscriptionId": subscription_id, "Url": created.url, "Secret": secret, "DetailTypes": created.detail_types}
    )
    main.err.print("Keep the secret: it is shown once. Receivers check X-Charter-Signature with it.")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="One JSON object per line instead of a table.")) -> None:
    """Subscriptions, with how many of their deliveries are pending, delivered and failed."""
    from ..services import subscriptions

    main = _main()
    with main._administering(write=False) as (_, conn):
        found = subscriptions.list_subscriptions(conn)
        counts = subscriptions.delivery_counts(conn)
    if as_json:
        for subscription in found:
            sys.stdout.write(json.dumps({**subscription.to_dict(), "Deliveries": counts.get(subscription.id, {})}) + "\n")
        return
    table = Table(title="Webhook subscriptions")
    for column in ("SubscriptionId", "Url", "Detail types", "Created (UTC)", "Pending", "Delivered", "Failed"):
        table.add_column(column, overflow="fold")
    for subscription in found:
        mine = counts.get(subscription.id, {})
        table.add_row(
            subscription.id,
            subscription.url,
            ", ".join(subscription.detail_types) or "(all)",
            _when(subscription.created_at),
            str(mine.get("Pending", 0)),
            str(mine.get("Delivered", 0)),
            str(mine.get("Failed", 0)),
        )
    main.out.print(table)


@app.command()
def unsubscribe(subscription_id: str) -> None:
    """Delete a subscription; its pending deliveries are dropped, never sent."""
    from ..services import subscriptions

    main = _main()
    with main._administering() as (_, conn):
        dropped = subscriptions.unsubscribe(conn, subscription_id)
    main.out.print(f"Deleted subscription {subscription_id} ({dropped} pending deliveries dropped).")


@app.command()
def deliveries(
    status: Optional[str] = typer.Option(None, "--status", help="Only Pending, Delivered or Failed deliveries."),
    subscription: Optional[str] = typer.Option(None, "--subscription", help="Only this subscription's deliveries."),
    limit: int = typer.Option(50, help="At most this many (the newest)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line instead of a table."),
) -> None:
    """Deliveries of events to subscribers: status, attempts, next try and last error."""
    from ..services import subscriptions

    main = _main()
    if status is not None:
        wanted = {s.lower(): s for s in subscriptions.STATUSES}.get(status.lower())
        if wanted is None:
            raise typer.BadParameter(f"'{status}' is not one of {', '.join(subscriptions.STATUSES)}.", param_hint="--status")
        status = wanted
    with main._administering(write=False) as (_, conn):
        found = subscriptions.list_deliveries(conn, status=status, subscription_id=subscription, limit=limit)
    if as_json:
        for delivery in found:
            sys.stdout.write(json.dumps(delivery) + "\n")
        return
    table = Table(title="Webhook deliveries")
    for column in ("Id", "Event", "Detail type", "Subscription", "Status", "Attempts", "Next try / delivered (UTC)", "Last error"):
        table.add_column(column, overflow="fold")
    for delivery in found:
        style = {"Delivered": "green", "Failed": "bold red", "Pending": "yellow"}[delivery["Status"]]
        table.add_row(
            str(delivery["DeliveryId"]),
            delivery["EventId"],
            delivery["DetailType"],
            delivery["SubscriptionId"],
            f"[{style}]{delivery['Status']}[/]",
            str(delivery["Attempts"]),
            _when(delivery["DeliveredAt"] if delivery["Status"] == "Delivered" else delivery["NextAttemptAt"]),
            delivery["LastError"] or "",
        )
    main.out.print(table)


@app.command()
def recent(
    detail_type: Optional[str] = typer.Option(None, "--type", help="Only events of this detail-type."),
    limit: int = typer.Option(20, help="At most this many (the newest)."),
) -> None:
    """The newest events, oldest first, one JSON document per line (as delivered to webhooks)."""
    from ..store import events

    main = _main()
    with main._administering(write=False) as (_, conn):
        found = events.recent(conn, detail_type=detail_type, limit=limit)
    for event in found:
        sys.stdout.write(json.dumps(event) + "\n")

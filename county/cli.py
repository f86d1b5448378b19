"""Command line: `flask --app wsgi county import-households FILE | export-households FILE | reconcile`,
`flask --app wsgi report income --month YYYY-MM`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from county.exports import to_csv, to_xlsx
from county.services.reconcile import check
from county.services.registry import EXPORT_COLUMNS, export_rows, import_households
from county.services.reports import write_monthly_report
from shop.db import commit, rollback
from shop.errors import ValidationError
from shop.timeutil import now_utc

county_cli = AppGroup("county", help="County office: household registry, reconciliation.")
report_cli = AppGroup("report", help="Reports.")


@county_cli.command("import-households")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_households_command(path):
    """Import the household registry from an Excel sheet (re-runnable: registered rows are skipped)."""

    def progress(rows):
        with click.progressbar(rows, label="importing households", show_pos=True) as bar:
            yield from bar

    try:
        report = import_households(path, actor=None, now=now_utc(), progress=progress)
    except ValidationError as exc:
        rollback()
        raise click.ClickException(exc.message) from None
    commit()
    click.echo(
        f"imported {report.imported}, already registered {report.already_registered}, rejected {len(report.rejected)}"
    )
    for item in report.rejected:
        click.echo(f"  row {item['row']}: {'; '.join(item['reasons'])}")


@county_cli.command("export-households")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_households_command(path):
    """Export the registry (masked) to PATH (.xlsx or .csv)."""
    rows = export_rows()
    with click.progressbar(length=1, label="export") as bar:
        data = (
            to_csv(EXPORT_COLUMNS, rows) if path.endswith(".csv") else to_xlsx(EXPORT_COLUMNS, rows, title="households")
        )
        bar.update(1)
    with open(path, "wb") as fh:
        fh.write(data)
    click.echo(f"exported {len(rows)} households to {path}")


@county_cli.command("reconcile")
def reconcile_command():
    """Money received, amounts due and the ledger, per shipment, order and line; exit 1 on any discrepancy."""
    result = check()
    click.echo(f"checked {result['checked']} lines, {len(result['discrepancies'])} discrepancies")
    for d in result["discrepancies"]:
        if d.get("subject"):  # money: a shipment or an order (county.services.reconcile_money)
            click.echo(
                f"  {d['subject']} (order {d['order_id']}): {d['problem']} "
                f"due {d['expected_fen']} fen, received {d['credited_fen']} fen"
            )
        else:
            click.echo(
                f"  line {d['line_id']} (order {d['order_id']}): {d['problem']} "
                f"expected {d['expected_fen']} fen, credited {d['credited_fen']} fen"
            )
    if result["discrepancies"]:
        raise SystemExit(1)


@report_cli.command("income")
@click.option("--month", required=True, help="YYYY-MM")
def report_income_command(month):
    """Write the monthly income statement into instance/reports/income-YYYY-MM.xlsx."""
    try:
        path = write_monthly_report(month)
    except ValidationError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"wrote {path}")


def register(app: Flask) -> None:
    app.cli.add_command(county_cli)
    app.cli.add_command(report_cli)

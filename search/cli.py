"""`flask --app wsgi search reindex`: rebuild the search index from the database, with a progress bar."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from search.index import needs_rebuild, rebuild

search_cli = AppGroup("search", help="Search index.")


@search_cli.command("reindex")
@click.option("--if-outdated", is_flag=True, help="Only when the index is missing or written by an older version.")
def reindex_command(if_outdated: bool):
    """Rebuild the search index (products and tourism listings) from the database."""
    if if_outdated and not needs_rebuild():
        click.echo(f"The index in {current_app.config['SEARCH_INDEX_DIR']} is up to date.")
        return
    started = time.perf_counter()
    state = {"bar": None, "done": 0}

    def progress(done: int, total: int) -> None:
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=max(total, 1), label="Indexing")
            state["bar"].__enter__()
        state["bar"].update(done - state["done"])
        state["done"] = done

    try:
        total = rebuild(progress)
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
    click.echo(
        f"Indexed {total} documents into {current_app.config['SEARCH_INDEX_DIR']} "
        f"in {time.perf_counter() - started:.1f} s"
    )


def register(app: Flask) -> None:
    app.cli.add_command(search_cli)

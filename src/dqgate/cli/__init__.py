"""The `dq` command: a thin click shell over the library.

Errors are turned into exit codes in exactly one place, :func:`main`: a
:class:`~dqgate.errors.DqError` or a bad argument becomes one line on stderr and
exit 2 (a traceback only with ``--debug``); anything else is a bug and keeps its
traceback. Commands import engines lazily so that `dq lint` starts fast.
"""

from __future__ import annotations

import sys

import click

from dqgate import __version__
from dqgate.errors import ContractError, DqError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dq", message="%(prog)s (dqgate) %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """dqgate: check data against YAML contracts, quarantine what fails, publish stamped snapshots."""


def _register() -> None:
    from dqgate.cli.check import check, explain
    from dqgate.cli.lint import lint, schema

    for command in (check, lint, explain, schema):
        cli.add_command(command)
    try:
        from dqgate.cli.ingest import ingest

        cli.add_command(ingest)
    except ImportError:  # pragma: no cover - during development only
        pass
    try:
        from dqgate.cli.snapshots import lineage, quarantine, snapshots, store

        for command in (snapshots, lineage, quarantine, store):
            cli.add_command(command)
    except ImportError:  # pragma: no cover
        pass


_register()


def main(argv: list[str] | None = None) -> int:
    """Run `dq` and return its exit code (0 pass, 1 gate failed, 2 unusable input)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        rv = cli.main(args=args, prog_name="dq", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("dq: aborted", err=True)
        return 130
    except click.ClickException as exc:
        if debug:
            raise
        click.echo(f"dq: error: {exc.format_message()}", err=True)
        return 2
    except DqError as exc:
        if debug:
            raise
        click.echo(f"dq: error: {one_line(exc)}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("dq: interrupted", err=True)
        return 130
    return int(rv or 0)


def one_line(exc: DqError) -> str:
    """The error as one line; a contract with several problems names how many more there are."""
    if isinstance(exc, ContractError) and len(exc.problems) > 1:
        return f"{exc.problems[0]} (and {len(exc.problems) - 1} more problems; run `dq lint` to see all)"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

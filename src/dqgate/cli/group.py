"""The `dq` command's click group: a thin click shell over the library.

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


# Command name -> "module:attribute". A command's module is imported only when that
# command runs (or `dq --help` lists it), so `dq lint` never pays for DuckDB, Arrow or
# rich, which the check and store commands import at module level.
_COMMANDS = {
    "check": "dqgate.cli.check:check",
    "lint": "dqgate.cli.lint:lint",
    "explain": "dqgate.cli.check:explain",
    "schema": "dqgate.cli.lint:schema",
    "ingest": "dqgate.cli.ingest:ingest",
    "snapshots": "dqgate.cli.snapshots:snapshots",
    "lineage": "dqgate.cli.snapshots:lineage",
    "quarantine": "dqgate.cli.quarantine:quarantine",
    "store": "dqgate.cli.snapshots:store",
    "profile": "dqgate.cli.profile:profile",
    "history": "dqgate.cli.history:history",
    "import": "dqgate.cli.odcs:import_",
    "report": "dqgate.cli.report:report",
    "export": "dqgate.cli.odcs:export",
}


class _LazyGroup(click.Group):
    """A click group that imports each command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in _COMMANDS:
            return command
        module_name, _, attr = _COMMANDS[cmd_name].partition(":")
        import importlib

        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a command still being written; any other import error is a bug
            if exc.name != module_name:
                raise
            return None
        command = getattr(module, attr)
        self.add_command(command, cmd_name)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dq", message="%(prog)s (dqgate) %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """dqgate: check data against YAML contracts, quarantine what fails, publish stamped snapshots."""


def main(argv: list[str] | None = None) -> int:
    """Run `dq` through click and return its exit code (0 pass, 1 gate failed, 2 unusable input)."""
    args = list(sys.argv[1:] if argv is None else argv)
    command_at = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
    debug = "--debug" in args[:command_at]  # `dq --debug check ...`; after the command it is that command's (unknown) option
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

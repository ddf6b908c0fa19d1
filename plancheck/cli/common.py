"""Shared pieces of the command line: error handling and reusable options."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from plancheck.errors import EXIT_INPUT, EXIT_USAGE, PlancheckError


class PlancheckGroup(click.Group):
    """A click group that turns plancheck errors into one message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PlancheckError as exc:
            _report(ctx, exc, exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except MemoryError as exc:
            _report(ctx, exc, EXIT_INPUT, "out of memory: the input is larger than this machine can hold")
        except KeyboardInterrupt as exc:
            # SIGTERM arrives as a KeyboardInterrupt subclass carrying its signal number
            number = int(getattr(exc, "signal_number", 2))
            click.echo("terminated" if number != 2 else "interrupted", err=True)
            sys.exit(128 + number)
        except Exception as exc:  # last line of defence: never a traceback by default
            _report(
                ctx,
                exc,
                EXIT_INPUT,
                f"internal error ({type(exc).__name__}: {exc}). Please report it with the output of --debug.",
            )
        return None


def _debug(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("debug")) or "--debug" in sys.argv[1:2]


def _report(ctx: click.Context, exc: BaseException, code: int, text: str | None = None) -> None:
    if _debug(ctx):
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    from plancheck.report.terminal import terminal_safe

    click.secho(terminal_safe(f"plancheck: error: {text or exc}"), err=True, fg="red")
    ctx.exit(code)


class PlancheckUsageError(click.UsageError):
    """A usage error (exit 2) raised by a command after click parsed its options."""

    exit_code = EXIT_USAGE

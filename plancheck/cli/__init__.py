"""The ``plancheck`` command: the only code that prints, shows progress and exits.

Each command lives in a module of its own and is registered on :data:`main`.
Library errors (:class:`plancheck.errors.PlancheckError`) become one line on
stderr and the exit status the error carries; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import importlib

import click

from plancheck import __version__
from plancheck.cli.common import PlancheckGroup

# module name -> command attribute (the command's name); each module is imported when its
# command runs, or when --help lists the commands: --version and one command import little
_COMMANDS: tuple[tuple[str, str], ...] = (
    ("plancheck.cli.info", "info"),
    ("plancheck.cli.dvh", "dvh"),
    ("plancheck.cli.phantom", "phantom"),
    ("plancheck.cli.protocol", "protocol"),
    ("plancheck.cli.evaluate", "evaluate"),
    ("plancheck.cli.report", "report"),
    ("plancheck.cli.batch", "batch"),
    ("plancheck.cli.sum", "sum"),
)


class _LazyGroup(PlancheckGroup):
    """A :class:`PlancheckGroup` whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        names.update(name for _, name in _COMMANDS if self.get_command(ctx, name) is not None)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        for module_name, attr in _COMMANDS:
            if attr != cmd_name:
                continue
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:  # command not written yet
                if exc.name != module_name:
                    raise
                return None
            command = getattr(module, attr)
            self.add_command(command)
            return command
        return None


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plancheck")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Independent DICOM-RT dosimetric plan evaluation."""
    import logging

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


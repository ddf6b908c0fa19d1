"""The ``plancheck`` command: the only code that prints, shows progress and exits.

Each command lives in a module of its own and is registered on :data:`main`.
Library errors (:class:`plancheck.errors.PlancheckError`) become one line on
stderr and the exit status the error carries; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import importlib
import logging

import click

from plancheck import __version__
from plancheck.cli.common import PlancheckGroup

# module name -> command attribute; modules are imported when the group is built
_COMMANDS: tuple[tuple[str, str], ...] = (
    ("plancheck.cli.info", "info"),
    ("plancheck.cli.dvh", "dvh"),
    ("plancheck.cli.phantom", "phantom"),
    ("plancheck.cli.protocol", "protocol"),
    ("plancheck.cli.evaluate", "evaluate"),
    ("plancheck.cli.report", "report"),
    ("plancheck.cli.batch", "batch"),
)


@click.group(cls=PlancheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plancheck")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Independent DICOM-RT dosimetric plan evaluation."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


for _module_name, _attr in _COMMANDS:
    try:
        _module = importlib.import_module(_module_name)
    except ModuleNotFoundError as exc:  # command not written yet
        if exc.name != _module_name:
            raise
        continue
    main.add_command(getattr(_module, _attr))

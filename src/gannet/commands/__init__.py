"""Sub-commands beyond the core ones in gannet.cli; each module registers its own parser
with ``gannet.cli.command``."""

import importlib

for _name in ("evaluate", "figures", "playground", "reproduce", "classifier", "average"):
    try:
        importlib.import_module(f"gannet.commands.{_name}")
    except ModuleNotFoundError as _e:  # a command module not present in this build
        if _e.name != f"gannet.commands.{_name}":
            raise

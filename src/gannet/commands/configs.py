"""``gannet configs``: list the configs shipped with gannet, or print one."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "configs",
        help="list the bundled configs (gannet train NAME), or print one",
        description="List the TOML configs shipped with gannet, each with its first comment "
        "line; train one by name (gannet train mnist-paper). With NAME, print that config, "
        "e.g. to start your own: gannet configs mnist-paper > my.toml",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="print this bundled config")
    p.set_defaults(handler=_configs)


def _configs(args: argparse.Namespace) -> int:
    from gannet.config.presets import BUNDLED_DIR, bundled_configs, require_bundled

    if args.name:
        print(require_bundled(args.name).path.read_text(encoding="utf-8"), end="")
        return 0
    configs = bundled_configs()
    width = max((len(c.name) for c in configs), default=0)
    for c in configs:
        print(f"{c.name:<{width}}  {c.summary}")
    print(f"\n{len(configs)} configs in {BUNDLED_DIR}; train one with: gannet train NAME")
    return 0

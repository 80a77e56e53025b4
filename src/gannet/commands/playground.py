"""``gannet playground``: serve the interactive page on a local port."""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from typing import Any

from gannet.errors import GannetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "playground",
        help="serve an interactive page of the GAN game",
        description="Serve the gannet playground: the game of Goodfellow et al. (2014) between "
        "two bell curves, computed analytically with gannet.paper.theory, and a live view of "
        "gannet's trainer on 1-D and 2-D toy data; with --runs, a latent explorer of trained "
        "runs. Works offline. Stop with Ctrl-C.",
    )
    p.add_argument(
        "--port", type=int, default=8765, help="port to listen on (default 8765; 0 = any free port)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only)",
    )
    p.add_argument(
        "--runs",
        metavar="DIR",
        help="a folder of trained runs: adds the latent explorer tab, which lists them and "
        "regenerates a run's samples live as you move through its noise space (read only)",
    )
    p.add_argument(
        "--backend",
        default="eager",
        metavar="NAME",
        help="what draws the explorer's frames: eager (default: the run's G in PyTorch), pt2 "
        "(G exported with torch.export) or onnx (G exported for ONNX Runtime; pip install "
        "'gannet[onnx]'); each run is exported to a temporary folder when opened",
    )
    p.add_argument("--open", action="store_true", help="also open the page in a web browser")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    p.set_defaults(handler=_playground)


def _playground(args: argparse.Namespace) -> int:
    from gannet.playground import serve

    if not 0 <= args.port <= 65535:
        raise GannetError(f"--port must be between 0 and 65535, got {args.port}")
    check_host(args.host)
    server = serve(args.host, args.port, verbose=args.verbose, runs=args.runs, backend=args.backend)
    print(f"gannet playground: {server.url}", flush=True)
    if args.runs is not None:
        found = len(server.explorer.runs())
        print(
            f"latent explorer: {found} run(s) in {args.runs}, frames drawn by {args.backend} G",
            flush=True,
        )
    print("press Ctrl-C to stop", file=sys.stderr, flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(server.url)
    _sigterm_stops()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print("gannet playground: stopped", flush=True)
    return 0


def _sigterm_stops() -> None:
    """Let SIGTERM stop the server as cleanly as Ctrl-C (sessions' temporary folders removed)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def check_host(host: str) -> None:
    """``--host`` must be an address of this machine (or a name for one): one line saying
    so otherwise, before binding, whose error would be about the port. '' means every
    interface, as for a socket."""
    if not host:
        return
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError, ValueError) as e:
        detail = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise GannetError(
            f"--host {host!r} is not a valid IP address or host name ({detail}); "
            "use e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        ) from None
    family, _, _, _, address = infos[0]
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address[0], 0))  # port 0: tests the address, not the port
    except OSError as e:
        raise GannetError(
            f"--host {host!r} is not an address of this machine ({e.strerror or e}); "
            "use e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        ) from None

"""``gannet playground``: an interactive page for the GAN game of Goodfellow et al. (2014).

Two views: the game analytically (two Gaussians, the optimal discriminator D*, C(G) and the
JSD from :mod:`gannet.paper.theory`, with gradient steps on C(G)), and the game for real (gannet's
own trainer on 1-D and 2-D toy data, streamed live). Standard library HTTP server, plain
HTML/CSS/JavaScript page, no network access needed.

    from gannet.playground import serve
    server = serve("127.0.0.1", 0)   # port 0: any free port
    server.start()                   # background thread; or server.serve_forever()
    print(server.url)
    server.close()

Modules: :mod:`~gannet.playground.analytic` (the analytic game), :mod:`~gannet.playground.live`
(live training sessions) and :mod:`~gannet.playground.server` (the HTTP layer).
"""

from gannet.playground.analytic import ANALYTIC_DEFAULTS, analytic_state, analytic_step
from gannet.playground.server import DEFAULT_PORT, PlaygroundServer, serve

__all__ = [
    "ANALYTIC_DEFAULTS",
    "DEFAULT_PORT",
    "PlaygroundServer",
    "analytic_state",
    "analytic_step",
    "serve",
]

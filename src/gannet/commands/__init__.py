"""The sub-commands of ``gannet``: one module per command (or command group), each with an
``add_parser(sub)`` that adds its parser and sets its handler. :data:`gannet.cli.COMMANDS`
lists them, in the order ``gannet --help`` shows them."""

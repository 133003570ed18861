"""``python -m gateway.cli``: the ``bitrouter`` command (how the background server is started)."""

from gateway.cli import main

main()

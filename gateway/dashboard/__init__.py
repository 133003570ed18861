"""The terminal dashboard: a gateway's status, balances, agents, spend, usage and transactions,
read over HTTP only.

Typical use::

    reader = GatewayReader("http://127.0.0.1:8787", lambda: mint_token(Keystore(home)))
    run_dashboard(reader)            # until the user presses q
"""

from gateway.dashboard._app import DashboardApp
from gateway.dashboard._reader import GatewayReader, Snapshot, TokenSource

__all__ = ["DashboardApp", "GatewayReader", "Snapshot", "TokenSource", "run_dashboard"]


def run_dashboard(reader: GatewayReader, interval: float = 3.0) -> None:
    """Run the dashboard in this terminal until the user quits."""
    DashboardApp(reader, interval).run()

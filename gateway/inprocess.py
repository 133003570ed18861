"""``Gateway``: the real server in a background thread, for notebooks, scripts and tests.

A Jupyter kernel already runs an asyncio loop in its main thread, so the gateway gets a thread
of its own with its own trio loop, serving real HTTP on a free loopback port. Everything a
notebook does then goes through the same HTTP API an agent uses::

    gw = Gateway(simulator=True).start()     # a temporary home with a fresh master key
    client = gw.client()                     # an agents.Client signing the master's tokens
    client.chat("moonshotai:kimi-k2.5", "Hello!")
    gw.stop()                                # or: with Gateway(...) as gw: ...

The thread is a daemon and ``stop`` also runs at interpreter exit, so a restarted kernel leaves
no server behind; embedded chain nodes that this gateway started are stopped with it.
"""

from __future__ import annotations

import atexit
import contextlib
import html
import queue
import shutil
import socket
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import trio

from gateway.errors import ConfigError, GatewayError
from gateway.settings import Settings, load_settings, settings_from_mapping

if TYPE_CHECKING:
    from agents import AsyncClient, Client
    from gateway.identity import BudgetRange, BudgetScope, Scope

__all__ = ["Gateway"]

_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 15.0  # graceful: open requests finish, the app's services close
_CHAIN_NODES = ("solana", "tempo")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class Gateway:
    """A gateway served from a background thread (its own trio loop), on loopback.

    Args:
        home: the home folder; a fresh temporary one (removed on ``stop``) when omitted.
        config: settings as a mapping (same shape as ``bitrouter.yaml``); when omitted the
            home's ``bitrouter.yaml`` is read (defaults if it has none).
        port: the port to listen on; ``0`` picks a free one.
        simulator: True serves every model from the built-in provider simulator (offline, even
            with provider keys set), False never; None (default) when no provider key is set.
        generate_key: create the home's master key if it has none; default: only for a
            temporary home.
        agent_keys: labels of agent keys to create in the home (those missing) before
            serving, so that their tokens are accepted from the first request.
    """

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        port: int = 0,
        simulator: bool | None = None,
        generate_key: bool | None = None,
        agent_keys: Sequence[str] = (),
    ) -> None:
        self._temporary = home is None
        self.home = Path(tempfile.mkdtemp(prefix="bitrouter-")) if home is None else Path(home)
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._config = dict(config) if config is not None else None
        self._port = port
        self._simulator = simulator
        self._generate_key = self._temporary if generate_key is None else generate_key
        self._agent_keys = tuple(agent_keys)
        self._thread: threading.Thread | None = None
        self._trio_token: trio.lowlevel.TrioToken | None = None
        self._shutdown: trio.Event | None = None
        self._cancel: trio.CancelScope | None = None
        self._nodes_before: frozenset[str] = frozenset()
        self._clients: list[Client] = []
        self.url: str | None = None
        self.simulator_url: str | None = None
        self.settings: Settings | None = None

    @property
    def running(self) -> bool:
        """Whether the server thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _load(self, port: int) -> Settings:
        if self._config is None:
            settings = load_settings(self.home)
        else:
            settings = settings_from_mapping(self._config, self.home, source="Gateway(config=…)")
        # The settings name the port really served, so that what the gateway tells others
        # about itself (``/health``'s listen, the URL its hosted agents call back) is true.
        server = settings.server.model_copy(update={"host": "127.0.0.1", "port": port})
        update: dict[str, Any] = {"server": server}
        if self._simulator is not None:
            mode = "on" if self._simulator else "off"
            update["simulator"] = settings.simulator.model_copy(update={"mode": mode})
        return settings.model_copy(update=update)

    def start(self) -> Gateway:
        """Start serving; returns once the server answers (or raises why it could not).

        Raises:
            ConfigError: the settings are wrong or the server could not start.
            KeystoreError: the master key could not be created.
        """
        if self._thread is not None:
            return self
        try:
            self.settings = self._load(self._port or _free_port("127.0.0.1"))
            self._create_keys()
        except GatewayError:
            self._remove_home()
            raise
        self._nodes_before = self._running_nodes()
        started: queue.Queue[tuple[str, str | None] | BaseException] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run, args=(self.settings, started), name="bitrouter-gateway", daemon=True
        )
        self._thread.start()
        try:
            result = started.get(timeout=_START_TIMEOUT)
        except queue.Empty:
            raise GatewayError("the gateway did not start within a minute") from None
        if isinstance(result, BaseException):
            self._thread = None
            self._remove_home()
            if isinstance(result, GatewayError):
                raise result
            raise ConfigError(f"the gateway could not start: {result}") from result
        self.url, self.simulator_url = result
        atexit.register(self.stop)
        return self

    def _create_keys(self) -> None:
        from gateway.identity import Keystore

        keystore = Keystore(self.home)
        if self._generate_key and not keystore.has_master():
            keystore.generate_master()
        known = set(keystore.agents())
        for label in self._agent_keys:
            if label not in known:
                keystore.create_agent(label)

    def _run(
        self, settings: Settings, started: queue.Queue[tuple[str, str | None] | BaseException]
    ) -> None:
        from gateway.http import create_app
        from gateway.http._server import hypercorn_config, serve_app

        async def main() -> None:
            self._trio_token = trio.lowlevel.current_trio_token()
            shutdown = self._shutdown = trio.Event()
            config = hypercorn_config(settings.server.host, settings.server.port)
            config.graceful_timeout = 2
            app = create_app(settings)
            with trio.CancelScope() as scope:
                self._cancel = scope
                async with trio.open_nursery() as nursery:
                    urls = await nursery.start(
                        lambda task_status: serve_app(
                            app,
                            config,
                            shutdown_trigger=shutdown.wait,
                            task_status=task_status,
                        )
                    )
                    # Read in this thread: the runtime belongs to this trio loop.
                    runtime = app.extensions.get("bitrouter")
                    started.put((urls[0], getattr(runtime, "simulator_url", None)))

        try:
            trio.run(main)
        except BaseException as exc:  # handed to the starting thread, which raises it
            started.put(exc)

    def stop(self) -> None:
        """Stop serving (gracefully, then by force after 15 s) and wait for the thread.

        The clients made by :meth:`client` are closed, chain nodes this gateway started are
        stopped, and a temporary home is removed.
        """
        thread, self._thread = self._thread, None
        atexit.unregister(self.stop)
        for client in self._clients:
            client.close()
        self._clients.clear()
        if thread is not None and self._trio_token is not None:
            with contextlib.suppress(trio.RunFinishedError):
                assert self._shutdown is not None
                trio.from_thread.run_sync(self._shutdown.set, trio_token=self._trio_token)
            thread.join(timeout=_STOP_TIMEOUT)
            if thread.is_alive() and self._cancel is not None:
                with contextlib.suppress(trio.RunFinishedError):
                    trio.from_thread.run_sync(self._cancel.cancel, trio_token=self._trio_token)
                thread.join(timeout=_STOP_TIMEOUT)
        if thread is not None:
            self._stop_chain_nodes()
        self.url = None
        self._remove_home()

    def _remove_home(self) -> None:
        if self._temporary:
            shutil.rmtree(self.home, ignore_errors=True)

    def _running_nodes(self) -> frozenset[str]:
        from gateway.chains._daemon import running_node

        return frozenset(
            name
            for name in _CHAIN_NODES
            if (self.home / "chains" / name / "node.json").exists()
            and running_node(self.home, name) is not None
        )

    def _stop_chain_nodes(self) -> None:
        from gateway.chains._daemon import stop_node

        # Nodes that ran before this gateway started belong to someone else (the CLI).
        for name in self._running_nodes() - self._nodes_before:
            stop_node(self.home, name)

    def token(
        self,
        *,
        scope: Scope = "api",
        ttl_seconds: int | None = 3600,
        agent: str | None = None,
        models: Sequence[str] | None = None,
        tools: Sequence[str] | None = None,
        budget: int | None = None,
        budget_scope: BudgetScope | None = None,
        budget_range: BudgetRange | None = None,
    ) -> str:
        """A token signed by the home's master key (or by agent ``agent``'s key); ``budget``
        in µUSD.

        Raises:
            KeystoreError: the key does not exist.
        """
        from gateway.identity import Keystore, mint_token

        return mint_token(
            Keystore(self.home),
            scope=scope,
            ttl_seconds=ttl_seconds,
            agent=agent,
            models=models,
            tools=tools,
            budget=budget,
            budget_scope=budget_scope,
            budget_range=budget_range,
        )

    def _base_url(self) -> str:
        if self.url is None:
            raise GatewayError("the gateway is not running: call start() first")
        return self.url

    def client(
        self, token: str | None = None, *, agent: str | None = None, timeout: float = 60.0
    ) -> Client:
        """An :class:`agents.Client` of this gateway, sending ``token`` or else fresh tokens of
        the master key (or of agent ``agent``'s key)."""
        from agents import Client

        factory = None if token is not None else lambda: self.token(agent=agent)
        client = Client(self._base_url(), token, token_factory=factory, timeout=timeout)
        self._clients.append(client)
        return client

    def async_client(
        self, token: str | None = None, *, agent: str | None = None, timeout: float = 60.0
    ) -> AsyncClient:
        """An :class:`agents.AsyncClient` of this gateway (tokens as in :meth:`client`)."""
        from agents import AsyncClient

        factory = None if token is not None else lambda: self.token(agent=agent)
        return AsyncClient(self._base_url(), token, token_factory=factory, timeout=timeout)

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"serving at {self.url}" if self.running else "stopped"
        return f"<Gateway {state}, home {self.home}>"

    def _repr_html_(self) -> str:
        providers = "simulated (offline)" if self.simulator_url else "real"
        rows: dict[str, str | None] = {
            "state": "serving" if self.running else "stopped",
            "url": self.url,
            "home": str(self.home) + (" (temporary)" if self._temporary else ""),
            "providers": providers if self.running else None,
        }
        cells = "".join(
            f'<tr><th style="text-align: left">{k}</th><td style="text-align: left">'
            f"{html.escape('—' if v is None else v)}</td></tr>"
            for k, v in rows.items()
        )
        return f"<table><caption><b>BitRouter gateway</b></caption>{cells}</table>"

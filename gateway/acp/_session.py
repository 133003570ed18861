"""One ACP session: its own agent subprocess, relayed to one remote client.

The client sees the gateway's session id; the agent sees its own. Everything between them is
relayed in the order it was written: the client's requests and notifications to the agent, the
agent's ``session/update``s to the client, and the agent's requests to its client
(``session/request_permission``, ``fs/*``, ``terminal/*``) to the remote client, whose answers go
back. ``session/prompt`` is metered (see ``_turn.py``); ``session/cancel`` is forwarded and, if
the agent does not stop in time, enforced by stopping it. A session without traffic for the
agent's idle timeout is stopped (waiting for the client's answer does not count as idle).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import trio
from pydantic import ValidationError

from gateway.acp._card import AgentCard, launch_argv
from gateway.acp._environment import agent_environment, gateway_mcp_server, working_directory
from gateway.acp._jsonrpc import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    JsonObject,
    RpcError,
    error_response,
    invalid_params,
    is_notification,
    result_response,
)
from gateway.acp._link import AgentLink
from gateway.acp._peer import Peer, PeerGone, Pending
from gateway.acp._ports import SessionToken, SpendGuard
from gateway.acp._process import AgentProcess
from gateway.acp._turn import COST_META, Turn, judge
from gateway.errors import GatewayError, UpstreamError, UpstreamTimeout
from gateway.identity import Principal

__all__ = ["ClientSide", "Session", "SessionServices"]

_log = logging.getLogger("bitrouter.acp")


@dataclass(frozen=True)
class SessionServices:
    """What every session uses: spending, session tokens, where the gateway is, the home."""

    spend: SpendGuard[Any]
    session_token: SessionToken
    gateway_url: str
    home: Path


class ClientSide(Protocol):
    """The session's view of its client connection."""

    client: Peer
    client_init: JsonObject

    @property
    def background(self) -> trio.Nursery:
        """A nursery whose tasks outlive the session (they answer the client)."""
        ...

    async def to_client(self, message: JsonObject, session_id: str | None) -> None:
        """Send ``message`` to the client, on the session's stream if it has one."""
        ...


def _swap(params: Any, old: str | None, new: str | None) -> Any:
    if isinstance(params, dict) and old is not None and params.get("sessionId") == old:
        return {**params, "sessionId": new}
    return params


class Session:
    """Run it with :meth:`run` (which reports the ``session/new`` result), feed it the client's
    messages with :meth:`from_client`."""

    def __init__(
        self,
        session_id: str,
        *,
        card: AgentCard,
        principal: Principal,
        client: ClientSide,
        services: SessionServices,
    ) -> None:
        self.id = session_id
        self.card = card
        self.principal = principal
        self._client = client
        self._services = services
        self._link: AgentLink | None = None
        self._nursery: trio.Nursery | None = None
        self._agent_sid: str | None = None
        self._turn: Turn | None = None
        self._turns = itertools.count(1)
        self._waiting_on_client = 0
        self._last_activity = trio.current_time()
        self.end_reason: str | None = None
        self.started = False
        # What the agent says before the client has the session id waits for it.
        self._early: list[JsonObject] | None = []

    @property
    def pid(self) -> int | None:
        """The agent process id (None before it started)."""
        return self._link.process.pid if self._link is not None else None

    async def run(self, params: JsonObject, *, task_status: trio.TaskStatus[JsonObject]) -> None:
        """Start the agent and its session; report the ``session/new`` result the client gets;
        relay until the agent exits or is stopped.

        Raises (before reporting):
            RpcError: the agent could not be started or refused the session.
        """
        agent = self.card.settings
        try:
            self.card.claim()
        except GatewayError as exc:
            raise RpcError.from_gateway(exc) from None
        try:
            async with working_directory(agent, self._services.home, params["cwd"]) as cwd:
                await self._serve(cwd, params, task_status)
        except GatewayError as exc:
            raise RpcError.from_gateway(exc) from None
        finally:
            self.card.release()

    async def _serve(
        self, cwd: Path, params: JsonObject, task_status: trio.TaskStatus[JsonObject]
    ) -> None:
        agent = self.card.settings
        token = await self._services.session_token(self.principal)
        env = agent_environment(agent, gateway_url=self._services.gateway_url, token=token)
        link = AgentLink(AgentProcess(launch_argv(agent), env=env, cwd=cwd, name=agent.name))
        self._link = link
        failure: RpcError | None = None
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                await nursery.start(link.run, self._from_agent)
                opened = await self._open(link, cwd, token)
            except GatewayError as exc:
                failure = RpcError.from_gateway(exc)
            except RpcError as exc:
                failure = exc
            if failure is not None:
                link.stop("the session did not start")
            else:
                self.started = True
                task_status.started(opened)
                nursery.start_soon(self._watch_idle, link)
                await link.exited.wait()
                nursery.cancel_scope.cancel()
        self.end_reason = link.reason or link.peer.gone
        if failure is not None:
            raise failure

    async def _open(self, link: AgentLink, cwd: Path, token: str) -> JsonObject:
        # the ACP SDK (its pydantic schema: ~10 MB, ~0.7 s to import) loads at first use
        from acp.schema import InitializeResponse, NewSessionResponse

        agent = self.card.settings
        try:
            with trio.fail_after(agent.startup_timeout_seconds):
                init = InitializeResponse.model_validate(
                    await link.peer.request("initialize", self._client.client_init)
                )
                mcp = init.agent_capabilities and init.agent_capabilities.mcp_capabilities
                servers = [gateway_mcp_server(self._services.gateway_url, token)]
                new_params = {"cwd": str(cwd), "mcpServers": servers if mcp and mcp.http else []}
                answer = await link.peer.request("session/new", new_params)
                opened = NewSessionResponse.model_validate(answer)
        except trio.TooSlowError:
            raise UpstreamTimeout(
                f"the agent '{agent.name}' did not start a session within "
                f"{agent.startup_timeout_seconds:g} s",
                code="agent_timeout",
            ) from None
        except PeerGone as gone:
            raise UpstreamError(gone.reason, code="agent_unavailable") from None
        except ValidationError:
            raise UpstreamError(
                f"the agent '{agent.name}' answered with an invalid session", code="agent_error"
            ) from None
        self._agent_sid = opened.session_id
        assert isinstance(answer, dict)
        return {**answer, "sessionId": self.id}

    # -- from the client ------------------------------------------------------------------

    async def from_client(self, message: JsonObject) -> None:
        """Relay one message of the client (in the order the client sent them)."""
        self._touch()
        method = message.get("method")
        if is_notification(message):
            if method == "session/cancel":
                await self._cancel()
            else:
                await self._notify_agent(method, message.get("params"))
        elif method == "session/prompt":
            await self._start_turn(message)
        elif method == "session/close":
            self.stop("the client closed the session")
            await self._client.to_client(result_response(message["id"], {}), self.id)
        else:
            await self._forward(message)

    def stop(self, reason: str) -> None:
        """Stop the agent; open requests fail with ``reason``."""
        if self._link is not None:
            self._link.stop(reason)

    async def _notify_agent(self, method: Any, params: Any) -> None:
        link = self._link
        assert link is not None
        with contextlib.suppress(PeerGone):
            await link.peer.notify(method, _swap(params, self.id, self._agent_sid))

    async def _forward(self, message: JsonObject) -> None:
        link = self._link
        assert link is not None
        params = _swap(message.get("params"), self.id, self._agent_sid)
        try:
            pending = await link.peer.send_request(message["method"], params)
        except PeerGone as gone:
            await self._reply_error(message["id"], RpcError(INTERNAL_ERROR, gone.reason))
            return
        self._client.background.start_soon(self._answer_client, message["id"], pending, link)

    async def _answer_client(self, request_id: Any, pending: Pending, link: AgentLink) -> None:
        try:
            result = await pending.wait()
        except RpcError as error:
            await self._reply_error(request_id, error)
        except PeerGone as gone:
            await self._reply_error(request_id, RpcError(INTERNAL_ERROR, gone.reason))
        else:
            await self._client.to_client(result_response(request_id, result), self.id)
        finally:
            link.peer.forget(pending)

    async def _reply_error(self, request_id: Any, error: RpcError) -> None:
        await self._client.to_client(error_response(request_id, error), self.id)

    # -- turns ---------------------------------------------------------------------------

    async def _start_turn(self, message: JsonObject) -> None:
        request_id, link = message["id"], self._link
        assert link is not None
        if self._turn is not None:
            busy = RpcError(INVALID_REQUEST, "a turn is already running in this session")
            await self._reply_error(request_id, busy)
            return
        from acp.schema import PromptRequest  # the ACP SDK loads at first use

        try:
            PromptRequest.model_validate(message.get("params"))
        except ValidationError as exc:
            await self._reply_error(request_id, invalid_params("session/prompt", exc))
            return
        number = next(self._turns)
        turn_id = f"acp_{self.id}_{number}"
        try:
            hold = await self._services.spend.reserve(
                self.principal,
                kind="agent",
                subject=self.card.name,
                amount=self.card.settings.price_per_turn,
                tokens=0,
                request_id=turn_id,
            )
        except GatewayError as exc:
            await self._reply_error(request_id, RpcError.from_gateway(exc))
            return
        turn = Turn(request_id, turn_id, number, hold)
        try:
            params = _swap(message.get("params"), self.id, self._agent_sid)
            pending = await link.peer.send_request("session/prompt", params)
        except BaseException as exc:
            with trio.CancelScope(shield=True):
                await self._services.spend.cancel(hold, self._usage(turn, "not_started", None))
            if isinstance(exc, PeerGone):
                await self._reply_error(request_id, RpcError(INTERNAL_ERROR, exc.reason))
                return
            raise
        self._turn = turn
        # In the connection's nursery: the client gets its answer even when the agent is gone.
        self._client.background.start_soon(self._finish_turn, turn, pending, link)

    async def _finish_turn(self, turn: Turn, pending: Pending, link: AgentLink) -> None:
        accounted = False
        try:
            result: Any = None
            error: Exception | None = None
            try:
                with turn.scope:
                    result = await pending.wait()
            except (RpcError, PeerGone) as exc:
                error = exc
            outcome = judge(result, error, forced=turn.scope.cancelled_caught)
            usage = self._usage(turn, outcome.outcome, outcome.stop_reason)
            price = self.card.settings.price_per_turn
            accounted = True
            with trio.CancelScope(shield=True):
                if outcome.charge:
                    await self._services.spend.settle(turn.hold, price, usage)
                else:
                    await self._services.spend.cancel(turn.hold, usage)
            if self._turn is turn:
                self._turn = None
            if outcome.outcome == "cancel_timeout":
                link.stop(
                    f"the agent '{self.card.name}' did not stop within "
                    f"{self.card.settings.cancel_grace_seconds:g} s of session/cancel"
                )
            if outcome.error is not None:
                await self._reply_error(turn.client_request_id, outcome.error)
            else:
                assert outcome.result is not None
                meta = {**(outcome.result.get("_meta") or {}), COST_META: price * outcome.charge}
                answer = {**outcome.result, "_meta": meta}
                await self._client.to_client(
                    result_response(turn.client_request_id, answer), self.id
                )
        finally:
            link.peer.forget(pending)
            if self._turn is turn:
                self._turn = None
            if not accounted:
                with trio.CancelScope(shield=True):
                    usage = self._usage(turn, "client_gone", None)
                    await self._services.spend.cancel(turn.hold, usage)

    async def _cancel(self) -> None:
        await self._notify_agent("session/cancel", {"sessionId": self.id})
        turn = self._turn
        if turn is not None and not turn.cancel_requested and self._nursery is not None:
            turn.cancel_requested = True
            self._nursery.start_soon(self._enforce_cancel, turn)

    async def _enforce_cancel(self, turn: Turn) -> None:
        await trio.sleep(self.card.settings.cancel_grace_seconds)
        if self._turn is turn:
            _log.warning("agent %s ignored session/cancel; stopping it", self.card.name)
            turn.scope.cancel()

    def _usage(self, turn: Turn, outcome: str, stop_reason: str | None) -> dict[str, Any]:
        return {
            "agent": self.card.name,
            "session_id": self.id,
            "turn": turn.number,
            "outcome": outcome,
            "stop_reason": stop_reason,
        }

    # -- from the agent ------------------------------------------------------------------

    async def opened(self) -> None:
        """The client has the ``session/new`` answer: relay what the agent said before it."""
        while self._early:
            await self._relay_from_agent(self._early.pop(0))
        self._early = None

    async def _from_agent(self, message: JsonObject) -> None:
        self._touch()
        if self._early is not None:
            self._early.append(message)
            return
        await self._relay_from_agent(message)

    async def _relay_from_agent(self, message: JsonObject) -> None:
        params = _swap(message.get("params"), self._agent_sid, self.id)
        if is_notification(message):
            await self._client.to_client({**message, "params": params}, self.id)
            return
        link = self._link
        assert link is not None
        if link.exited.is_set():
            return  # nobody would read the answer
        try:
            pending = await self._client.client.send_request(message["method"], params)
        except PeerGone as gone:
            await self._answer_agent(
                link, error_response(message["id"], RpcError(INTERNAL_ERROR, gone.reason))
            )
            return
        self._waiting_on_client += 1
        assert self._nursery is not None
        self._nursery.start_soon(self._relay_answer, message, pending, link)

    async def _relay_answer(self, request: JsonObject, pending: Pending, link: AgentLink) -> None:
        try:
            try:
                answer = result_response(request["id"], await pending.wait())
            except RpcError as error:
                answer = error_response(request["id"], error)
            except PeerGone as gone:
                if request["method"] == "session/request_permission":
                    # ACP's answer for a prompt that can no longer be asked.
                    cancelled = {"outcome": {"outcome": "cancelled"}}
                    answer = result_response(request["id"], cancelled)
                else:
                    answer = error_response(request["id"], RpcError(INTERNAL_ERROR, gone.reason))
            await self._answer_agent(link, answer)
        finally:
            self._client.client.forget(pending)
            self._waiting_on_client -= 1
            self._touch()

    async def _answer_agent(self, link: AgentLink, answer: JsonObject) -> None:
        with contextlib.suppress(PeerGone):
            await link.process.send(answer)

    # -- idle --------------------------------------------------------------------------

    def _touch(self) -> None:
        self._last_activity = trio.current_time()

    async def _watch_idle(self, link: AgentLink) -> None:
        idle = self.card.settings.idle_timeout_seconds
        while True:
            await trio.sleep_until(self._last_activity + idle)
            if self._waiting_on_client:
                self._touch()
            elif trio.current_time() >= self._last_activity + idle:
                link.stop(
                    f"the agent '{self.card.name}' was stopped after {idle:g} s without activity"
                )
                return

"""A small ACP agent for the face's tests, in raw JSON-RPC (it starts in milliseconds).

What a turn does depends on the prompt's text:
- ``crash``: exit at once with code 3;
- ``hang``: start a child process (``sleep``), report its pid, then never answer, not even to
  ``session/cancel``;
- ``env``: report what the gateway gave it (environment, ``session/new`` parameters, cwd);
- ``ask``: ask the client's permission, then report the answer;
- anything else: three chunks ``one`` ``two`` ``three``, then ``end_turn`` (``cancelled`` if a
  ``session/cancel`` came first).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

_lock = threading.Lock()
_cancelled: set[str] = set()
_new_params: dict[str, object] = {}
_answers: dict[int, dict[str, object]] = {}
_answered = threading.Condition(_lock)


def send(message: dict[str, object]) -> None:
    with _lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def say(session_id: str, text: str) -> None:
    update = {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}
    send(
        {
            "jsonrpc": "2.0",
            "method": "session/update",
            "params": {"sessionId": session_id, "update": update},
        }
    )


def turn(request_id: object, session_id: str, text: str) -> None:
    if text == "crash":
        os._exit(3)
    if text == "hang":
        child = subprocess.Popen(["sleep", "600"])
        say(session_id, f"child {child.pid}")
        return
    if text == "env":
        keys = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "BITROUTER_URL", "BITROUTER_TOKEN", "SECRET")
        report = {
            "env": {k: os.environ.get(k) for k in keys},
            "new": _new_params,
            "cwd": os.getcwd(),
        }
        say(session_id, json.dumps(report))
    elif text == "ask":
        tool_call = {"toolCallId": "t1", "title": "delete everything", "kind": "delete"}
        options = [
            {"optionId": "yes", "name": "Yes", "kind": "allow_once"},
            {"optionId": "no", "name": "No", "kind": "reject_once"},
        ]
        send(
            {
                "jsonrpc": "2.0",
                "id": 900,
                "method": "session/request_permission",
                "params": {"sessionId": session_id, "toolCall": tool_call, "options": options},
            }
        )
        with _answered:
            _answered.wait_for(lambda: 900 in _answers)
            answer = _answers.pop(900)
        say(session_id, json.dumps(answer))
    else:
        for word in ("one", "two", "three"):
            if session_id in _cancelled:
                break
            say(session_id, word)
    stop = "cancelled" if session_id in _cancelled else "end_turn"
    _cancelled.discard(session_id)
    send({"jsonrpc": "2.0", "id": request_id, "result": {"stopReason": stop}})


def main() -> None:
    for line in sys.stdin:
        message = json.loads(line)
        method, params = message.get("method"), message.get("params") or {}
        if method is None:
            with _answered:
                _answers[message["id"]] = message
                _answered.notify_all()
        elif method == "initialize":
            result = {
                "protocolVersion": 1,
                "agentInfo": {"name": "fake", "version": "1"},
                "agentCapabilities": {"mcpCapabilities": {"http": True}, "loadSession": True},
            }
            send({"jsonrpc": "2.0", "id": message["id"], "result": result})
        elif method == "session/new":
            _new_params.update(params)
            # Before the answer, as some agents do: the gateway must not let it overtake it.
            commands = {"sessionUpdate": "available_commands_update", "availableCommands": []}
            send(
                {
                    "jsonrpc": "2.0",
                    "method": "session/update",
                    "params": {"sessionId": "fake-session", "update": commands},
                }
            )
            send({"jsonrpc": "2.0", "id": message["id"], "result": {"sessionId": "fake-session"}})
        elif method == "session/prompt":
            text = "".join(b.get("text", "") for b in params["prompt"])
            args = (message["id"], params["sessionId"], text)
            threading.Thread(target=turn, args=args, daemon=True).start()
        elif method == "session/cancel":
            _cancelled.add(params["sessionId"])
        elif "id" in message:
            error = {"code": -32601, "message": f"{method} is not supported"}
            send({"jsonrpc": "2.0", "id": message["id"], "error": error})


if __name__ == "__main__":
    main()

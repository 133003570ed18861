"""A simulator of upstream LLM APIs: a test and demo double, never a real model.

It speaks the real wire formats of OpenAI Chat Completions, Anthropic Messages and Google
Gemini, so the gateway, its tests and its demos run with no network. Every reply is labelled
(``[simulated PROVIDER/MODEL] …``, header ``x-bitrouter-simulator: 1``), deterministic, and
reports honest token counts (those of :mod:`gateway.tokenizer`). Faults, timing and usage can
be asked for per request (markers and headers) or queued on its control plane; see
``specs/simulator.md``.

Usage::

    async with trio.open_nursery() as nursery:
        base_url = await nursery.start(serve_simulator, SimulatorConfig())
        # OpenAI SDK: base_url=f"{base_url}/p/openai/v1"
"""

from gateway.simulator._app import DEFAULT_PROVIDER, SIMULATED_MODELS, create_simulator_app
from gateway.simulator._config import SimulatorConfig
from gateway.simulator._control import FAULT_KINDS
from gateway.simulator._faults import SIMULATOR_HEADER
from gateway.simulator._reply import label as reply_label
from gateway.simulator._serve import serve_simulator

__all__ = [
    "DEFAULT_PROVIDER",
    "FAULT_KINDS",
    "SIMULATED_MODELS",
    "SIMULATOR_HEADER",
    "SimulatorConfig",
    "create_simulator_app",
    "reply_label",
    "serve_simulator",
]

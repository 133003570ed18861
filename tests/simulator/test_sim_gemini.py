"""Google Gemini over plain HTTP, checked against the documented response shape."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from gateway.tokenizer import count_prompt_tokens, count_text_tokens

MODEL = "gemini-2.5-flash"
URL = f"/p/google/v1beta/models/{MODEL}"
KEY = {"x-goog-api-key": "g-key"}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 8).decode()
TOOLS = [
    {
        "functionDeclarations": [
            {
                "name": "find_flight",
                "description": "Find a flight.",
                "parameters": {
                    "type": "OBJECT",
                    "properties": {"origin": {"type": "STRING"}, "seats": {"type": "INTEGER"}},
                    "required": ["origin", "seats"],
                },
            }
        ]
    }
]


def _events(body: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


@pytest.mark.req("SIM-GEMINI")
@pytest.mark.req("SIM-LABEL")
@pytest.mark.req("SIM-COUNT")
async def test_generate_content_shape_and_usage(http: httpx.AsyncClient) -> None:
    body = {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Describe"},
                    {"inlineData": {"mimeType": "image/png", "data": PNG}},
                ],
            }
        ],
        "generationConfig": {"maxOutputTokens": 100},
    }
    response = await http.post(f"{URL}:generateContent", params={"key": "g-key"}, json=body)
    assert response.status_code == 200
    assert response.headers["x-bitrouter-simulator"] == "1"
    reply = response.json()
    (candidate,) = reply["candidates"]
    text = candidate["content"]["parts"][0]["text"]
    assert candidate["content"]["role"] == "model" and candidate["finishReason"] == "STOP"
    assert text.startswith(f"[simulated google/{MODEL}] ")
    assert reply["modelVersion"] == MODEL and reply["responseId"]
    as_openai = [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ],
        },
    ]
    usage = reply["usageMetadata"]
    assert usage["promptTokenCount"] == count_prompt_tokens(as_openai, "google")
    assert usage["candidatesTokenCount"] == count_text_tokens(text, "google")
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert "cachedContentTokenCount" not in usage and "thoughtsTokenCount" not in usage


@pytest.mark.req("SIM-GEMINI")
@pytest.mark.req("SIM-CONTROL")
async def test_stream_sse_matches_json(http: httpx.AsyncClient) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "Hello [[sim:reasoning=5,cached=3]]"}]}]
    }
    streamed = await http.post(
        f"{URL}:streamGenerateContent", params={"alt": "sse"}, json=body, headers=KEY
    )
    plain = (await http.post(f"{URL}:generateContent", json=body, headers=KEY)).json()
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = _events(streamed.text)
    text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events)
    assert len(events) > 3
    assert text == plain["candidates"][0]["content"]["parts"][0]["text"]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert all("finishReason" not in e["candidates"][0] for e in events[:-1])
    usage = events[-1]["usageMetadata"]
    assert usage == plain["usageMetadata"]
    assert usage["thoughtsTokenCount"] == 5 and usage["cachedContentTokenCount"] == 3
    assert usage["totalTokenCount"] == (
        usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
    )


@pytest.mark.req("SIM-GEMINI")
@pytest.mark.req("SIM-REPLY")
async def test_function_call_then_function_response(http: httpx.AsyncClient) -> None:
    ask = {"role": "user", "parts": [{"text": "Fly me"}]}
    body = {
        "contents": [ask],
        "tools": TOOLS,
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
    }
    reply = (await http.post(f"{URL}:generateContent", json=body, headers=KEY)).json()
    (part,) = reply["candidates"][0]["content"]["parts"]
    call = part["functionCall"]
    assert call["name"] == "find_flight" and set(call["args"]) == {"origin", "seats"}
    assert isinstance(call["args"]["seats"], int) and isinstance(call["args"]["origin"], str)
    assert reply["candidates"][0]["finishReason"] == "STOP"

    answered = {
        "contents": [
            ask,
            {"role": "model", "parts": [part]},
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "find_flight", "response": {"result": "LH123"}}}
                ],
            },
        ],
        "tools": TOOLS,
    }
    reply = (await http.post(f"{URL}:generateContent", json=answered, headers=KEY)).json()
    assert 'tool result: "LH123"' in reply["candidates"][0]["content"]["parts"][0]["text"]


@pytest.mark.req("SIM-GEMINI")
@pytest.mark.req("SIM-AUTH")
async def test_max_output_tokens_and_errors(http: httpx.AsyncClient) -> None:
    short = {"contents": [{"parts": [{"text": "Hi"}]}], "generationConfig": {"maxOutputTokens": 9}}
    reply = (await http.post(f"{URL}:generateContent", json=short, headers=KEY)).json()
    assert reply["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert reply["usageMetadata"]["candidatesTokenCount"] <= 9

    no_key = await http.post(f"{URL}:generateContent", json=short)
    assert no_key.status_code == 401
    assert no_key.json()["error"] == {
        "code": 401,
        "message": no_key.json()["error"]["message"],
        "status": "UNAUTHENTICATED",
    }
    bad_image = {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "%%"}}]}]}
    invalid = await http.post(f"{URL}:generateContent", json=bad_image, headers=KEY)
    assert invalid.status_code == 400
    assert invalid.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "contents.0.parts.0.inlineData.data" in invalid.json()["error"]["message"]
    unknown = await http.post(f"{URL}:countTokens", json=short, headers=KEY)
    assert unknown.status_code == 404

"""The official JavaScript Socket.IO client goes through lobby, admission, mute, hands, relay and end."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from tests.realtime.conftest import Cohort

SCRIPT = Path(__file__).parent / "js" / "official_client.mjs"


async def test_the_official_javascript_client(cohort: Cohort) -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed (./scripts/test installs it)"
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        cohort.url,
        cohort.group_id,
        cohort.facilitator.token,
        cohort.participants[0].token,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, (out, err)
    seen = json.loads(out)
    pip = cohort.participants[0].user_id

    assert seen["refused"]["data"]["code"] == "not_authenticated"
    assert seen["facilitator_join"]["status"] == "joined"
    assert seen["participant_join"]["status"] == "waiting"
    assert [w["user_id"] for w in seen["lobby"]["waiting"]] == [pip]
    assert seen["admit"] == {"ok": True}
    assert seen["admitted"]["status"] == "joined"
    assert {p["user_id"] for p in seen["admitted"]["room"]["participants"]} == {cohort.facilitator.user_id, pip}
    assert seen["muted"] == {"room_id": cohort.group_id, "kind": "audio"}
    assert seen["queue"] == {"room_id": cohort.group_id, "queue": [pip]}
    assert seen["unknown"]["error"]["code"] == "unknown_event"
    assert seen["invalid"]["error"]["code"] == "invalid_request"
    assert seen["relay"] == {"ok": True}
    assert seen["signal"]["type"] == "candidate"
    assert seen["signal"]["candidate"]["sdpMLineIndex"] == 0
    assert seen["end"] == {"ok": True}
    assert seen["ended"] == {"room_id": cohort.group_id}


CHAT_SCRIPT = Path(__file__).parent / "js" / "official_chat_client.mjs"


async def test_the_official_javascript_client_in_both_kinds_of_chat(cohort: Cohort) -> None:
    api = cohort.api
    mentor_id, mentor_token = await api.user(cohort.admin, "js-mentor@example.org", "mentor", "Morgan")
    mentee = cohort.participants[0]
    status, _ = await api.call(
        "POST", "/api/pairings", cohort.admin, {"mentor_id": mentor_id, "mentee_id": mentee.user_id}
    )
    assert status == 201
    node = shutil.which("node")
    assert node is not None
    process = await asyncio.create_subprocess_exec(
        node,
        str(CHAT_SCRIPT),
        cohort.url,
        cohort.group_id,
        cohort.facilitator.token,
        mentee.token,
        mentor_token,
        mentee.user_id,
        mentor_id,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, (out, err)
    seen = json.loads(out)
    assert seen["send"]["ok"] is True
    assert seen["send"]["message"]["seq"] == 1
    assert seen["message"]["body"] == "Hello from the browser client"
    assert seen["message"]["conversation"] == f"room:{cohort.group_id}"
    assert seen["repeat"]["message"] == seen["send"]["message"]
    assert [m["seq"] for m in seen["history"]["messages"]] == [1]
    assert seen["too_long"]["error"]["code"] == "invalid_request"
    assert seen["dm_send"]["message"]["seq"] == 1
    assert seen["dm_message"]["conversation"] == f"dm:{mentor_id}"
    assert [m["body"] for m in seen["dm_history"]["messages"]] == ["Thinking of you"]

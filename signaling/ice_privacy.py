"""What signaling lets through under the ``relay`` ICE policy: TURN relay candidates, and no one's own address.

Clients are told to gather relay candidates only (``iceTransportPolicy: "relay"``), but a client that ignores it (an
old build, a bug) would hand the other members its home address. So under ``relay`` the server also refuses every
trickled candidate that is not of type relay, drops the others from offers and answers, and blanks the addresses a
relay candidate or a description may still name besides the relay's own: a relay candidate's related address (where
the TURN server saw the client coming from) and the default address of ``c=`` and ``a=rtcp:`` lines.

Candidates follow RFC 8839: ``candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
[raddr <address>] [rport <port>] *(<name> <value>)``, with or without a leading ``a=``.
"""

from __future__ import annotations

from signaling import wire
from signaling.acks import SignalingError

RELAY = "relay"
# The unspecified address of each family stands where an address is hidden (browsers do the same).
UNSPECIFIED = {"IP4": "0.0.0.0", "IP6": "::"}  # noqa: S104 - written into SDP, never bound to
TYPE_AT = 6  # the index of "typ" among a candidate's fields; the type follows it


def candidate_type(candidate: str) -> str | None:
    """The type (``host``, ``srflx``, ``prflx``, ``relay``) of a candidate attribute, or None if it is not one."""
    fields = candidate.removeprefix("a=").split()
    if len(fields) <= TYPE_AT + 1 or not fields[0].startswith("candidate:") or fields[TYPE_AT] != "typ":
        return None
    return fields[TYPE_AT + 1].lower()


def private_relay_candidate(candidate: str) -> str | None:
    """The candidate with its related address blanked if it is a relay candidate; None if it is anything else."""
    if candidate_type(candidate) != RELAY:
        return None
    prefix = "a=" if candidate.startswith("a=") else ""
    fields = candidate.removeprefix(prefix).split()
    family = "IP6" if ":" in fields[TYPE_AT - 2] else "IP4"
    # After the type come name/value pairs; only raddr and rport name the client's own side.
    for index in range(TYPE_AT + 2, len(fields) - 1, 2):
        if fields[index] == "raddr":
            fields[index + 1] = UNSPECIFIED[family]
        elif fields[index] == "rport":
            fields[index + 1] = "0"
    return prefix + " ".join(fields)


def _unspecified_connection(address: str) -> str:
    """``IN IP4 <address>`` (a ``c=`` value, or the tail of ``a=rtcp:``) with the address blanked."""
    parts = address.split()
    family = parts[1] if len(parts) == 3 and parts[0] == "IN" and parts[1] in UNSPECIFIED else "IP4"
    return f"IN {family} {UNSPECIFIED[family]}"


def private_description(sdp: str) -> str:
    """An offer or answer keeping only relay candidates (their related addresses blanked) and no default address."""
    kept = []
    for line in sdp.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if body.startswith("a=candidate:"):
            relay = private_relay_candidate(body)
            if relay is None:
                continue
            body = relay
        elif body.startswith("c="):
            body = "c=" + _unspecified_connection(body[2:])
        elif body.startswith("a=rtcp:") and " " in body:
            port, address = body.split(" ", 1)
            body = f"{port} {_unspecified_connection(address)}"
        kept.append(body + ending)
    return "".join(kept)


def screened(signal: wire.RtcSignal, policy: str) -> wire.RtcSignal:
    """The signal as it may be relayed under ``policy``; under ``relay`` a candidate that is not a relay candidate
    is refused (``invalid_request``). The end of candidates (null, or an empty candidate) always passes."""
    if policy != RELAY:
        return signal
    if signal.sdp is not None:
        return signal.model_copy(update={"sdp": private_description(signal.sdp)})
    if signal.candidate is None or not signal.candidate.candidate.strip():
        return signal
    relay = private_relay_candidate(signal.candidate.candidate)
    if relay is None:
        raise SignalingError("invalid_request", "Only relay candidates are allowed here.")
    return signal.model_copy(update={"candidate": signal.candidate.model_copy(update={"candidate": relay})})

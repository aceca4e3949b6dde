"""Call transitions: each takes the call (None when there is none), a command's arguments and the time, and
returns the new call and the events it caused. A refused command raises a ``RoomError`` and changes nothing.

Only the two people of a call may act on it; anyone else, and anyone naming a call that does not exist, is
refused as not authorized (the same answer either way, so that nobody learns which calls exist).
"""

from __future__ import annotations

from dataclasses import replace

from rooms.calls import (
    Answered,
    Call,
    CallEvent,
    CallRole,
    CallState,
    Declined,
    Ended,
    EndReason,
    Ringing,
    Side,
    SideAway,
    SideBack,
)
from rooms.errors import NotAuthorized, RoomError

Result = tuple[Call, list[CallEvent]]


def _role(call: Call | None, user_id: str) -> tuple[Call, CallRole]:
    role = None if call is None else call.role_of(user_id)
    if call is None or role is None:
        raise NotAuthorized("That call is not yours.")
    return call, role


def _refuse_in(call: Call, doing: str) -> RoomError:
    """A refusal naming the state the call is in."""
    if call.state is CallState.ENDED:
        return RoomError(f"Cannot {doing}: the call has ended.")
    if call.state is CallState.ANSWERED:
        return RoomError(f"Cannot {doing}: the call was answered.")
    return RoomError(f"Cannot {doing}: the call has not been answered.")


def _end(call: Call, reason: EndReason, now: float, by: str | None, events: list[CallEvent]) -> Result:
    ended = replace(call, state=CallState.ENDED, reason=reason, ended_at=now)
    events.append(Ended(ended, by))
    return ended, events


def invite(call_id: str, pairing_id: str, caller: Side, callee: Side, now: float, busy: bool) -> Result:
    """A new call from ``caller`` (whose ``peer_id`` is the inviting connection); it ends at once as busy when the
    callee is in another call or a group session."""
    call = Call(call_id, pairing_id, caller, replace(callee, peer_id=None), CallState.RINGING, now)
    if busy:
        return _end(call, EndReason.BUSY, now, None, [])
    return call, [Ringing(call)]


def accept(call: Call | None, user_id: str, peer_id: str, now: float) -> Result:
    """The callee answers on connection ``peer_id``; the first device to answer wins."""
    call, role = _role(call, user_id)
    if role is CallRole.CALLER:
        raise RoomError("Only the person called can answer.")
    if call.state is CallState.ANSWERED:
        raise RoomError("This call was already answered on another device.")
    if call.state is not CallState.RINGING:
        raise _refuse_in(call, "answer")
    answered = replace(call, state=CallState.ANSWERED, answered_at=now, callee=replace(call.callee, peer_id=peer_id))
    return answered, [Answered(answered)]


def decline(call: Call | None, user_id: str, now: float) -> Result:
    call, role = _role(call, user_id)
    if role is CallRole.CALLER:
        raise RoomError("The caller cancels a call rather than declining it.")
    if call.state is not CallState.RINGING:
        raise _refuse_in(call, "decline")
    declined = replace(call, state=CallState.ENDED, reason=EndReason.DECLINED, ended_at=now)
    return declined, [Declined(declined), Ended(declined, user_id)]


def cancel(call: Call | None, user_id: str, now: float) -> Result:
    call, role = _role(call, user_id)
    if role is CallRole.CALLEE:
        raise RoomError("Only the caller can cancel; decline instead.")
    if call.state is not CallState.RINGING:
        raise _refuse_in(call, "cancel")
    return _end(call, EndReason.CANCELLED, now, user_id, [])


def hangup(call: Call | None, user_id: str, now: float) -> Result:
    """Either side ends the call; while it rings this cancels (caller) or declines (callee)."""
    call, role = _role(call, user_id)
    if call.state is CallState.RINGING:
        return cancel(call, user_id, now) if role is CallRole.CALLER else decline(call, user_id, now)
    if call.state is not CallState.ANSWERED:
        raise _refuse_in(call, "hang up")
    return _end(call, EndReason.HANGUP, now, user_id, [])


def connection_closed(call: Call, peer_id: str, now: float) -> Result:
    """A connection closed (or its node died). A ringing call whose caller left ends; in an answered call that
    side is away and keeps the call for the grace period. Other connections change nothing."""
    if call.state is CallState.RINGING and call.caller.peer_id == peer_id:
        return _end(call, EndReason.CONNECTION_LOST, now, None, [])
    if call.state is not CallState.ANSWERED:
        return call, []
    for role in CallRole:
        side = call.side(role)
        if side.peer_id == peer_id and side.away_since is None:
            away = replace(side, away_since=now)
            changed = replace(call, caller=away) if role is CallRole.CALLER else replace(call, callee=away)
            return changed, [SideAway(changed, side.user_id)]
    return call, []


def resume(call: Call | None, user_id: str, peer_id: str, now: float, grace_seconds: float) -> Result:
    """A side takes part again from connection ``peer_id`` (after a drop, or from another device)."""
    call, role = _role(call, user_id)
    if call.state is not CallState.ANSWERED:
        raise _refuse_in(call, "resume")
    side = call.side(role)
    if side.away_since is not None and now >= side.away_since + grace_seconds:
        raise RoomError("Cannot resume: the call ended when the connection stayed away too long.")
    if side.peer_id == peer_id and side.away_since is None:
        return call, []
    back = replace(side, peer_id=peer_id, away_since=None)
    changed = replace(call, caller=back) if role is CallRole.CALLER else replace(call, callee=back)
    return changed, [SideBack(changed, user_id, side.peer_id)]


def expire(call: Call, now: float, ring_seconds: float, grace_seconds: float) -> Result:
    """End a call nobody answered in time, or whose side stayed away longer than the grace period."""
    if call.state is CallState.RINGING and now >= call.invited_at + ring_seconds:
        return _end(call, EndReason.MISSED, now, None, [])
    if call.state is CallState.ANSWERED:
        for side in (call.caller, call.callee):
            if side.away_since is not None and now >= side.away_since + grace_seconds:
                return _end(call, EndReason.CONNECTION_LOST, now, None, [])
    return call, []


def terminate(call: Call, now: float) -> Result:
    """End the call because its pairing ended: a ringing call is cancelled, an answered one hung up."""
    if call.state is CallState.RINGING:
        return _end(call, EndReason.CANCELLED, now, None, [])
    if call.state is CallState.ANSWERED:
        return _end(call, EndReason.HANGUP, now, None, [])
    return call, []

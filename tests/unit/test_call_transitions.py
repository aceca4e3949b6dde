"""The call state machine: every state reachable, every refusal naming why, and the rules that hold whatever
the two people (and a stranger) do in whatever order."""

from __future__ import annotations

import json

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rooms import call_transitions as t
from rooms.calls import (
    Answered,
    Call,
    CallEvent,
    CallState,
    Declined,
    Ended,
    EndReason,
    Ringing,
    Side,
    SideAway,
    SideBack,
    from_document,
    to_document,
)
from rooms.errors import NotAuthorized, RoomError

MENTOR, MENTEE, STRANGER = "mentor-1", "mentee-1", "stranger"
RING, GRACE = 45.0, 30.0


def ringing(at: float = 100.0) -> Call:
    call, events = t.invite("call-1", "pairing-1", Side(MENTOR, "Mo", "mentor-peer"), Side(MENTEE, "Eve"), at, False)
    assert events == [Ringing(call)]
    return call


def answered() -> Call:
    call, _ = t.accept(ringing(), MENTEE, "mentee-phone", 105.0)
    return call


def reason_of(events: list[CallEvent]) -> EndReason | None:
    ended = [e for e in events if isinstance(e, Ended)]
    assert len(ended) <= 1
    return ended[0].call.reason if ended else None


def test_an_invitation_rings_with_no_callee_device_chosen() -> None:
    call = ringing()
    assert call.state is CallState.RINGING
    assert call.callee.peer_id is None
    assert call.caller.peer_id == "mentor-peer"


def test_a_busy_callee_ends_the_call_at_once() -> None:
    call, events = t.invite("c", "p", Side(MENTOR, "Mo", "peer"), Side(MENTEE, "Eve"), 1.0, busy=True)
    assert call.state is CallState.ENDED
    assert reason_of(events) is EndReason.BUSY
    assert not any(isinstance(e, Ringing) for e in events)


def test_the_first_device_to_answer_wins() -> None:
    call, events = t.accept(ringing(), MENTEE, "mentee-phone", 105.0)
    assert call.state is CallState.ANSWERED
    assert call.callee.peer_id == "mentee-phone"
    assert call.answered_at == 105.0
    assert events == [Answered(call)]
    with pytest.raises(RoomError, match="already answered on another device") as refused:
        t.accept(call, MENTEE, "mentee-laptop", 106.0)
    assert refused.value.code == "conflict"


@pytest.mark.parametrize(
    ("act", "who", "reason"),
    [
        (lambda c, who: t.decline(c, who, 110.0), MENTEE, EndReason.DECLINED),
        (lambda c, who: t.cancel(c, who, 110.0), MENTOR, EndReason.CANCELLED),
        (lambda c, who: t.hangup(c, who, 110.0), MENTOR, EndReason.CANCELLED),
        (lambda c, who: t.hangup(c, who, 110.0), MENTEE, EndReason.DECLINED),
        (lambda c, who: t.expire(c, 145.0, RING, GRACE), None, EndReason.MISSED),
        (lambda c, who: t.connection_closed(c, "mentor-peer", 110.0), None, EndReason.CONNECTION_LOST),
    ],
)
def test_each_way_a_ringing_call_ends(act, who, reason) -> None:  # type: ignore[no-untyped-def]
    call, events = act(ringing(), who)
    assert call.state is CallState.ENDED
    assert reason_of(events) is reason
    assert call.ended_at is not None
    ended = next(e for e in events if isinstance(e, Ended))
    assert ended.by == who


def test_a_decline_is_announced_before_the_end() -> None:
    _, events = t.decline(ringing(), MENTEE, 110.0)
    assert [type(e) for e in events] == [Declined, Ended]


def test_a_ringing_call_waits_until_its_time_is_up() -> None:
    call = ringing(at=100.0)
    assert t.expire(call, 144.9, RING, GRACE) == (call, [])
    # A callee device that closes while ringing changes nothing: the others still ring.
    assert t.connection_closed(call, "mentee-phone", 110.0) == (call, [])


def test_hangup_ends_an_answered_call_for_both() -> None:
    call, events = t.hangup(answered(), MENTEE, 200.0)
    assert reason_of(events) is EndReason.HANGUP
    assert call.ended_at == 200.0


def test_a_side_that_drops_keeps_the_call_through_the_grace_period() -> None:
    call, events = t.connection_closed(answered(), "mentee-phone", 200.0)
    assert events == [SideAway(call, MENTEE)]
    assert call.callee.away_since == 200.0
    assert t.expire(call, 229.9, RING, GRACE) == (call, [])
    resumed, events = t.resume(call, MENTEE, "mentee-phone-2", 210.0, GRACE)
    assert events == [SideBack(resumed, MENTEE, "mentee-phone")]
    assert resumed.callee.peer_id == "mentee-phone-2"
    assert resumed.callee.away_since is None
    assert resumed.state is CallState.ANSWERED


def test_a_side_away_beyond_the_grace_period_ends_the_call() -> None:
    away, _ = t.connection_closed(answered(), "mentor-peer", 200.0)
    ended, events = t.expire(away, 230.0, RING, GRACE)
    assert reason_of(events) is EndReason.CONNECTION_LOST
    assert ended.state is CallState.ENDED
    with pytest.raises(RoomError, match="stayed away too long"):
        t.resume(away, MENTOR, "mentor-peer-2", 231.0, GRACE)


def test_a_closed_connection_that_no_longer_holds_the_call_changes_nothing() -> None:
    call = answered()
    assert t.connection_closed(call, "mentee-laptop", 200.0) == (call, [])
    away, _ = t.connection_closed(call, "mentee-phone", 200.0)
    # The same connection reported again (by a sweeper after the node's own disconnect) is not a second drop.
    assert t.connection_closed(away, "mentee-phone", 201.0) == (away, [])


def test_resuming_from_the_connection_already_in_the_call_is_a_no_op() -> None:
    call = answered()
    assert t.resume(call, MENTEE, "mentee-phone", 200.0, GRACE) == (call, [])


@pytest.mark.parametrize(
    "act",
    [
        lambda c, who: t.accept(c, who, "x-peer", 1.0),
        lambda c, who: t.decline(c, who, 1.0),
        lambda c, who: t.cancel(c, who, 1.0),
        lambda c, who: t.hangup(c, who, 1.0),
        lambda c, who: t.resume(c, who, "x-peer", 1.0, GRACE),
    ],
)
def test_only_the_two_people_may_act_on_a_call_and_a_missing_call_looks_the_same(act) -> None:  # type: ignore[no-untyped-def]
    for call in (ringing(), answered(), None):
        with pytest.raises(NotAuthorized) as refused:
            act(call, STRANGER if call is not None else MENTOR)
        assert refused.value.code == "not_authorized"


@pytest.mark.parametrize(
    ("act", "who", "message"),
    [
        (lambda c, who: t.accept(c, who, "p", 1.0), MENTOR, "Only the person called can answer"),
        (lambda c, who: t.decline(c, who, 1.0), MENTOR, "caller cancels"),
        (lambda c, who: t.cancel(c, who, 1.0), MENTEE, "Only the caller can cancel"),
        (lambda c, who: t.resume(c, who, "p", 1.0, GRACE), MENTEE, "has not been answered"),
    ],
)
def test_the_wrong_side_is_told_what_to_do_instead(act, who, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RoomError, match=message) as refused:
        act(ringing(), who)
    assert refused.value.code == "conflict"


def test_acts_on_an_ended_call_are_refused_naming_its_state() -> None:
    ended, _ = t.hangup(answered(), MENTOR, 300.0)
    for act in (
        lambda: t.accept(ended, MENTEE, "p", 301.0),
        lambda: t.decline(ended, MENTEE, 301.0),
        lambda: t.cancel(ended, MENTOR, 301.0),
        lambda: t.hangup(ended, MENTEE, 301.0),
        lambda: t.resume(ended, MENTEE, "p", 301.0, GRACE),
    ):
        with pytest.raises(RoomError, match="the call has ended"):
            act()
    assert t.expire(ended, 10_000.0, RING, GRACE) == (ended, [])
    assert t.connection_closed(ended, "mentor-peer", 301.0) == (ended, [])


def test_an_answered_call_cannot_be_declined_or_cancelled() -> None:
    with pytest.raises(RoomError, match="the call was answered"):
        t.decline(answered(), MENTEE, 200.0)
    with pytest.raises(RoomError, match="the call was answered"):
        t.cancel(answered(), MENTOR, 200.0)


def test_the_document_round_trips_through_json() -> None:
    away, _ = t.connection_closed(answered(), "mentee-phone", 200.0)
    for call in (ringing(), answered(), away, t.hangup(answered(), MENTOR, 300.0)[0]):
        assert from_document(json.loads(json.dumps(to_document(call)))) == call


PEERS = ["mentor-peer", "mentor-tablet", "mentee-phone", "mentee-laptop", "stranger-peer"]
PEOPLE = [MENTOR, MENTEE, STRANGER]


class CallMachine(RuleBasedStateMachine):
    """Random acts by both people, a stranger, lost connections and time: a call ends exactly once, stays ended,
    and its fields always agree with its state."""

    @initialize(busy=st.booleans())
    def start(self, busy: bool) -> None:
        self.now = 0.0
        self.call, events = t.invite("c", "p", Side(MENTOR, "Mo", "mentor-peer"), Side(MENTEE, "Eve"), 0.0, busy)
        self.ends = sum(isinstance(e, Ended) for e in events)
        self.answered_once = False

    def _do(self, act) -> None:  # type: ignore[no-untyped-def]
        before = self.call
        try:
            self.call, events = act(before)
        except NotAuthorized:
            return
        except RoomError:
            assert self.call == before
            return
        self.ends += sum(isinstance(e, Ended) for e in events)
        if not events:
            assert self.call == before
        if any(isinstance(e, Answered) for e in events):
            assert not self.answered_once, "a call is answered at most once"
            self.answered_once = True

    @rule(seconds=st.floats(0.0, 40.0))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        self._do(lambda c: t.expire(c, self.now, RING, GRACE))

    @rule(who=st.sampled_from(PEOPLE), peer=st.sampled_from(PEERS))
    def accept(self, who: str, peer: str) -> None:
        self._do(lambda c: t.accept(c, who, peer, self.now))

    @rule(who=st.sampled_from(PEOPLE))
    def decline(self, who: str) -> None:
        self._do(lambda c: t.decline(c, who, self.now))

    @rule(who=st.sampled_from(PEOPLE))
    def cancel(self, who: str) -> None:
        self._do(lambda c: t.cancel(c, who, self.now))

    @rule(who=st.sampled_from(PEOPLE))
    def hangup(self, who: str) -> None:
        self._do(lambda c: t.hangup(c, who, self.now))

    @rule(peer=st.sampled_from(PEERS))
    def connection_closes(self, peer: str) -> None:
        self._do(lambda c: t.connection_closed(c, peer, self.now))

    @rule(who=st.sampled_from(PEOPLE), peer=st.sampled_from(PEERS))
    def resume(self, who: str, peer: str) -> None:
        self._do(lambda c: t.resume(c, who, peer, self.now, GRACE))

    @invariant()
    def coherent(self) -> None:
        call = self.call
        assert self.ends == (0 if call.live else 1)
        assert (call.reason is None) == call.live
        assert (call.ended_at is None) == call.live
        if call.state is CallState.RINGING:
            assert call.callee.peer_id is None
            assert call.answered_at is None
            assert call.caller.away_since is None
        if call.answered_at is not None:
            assert call.callee.peer_id is not None
        assert from_document(json.loads(json.dumps(to_document(call)))) == call


TestCallMachine = CallMachine.TestCase
TestCallMachine.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)


def test_a_pairing_that_ends_ends_its_call() -> None:
    _, events = t.terminate(ringing(), 110.0)
    assert reason_of(events) is EndReason.CANCELLED
    _, events = t.terminate(answered(), 110.0)
    assert reason_of(events) is EndReason.HANGUP
    ended, _ = t.hangup(answered(), MENTOR, 120.0)
    assert t.terminate(ended, 130.0) == (ended, [])

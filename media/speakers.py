"""Who is speaking, from the audio levels publishers put in their packets (RFC 6464): no decoding needed.

Each tick averages the loudness heard from each member since the last one; a member counts as speaking while
that average is above ``THRESHOLD`` and for ``HOLD`` seconds after, so a breath between words does not flicker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

THRESHOLD = 50  # mean of (127 - level): level 77 -dBov or louder
HOLD = 1.0


@dataclass
class Speakers:
    _last_loud: dict[str, float] = field(default_factory=dict)
    _loudness: dict[str, float] = field(default_factory=dict)
    recent: list[str] = field(default_factory=list)  # most recent speaker first, everyone ever heard

    def tick(self, heard: dict[str, tuple[int, int]], now: float) -> list[str]:
        """``heard``: user -> (sum of loudness, packets) since the last tick. Returns the speakers, loudest first."""
        for user_id, (total, packets) in heard.items():
            loudness = total / packets if packets else 0.0
            if loudness >= THRESHOLD:
                self._last_loud[user_id] = now
                self._loudness[user_id] = loudness
                if user_id in self.recent:
                    self.recent.remove(user_id)
                self.recent.insert(0, user_id)
        speaking = [u for u, at in self._last_loud.items() if now - at <= HOLD]
        for user_id in list(self._last_loud):
            if user_id not in speaking:
                del self._last_loud[user_id]
                self._loudness.pop(user_id, None)
        return sorted(speaking, key=lambda u: -self._loudness.get(u, 0.0))

    def forget(self, user_id: str) -> None:
        self._last_loud.pop(user_id, None)
        self._loudness.pop(user_id, None)
        if user_id in self.recent:
            self.recent.remove(user_id)

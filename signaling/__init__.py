"""Haven's real-time protocol over Socket.IO: auth at connect, events, presence, fan-out and relay."""

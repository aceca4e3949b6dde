"""Haven's group-room forwarder (SFU): media passed on as received, at the RTP level, never decoded."""

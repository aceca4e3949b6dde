"""Haven's domain, pure: group room state and transitions, the one-on-one call state machine, permissions.

Nothing here performs I/O or reads a clock; callers pass time in and carry out the returned events.
"""

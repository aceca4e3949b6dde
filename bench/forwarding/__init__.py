"""Media-forwarding benchmark: aiortc's MediaRelay, Janus VideoRoom and Haven's forwarder on the same clients.

Run ``.venv/bin/python -m bench.forwarding --help`` from the checkout; ``bench/forwarding/bench.py`` says what is
measured and how.
"""

"""Haven's server process: configuration, the aiohttp application, REST API, persistence and CLI."""

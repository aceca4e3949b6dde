"""What the tests stand on: private PostgreSQL and Redis servers, throwaway databases, API helpers."""

"""The HTTP API (FastAPI). Routers are thin: parse, authorise, call a service, shape the answer."""

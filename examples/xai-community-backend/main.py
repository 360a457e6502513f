"""XAI Community backend, in miniature: the routes the deploy record checked by hand."""

import socket
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from settings import Settings

settings = Settings()
app = FastAPI(title="Content Management API")
app.add_middleware(CORSMiddleware, allow_origins=settings.origins, allow_methods=["*"], allow_headers=["*"])
SERVICE = "xai-community-backend"


def reachable(url, default_port, timeout=1.0):
    """Whether a TCP connection to the URL's host opens (no driver needed to tell a database is there)."""
    if not url:
        return {"configured": False, "reachable": False}
    parts = urlsplit(url)
    host = (parts.hostname or "").split(",")[0]
    try:
        with socket.create_connection((host, parts.port or default_port), timeout=timeout):
            return {"configured": True, "reachable": True}
    except OSError as exc:
        return {"configured": True, "reachable": False, "error": type(exc).__name__}


@app.get("/")
def root():
    return {"message": "Content Management API", "status": "running"}


@app.get("/health")
def health():
    return {"status": "healthy", "service": SERVICE}


@app.get("/health/full")
def health_full():
    checks = {"mongodb": reachable(settings.mongodb_url, 27017), "redis": reachable(settings.redis_url, 6379)}
    healthy = all(c["reachable"] for c in checks.values() if c["configured"])
    return {"status": "healthy" if healthy else "degraded", "service": SERVICE,
            "environment": settings.environment, "checks": checks}


@app.get("/api/")
def api_index():
    return {"message": "Content Management API", "version": "1.0.0",
            "endpoints": ["/", "/health", "/health/full", "/api/"]}

"""The application object for ASGI servers (`uvicorn neo_events.asgi:app`), from the environment."""

from neo_events.main import create_app

app = create_app()

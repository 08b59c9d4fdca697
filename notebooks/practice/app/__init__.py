"""The team's FastAPI + SQLModel service, whose models the migrations track."""

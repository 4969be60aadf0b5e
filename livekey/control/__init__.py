"""Control from outside the window: a small HTTP JSON API for stream decks and scripts
(``livekey run --control PORT``; see docs/control-api.md)."""

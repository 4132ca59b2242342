"""Edge-to-cloud sync: the outbox over MQTT (results), HTTPS (page images), status, health, commands."""

from edge.sync.client import SyncClient

__all__ = ["SyncClient"]

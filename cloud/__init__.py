"""The cloud service: ingest, storage, REST API, dashboard, registry and rollout."""

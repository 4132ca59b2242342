"""Cloud ingest: MQTT shared subscription -> batched, idempotent SQL writes; dead letters."""

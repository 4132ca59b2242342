"""The device process: sources, detection, reading, pipeline, local store, sync and kiosk."""

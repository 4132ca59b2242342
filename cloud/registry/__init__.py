"""Model registry and rollout on the cloud: MLflow server, versions and aliases, model packages for
devices, desired-model publishing (fleet, site, canary), rollback, progress, drift, Models page."""

"""Device identity (broker credentials, HTTP tokens) and the Mosquitto configuration we generate."""

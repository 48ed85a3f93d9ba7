"""The skreg command: find, inspect, install and publish Agent Skills."""

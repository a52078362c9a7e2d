"""Stateful fakes of the apps the lab cannot run (Sonarr, Radarr, Lidarr, Readarr, Prowlarr, ...).

Each validates every request it receives and every successful response it gives against the app's published
OpenAPI spec (openapi.py), keeps its state like the app does, and counts mutating calls. They run in-process
in unit tests and, in the lab, as containers of the media stack (the mediabox-lab/appfake image, entry point
__main__.py) in place of the apps, so the wiring talks to them over the real Docker network.

Relative imports only: in the image this package is the top-level `fakes`.
"""

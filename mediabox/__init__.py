"""The engine's library: settings, secrets, the service catalog and API clients.

Deploy code (deploy/, facts/, operations/) imports from here; nothing here talks to a host itself.
"""

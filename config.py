"""pyinfra's configuration for this repo, read automatically from the working directory."""

REQUIRE_PYINFRA_VERSION = "~=3.10.0"

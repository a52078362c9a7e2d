"""Facts about Samba on the NAS guest."""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand
from typing_extensions import override


class SambaPasswordFingerprint(FactBase[str | None]):
    """
    Returns the SHA-256 of a Samba user's NT hash (mediabox.ntlm.fingerprint of its password), or None
    when the user has no Samba account. Neither the password nor the NT hash leaves the guest.

    .. code:: python

        "5e2b0d47c1f3c1a1e0c0f0b5f3b4b1b1b8d0c8a4e6e6f1f0b2b3b4b5b6b7b8b9"
    """

    @override
    def command(self, user: str) -> StringCommand:
        return StringCommand(
            "nt=$(pdbedit -L -w -u", QuoteString(user),
            "2>/dev/null | cut -d: -f4); [ -z \"$nt\" ] || printf %s \"$nt\" | sha256sum | cut -d' ' -f1",
        )

    @override
    def process(self, output) -> str | None:
        value = "".join(output).strip()
        return value or None

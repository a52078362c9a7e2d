"""Operations for the NAS guest's Samba server."""

from __future__ import annotations

import re

from pyinfra import host
from pyinfra.api import OperationValueError, QuoteString, StringCommand, operation

from facts.samba import SambaPasswordFingerprint
from mediabox import ntlm
from mediabox.readahead import reads

USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


@reads(lambda user, **_: [(SambaPasswordFingerprint, {"user": user})])
@operation()
def user(user: str, password: str):
    """
    Ensure a Samba account has this password: set with ``smbpasswd`` (the password on stdin, never on a
    command line) only when the account is missing or its password differs. The unix user must exist.

    + user: the user, e.g. ``media``
    + password: its password (from the secrets file)

    **Example:**

    .. code:: python

        samba.user(user="media", password=run.secrets["nas_password"])
    """
    if not USER_RE.match(user):
        raise OperationValueError(f"{user!r} is not a valid user name")
    if not password:
        raise OperationValueError(f"an empty password for Samba user {user}")
    current = host.get_fact(SambaPasswordFingerprint, user=user)
    if current == ntlm.fingerprint(password):
        host.noop(f"Samba user {user} has its password")
        return
    yield StringCommand("smbpasswd", "-s", "-a", QuoteString(user), _stdin=[password, password])

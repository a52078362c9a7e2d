"""pyinfra's operation names, without a scan of every loaded module for each operation.

pyinfra names an operation by the line numbers of its call stack (`inspect.stack()`, which reads each frame's
source line). The deploy file is exec'd, not imported, so for its frame `inspect.getmodule` finds no module and
walks all of `sys.modules` (~1,250 in a deploy) looking for one, once per operation per host: 0.3 s of CPU for a
no-op with three Docker guests. Telling inspect once that the file belongs to no module ends the walk; the
frames, their line numbers and so the operation order stay the same.
"""

from __future__ import annotations

import inspect
import os

NO_MODULE = "<pyinfra deploy file>"  # a name in no sys.modules: getmodule answers None, as after its walk


def known_deploy_file(filename: str | None) -> None:
    """Record pyinfra's deploy file (state.current_deploy_filename, relative to the working directory)."""
    if filename:
        inspect.modulesbyfile.setdefault(os.path.normcase(os.path.abspath(filename)), NO_MODULE)

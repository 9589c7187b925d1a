"""What a party keeps on disk: identifiers that may name files, confined paths, private modes.

Shared by nodes and the coordinator. Identifiers that arrive from the wire (job ids, node ids,
dataset names) are checked once at the edge with ``check_identifier``; every path built from
them is confined again where it is built with ``confined``; and every state directory and file
is created private to the process's user with ``private_dir``/``private_file``.
"""

from node.state.paths import InvalidIdentifier, PathEscape, check_identifier, confined
from node.state.private import private_dir, private_file, restrict_new_files

__all__ = [
    "InvalidIdentifier",
    "PathEscape",
    "check_identifier",
    "confined",
    "private_dir",
    "private_file",
    "restrict_new_files",
]

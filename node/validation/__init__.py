"""One way to read a file format: declarative models, one error naming file, path and fix.

Shared by the node and the coordinator. Job files, node and coordinator configurations are
described by pydantic models built on ``FileModel`` (unknown keys refused, booleans strict, no
NaN); ``validate`` reads a mapping into one and turns every refusal into a ``SpecError`` whose
message reads ``"<file> <path>: <problem>; <fix>"``. The reference pages under
``docs/reference/`` are generated from the same models (``scripts/gen_reference_docs.py``).
"""

from node.validation.errors import SpecError
from node.validation.model import FileModel, FormatVersion, Invalid, OneOf, as_tuple, validate

__all__ = ["FileModel", "FormatVersion", "Invalid", "OneOf", "SpecError", "as_tuple", "validate"]

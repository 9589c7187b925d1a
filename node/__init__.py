"""fedcredit node: the library every data holder runs beside its own data.

Subpackages shared with the coordinator (crypto, audit log, transport and certificates)
live here too; ``coordinator`` imports from ``node``, never the other way round.
"""

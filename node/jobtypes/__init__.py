"""The job types this build can run, assembled from the protocol packages (shared by both roles).

``node.jobs`` is the framework every job type is written against (job files, party context,
hooks, the check job); this package sits above ``node.psi`` and ``node.training`` and lists
them, so those packages never import the registry that names them.
"""

"""Snapshots (template and COW), revert, clones and chain depth."""


class SnapshotMixin(object):
    """Snapshot and clone behaviour of ``VMwareVcVmdkExtDriver``."""

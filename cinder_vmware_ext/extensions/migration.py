"""Driver-assisted migration and retype by relocation (RelocateVM_Task)."""


class MigrationMixin(object):
    """Migration behaviour of ``VMwareVcVmdkExtDriver``."""

"""Back-end QoS specs on the disk's storageIOAllocation; online extend."""


class QosMixin(object):
    """QoS and online-extend behaviour of ``VMwareVcVmdkExtDriver``."""

    def _apply_volume_qos(self, volume, volume_type=None):
        """Apply the QoS spec of ``volume_type`` (default: the volume's own
        type) to the volume's disk.  Called by the driver after every flow
        that creates or retypes a backing."""

"""Default scheduler functions for this driver's pools.

They need the scheduler's ``DriverFilter`` (and ``GoodnessWeigher``) to be
enabled, see README.  Variables are the pool capabilities reported by
``get_volume_stats`` and the requested volume.
"""

# A pool is only worth sending a volume to when one of its datastores can
# hold the whole volume: the pool's total free space can be scattered.
FILTER_FUNCTION = 'volume.size <= capabilities.largest_datastore_free_gb'

# Prefer pools with more free space, counted in copies of the requested
# volume (saturating at 100: beyond that Cinder's CapacityWeigher, on by
# default, still ranks by free space); a pool that cannot hold the volume
# on any one datastore scores 0.
GOODNESS_FUNCTION = (
    '(volume.size <= capabilities.largest_datastore_free_gb) * '
    'min(100, capabilities.free_capacity_gb / max(volume.size, 1))')

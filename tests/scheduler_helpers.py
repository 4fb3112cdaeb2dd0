"""Run the real Cinder scheduler filter and weigher on a driver's stats."""

from oslo_utils import timeutils


def pool_states(stats, host='functional@vmware'):
    """PoolStates as cinder-scheduler builds them from reported stats."""
    from cinder import objects
    objects.register_all()
    from cinder.scheduler import host_manager
    backend = host_manager.BackendState(host, None)
    capability = dict(stats, timestamp=timeutils.utcnow())
    backend.update_from_volume_capability(capability,
                                          service={'disabled': False})
    return backend.pools


def filter_properties(size, extra_specs=None):
    return {'size': size,
            'request_spec': {'volume_properties': {'size': size}},
            'volume_type': {'extra_specs': extra_specs or {}},
            'qos_specs': {}}


def driver_filter_passes(stats, pool_name, size):
    """Does cinder's DriverFilter let a ``size`` GiB volume into the pool?"""
    from cinder.scheduler.filters import driver_filter
    pool = pool_states(stats)[pool_name]
    return driver_filter.DriverFilter().backend_passes(
        pool, filter_properties(size))


def goodness(stats, pool_name, size):
    """The GoodnessWeigher's raw score for the pool."""
    from cinder.scheduler.weights import goodness
    pool = pool_states(stats)[pool_name]
    return goodness.GoodnessWeigher()._weigh_object(
        pool, filter_properties(size))

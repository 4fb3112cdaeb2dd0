# Copyright (c) 2026 cinder-vmware-ext developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
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

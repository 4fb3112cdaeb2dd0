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

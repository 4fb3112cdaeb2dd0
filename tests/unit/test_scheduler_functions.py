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
"""The default filter/goodness functions through Cinder's real scheduler
classes (DriverFilter, GoodnessWeigher), on stats built by the pure core."""

from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.core import model
from cinder_vmware_ext.core import pools
from cinder_vmware_ext.core import scheduling
from tests import scheduler_helpers as sched

GiB = model.GiB


def _stats(free_gbs, name='gold'):
    host = model.Host('h1', 'esx', 'c1')
    cluster = model.Cluster('c1', name, 'DC1', ('h1',))
    datastores = [model.Datastore('d%d' % i, 'd%d' % i, 'VMFS', 100 * GiB,
                                  int(free * GiB),
                                  mounts=(model.HostMount('h1'),))
                  for i, free in enumerate(free_gbs)]
    inv = model.Inventory({'c1': cluster}, {'h1': host},
                          {d.ref: d for d in datastores})
    pool, = pools.cluster_pools([cluster], inv, eligibility.Rules())
    figures = pools.capacity(pool, inv)
    return {'volume_backend_name': 'vmware', 'storage_protocol': 'vmdk',
            'vendor_name': 'VMware', 'driver_version': '1',
            'pools': [{'pool_name': name,
                       'total_capacity_gb': figures.total_gb,
                       'free_capacity_gb': figures.free_gb,
                       'largest_datastore_free_gb': figures.largest_free_gb,
                       'reserved_percentage': 0,
                       'filter_function': scheduling.FILTER_FUNCTION,
                       'goodness_function': scheduling.GOODNESS_FUNCTION}]}


def test_ten_scraps_reject_a_two_gib_volume():
    stats = _stats([1] * 10)
    assert stats['pools'][0]['free_capacity_gb'] == 10
    assert sched.driver_filter_passes(stats, 'gold', 1)
    assert not sched.driver_filter_passes(stats, 'gold', 2)


def test_one_roomy_datastore_admits_it():
    assert sched.driver_filter_passes(_stats([1] * 9 + [2]), 'gold', 2)


def test_goodness_prefers_more_free_space_and_zeroes_misfits():
    roomy, tight = _stats([80, 80]), _stats([10, 10])
    assert sched.goodness(roomy, 'gold', 5) > sched.goodness(tight, 'gold', 5)
    assert sched.goodness(tight, 'gold', 11) == 0
    # More free space wins even where it is a smaller share of capacity.
    big_pool = _stats([50] * 10)              # 500 of 1000 GiB free
    small_pool = _stats([90, 90])             # 180 of 200 GiB free
    assert sched.goodness(big_pool, 'gold', 10) > sched.goodness(
        small_pool, 'gold', 10)

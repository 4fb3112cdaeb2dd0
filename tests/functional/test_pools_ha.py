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
"""Placement and pool figures respect vSphere HA's dedicated failover hosts.

vSphere HA's admission control policy "dedicated failover hosts"
(ClusterFailoverHostAdmissionControlPolicy) keeps its hosts free of VMs, so
vCenter refuses to run a backing there. Such a host must neither receive a
backing nor make a datastore reachable for the pool. Figures in GiB are
worked out by hand from TOPOLOGY.
"""

import pytest

from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.vsphere import inventory as inventory_cache
from tests.functional import driver_fixtures as fx


def _ds(name, cap, free, hosts):
    return {'name': name, 'type': 'VMFS', 'capacity_gb': cap,
            'free_gb': free, 'mounts': [{'host': h} for h in hosts]}


TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [
        # h3 is gold's failover host: HA and admission control on.
        {'name': 'gold', 'hosts': [{'name': 'h1'}, {'name': 'h2'},
                                   {'name': 'h3'}],
         'ha': {'failover_hosts': ['h3']}},
        # The same policy with admission control off reserves nothing.
        {'name': 'silver', 'hosts': [{'name': 's1'}, {'name': 's2'}],
         'ha': {'failover_hosts': ['s2'], 'admission_control': False}},
    ],
    'datastores': [
        _ds('gold-a', 100, 80, ['h1', 'h3']),
        _ds('gold-b', 100, 90, ['h2']),
        # Reachable only through the failover host: not eligible.
        _ds('gold-failover-only', 500, 500, ['h3']),
        _ds('silver-s2', 200, 150, ['s2']),
    ],
}]}


@pytest.fixture(scope='module')
def make(sim, cinder_db):
    # Eager create (vmware_lazy_create=False): these tests check where
    # create_volume put the backing.
    with fx.drivers(sim, vmware_cluster_name=[],
                    vmware_lazy_create=False) as make:
        yield make


def test_the_cache_reads_the_failover_hosts(sim, inv):
    session = sim.session()
    cache = inventory_cache.InventoryCache(session)
    try:
        model = cache.refresh()
    finally:
        cache.close()
    clusters = {c.name: c for c in model.clusters.values()}
    hosts = {h.ref: h.name for h in model.hosts.values()}
    assert {hosts[r] for r in clusters['gold'].failover_hosts} == {'h3'}
    # Admission control off: vSphere HA reserves no host.
    assert clusters['silver'].failover_hosts == frozenset()
    gold = clusters['gold']
    assert {hosts[r] for r in eligibility.usable_hosts(gold, model)} == {
        'h1', 'h2'}
    by_name = {d.name: d for d in model.datastores.values()}
    rules = eligibility.Rules()
    assert eligibility.cluster_ineligibility_reason(
        by_name['gold-failover-only'], gold, model, rules) == (
            eligibility.FAILOVER_ONLY)
    assert eligibility.cluster_ineligibility_reason(
        by_name['gold-a'], gold, model, rules) is None


def test_a_datastore_only_failover_hosts_reach_is_not_in_the_pool(make):
    pools = fx.pools_by_name(make())
    assert pools['gold']['datastore_count'] == 2
    assert pools['gold']['total_capacity_gb'] == 200.0
    assert pools['gold']['free_capacity_gb'] == 170.0
    assert pools['gold']['largest_datastore_free_gb'] == 90.0
    assert pools['silver']['datastore_count'] == 1


def test_datastore_mode_drops_it_too(make):
    pools = fx.pools_by_name(make(vmware_pool_mode='datastore'))
    assert sorted(pools) == ['gold-a', 'gold-b', 'silver-s2']


def test_no_backing_lands_on_a_failover_host(make, sim, inv, ctx):
    # Eager create: the backing (and so its host) exists at once.
    drv = make(vmware_lazy_create=False)
    host_names = {ref: v['name']
                  for ref, v in inv.objects('HostSystem', 'name').items()}
    placed = set()
    for _ in range(6):
        volume = fx.new_volume(ctx, size=1, host='functional@vmware#gold')
        drv.create_volume(volume)
        vm = inv.vm(volume['name'])
        host = inv.prop(vm, 'runtime.host')
        placed.add(host_names[host.value])
    assert placed and 'h3' not in placed
    # Every host placement may pick from is one vCenter will run it on.
    _inventory, pool = drv._pools.find('gold')
    assert {host_names[r] for r in pool.host_refs} == {'h1', 'h2'}

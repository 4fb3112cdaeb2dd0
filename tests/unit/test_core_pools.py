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
"""Pure tests of eligibility, pool figures and placement (no simulator)."""

import pytest

from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.core import model
from cinder_vmware_ext.core import placement
from cinder_vmware_ext.core import pools

GiB = model.GiB


def ds(ref, free_gb, capacity_gb=100, hosts=('h1',), **kw):
    mounts = kw.pop('mounts', None)
    if mounts is None:
        mounts = tuple(model.HostMount(h) for h in hosts)
    return model.Datastore(ref=ref, name=kw.pop('name', ref),
                           type=kw.pop('type', 'VMFS'),
                           capacity=int(capacity_gb * GiB),
                           free_space=int(free_gb * GiB), mounts=mounts, **kw)


def inventory(datastores, hosts=None, clusters=None):
    hosts = hosts or [model.Host('h1', 'esx-1', cluster='c1')]
    clusters = clusters or [model.Cluster('c1', 'gold', 'DC1',
                                          tuple(h.ref for h in hosts))]
    return model.Inventory(clusters={c.ref: c for c in clusters},
                           hosts={h.ref: h for h in hosts},
                           datastores={d.ref: d for d in datastores})


def reasons(datastore, inv, rules=eligibility.Rules()):
    cluster = next(iter(inv.clusters.values()))
    return eligibility.ineligibility_reason(
        datastore, eligibility.usable_hosts(cluster, inv), rules)


class TestEligibility(object):
    def test_plain_datastore_is_eligible(self):
        d = ds('d1', 10)
        assert reasons(d, inventory([d])) is None

    @pytest.mark.parametrize('kw, expected', [
        (dict(accessible=False), 'not accessible'),
        (dict(maintenance_mode='inMaintenance'), 'inMaintenance'),
        (dict(maintenance_mode='enteringMaintenance'), 'enteringMaintenance'),
        (dict(type='OTHER'), 'type OTHER'),
        (dict(capacity_gb=0), 'no capacity'),
        (dict(mounts=(model.HostMount('h1', access_mode='readOnly'),)),
         'read-write'),
        (dict(mounts=(model.HostMount('h1', accessible=False),)),
         'read-write'),
        (dict(mounts=(model.HostMount('h1', mounted=False),)), 'read-write'),
        (dict(mounts=(model.HostMount('other-cluster-host'),)), 'read-write'),
    ])
    def test_each_rule(self, kw, expected):
        d = ds('d1', 10, **kw)
        assert expected in reasons(d, inventory([d]))

    @pytest.mark.parametrize('host', [
        model.Host('h1', 'esx-1', 'c1', in_maintenance=True),
        model.Host('h1', 'esx-1', 'c1', connection_state='disconnected'),
        model.Host('h1', 'esx-1', 'c1', connection_state='notResponding'),
    ])
    def test_only_usable_hosts_count(self, host):
        d = ds('d1', 10)
        assert 'read-write' in reasons(d, inventory([d], hosts=[host]))

    def test_one_good_host_is_enough(self):
        hosts = [model.Host('h1', 'a', 'c1', in_maintenance=True),
                 model.Host('h2', 'b', 'c1')]
        d = ds('d1', 10, mounts=(model.HostMount('h1'),
                                 model.HostMount('h2')))
        assert reasons(d, inventory([d], hosts=hosts)) is None

    def test_regex_matches_from_start(self):
        rules = eligibility.Rules.from_config(regex='gold-.*')
        assert reasons(ds('d1', 1, name='gold-1'),
                       inventory([]), rules) is None
        assert 'regex' in reasons(ds('d1', 1, name='x-gold-1'),
                                  inventory([]), rules)

    def test_type_match_is_case_insensitive(self):
        assert reasons(ds('d1', 1, type='vsan'), inventory([])) is None
        assert reasons(ds('d1', 1, type='NFS41'), inventory([])) is None
        rules = eligibility.Rules.from_config(types=['nfs'])
        assert 'type VMFS' in reasons(ds('d1', 1), inventory([]), rules)

    def test_profile_compliance(self):
        rules = eligibility.Rules.from_config(compliant=['d2'])
        assert 'vmware_storage_profile' in reasons(ds('d1', 1),
                                                   inventory([]), rules)
        assert reasons(ds('d2', 1), inventory([]), rules) is None


class TestCapacity(object):
    def test_ten_scraps_do_not_make_room(self):
        scraps = [ds('d%d' % i, 1) for i in range(10)]
        inv = inventory(scraps)
        pool, = pools.cluster_pools(list(inv.clusters.values()), inv,
                                    eligibility.Rules())
        figures = pools.capacity(pool, inv)
        assert figures.free_gb == 10
        assert figures.largest_free_gb == 1
        assert figures.datastore_count == 10
        with pytest.raises(placement.NoDatastoreFits) as err:
            placement.choose(pool, 2 * GiB)
        assert 'gold' in str(err.value) and '1.00 GiB' in str(err.value)

    def test_figures_are_floored_and_summed_once(self):
        d1 = ds('d1', 0.019, capacity_gb=1.999)
        d1 = model.Datastore(**{**d1.__dict__, 'uncommitted': GiB // 2})
        d2 = ds('d2', 2.5, capacity_gb=3)
        inv = inventory([d1, d2])
        pool, = pools.cluster_pools(list(inv.clusters.values()), inv,
                                    eligibility.Rules())
        f = pools.capacity(pool, inv)
        assert f.total_gb == 4.99          # 4.999 floored, not rounded up
        assert f.free_gb == 2.51           # 2.519 floored
        assert f.largest_free_gb == 2.5
        # provisioned = capacity - free + uncommitted, summed
        assert f.provisioned_gb == pools.floor_gb(
            int(1.999 * GiB) - int(0.019 * GiB) + GiB // 2 +
            int(3 * GiB) - int(2.5 * GiB))

    def test_held_space_is_not_free(self):
        d = ds('d1', 10)
        inv = inventory([d])
        pool, = pools.cluster_pools(list(inv.clusters.values()), inv,
                                    eligibility.Rules())
        assert pools.capacity(pool, inv, {'d1': 4 * GiB}).free_gb == 6

    def test_shared_datastore_in_each_pool(self):
        hosts = [model.Host('h1', 'a', 'c1'), model.Host('h2', 'b', 'c2')]
        clusters = [model.Cluster('c1', 'gold', 'DC1', ('h1',)),
                    model.Cluster('c2', 'silver', 'DC1', ('h2',))]
        shared = ds('s', 5, hosts=('h1', 'h2'))
        own = ds('o', 7, hosts=('h1',))
        inv = inventory([shared, own], hosts, clusters)
        gold, silver = pools.cluster_pools(clusters, inv, eligibility.Rules())
        assert [d.ref for d in gold.datastores] == ['o', 's']
        assert [d.ref for d in silver.datastores] == ['s']
        assert pools.capacity(gold, inv).shared_datastore_count == 1
        assert pools.capacity(silver, inv).shared_datastore_count == 1
        assert pools.capacity(gold, inv).free_gb == 12

    def test_clashing_cluster_names_get_datacenter_prefix(self):
        hosts = [model.Host('h1', 'a', 'c1'), model.Host('h2', 'b', 'c2')]
        clusters = [model.Cluster('c1', 'gold', 'DC1', ('h1',)),
                    model.Cluster('c2', 'gold', 'DC2', ('h2',))]
        inv = inventory([], hosts, clusters)
        names = [p.name for p in pools.cluster_pools(clusters, inv,
                                                     eligibility.Rules())]
        assert names == ['DC1/gold', 'DC2/gold']
        assert [c.ref for c in pools.select_clusters(inv, ['DC2/gold'])] == [
            'c2']
        assert len(pools.select_clusters(inv, ['gold'])) == 2
        with pytest.raises(ValueError, match='bronze'):
            pools.select_clusters(inv, ['gold', 'bronze'])

    def test_datastore_mode_one_pool_per_eligible_datastore(self):
        good, ro = ds('d1', 3), ds('d2', 4, mounts=(
            model.HostMount('h1', access_mode='readOnly'),))
        inv = inventory([good, ro])
        result = pools.build_pools(pools.DATASTORE_MODE,
                                   list(inv.clusters.values()), inv,
                                   eligibility.Rules())
        assert [(p.name, len(p.datastores)) for p in result] == [('d1', 1)]


class TestPlacement(object):
    def pool(self, *datastores):
        inv = inventory(list(datastores))
        return pools.cluster_pools(list(inv.clusters.values()), inv,
                                   eligibility.Rules())[0]

    def test_best_fit_and_most_free(self):
        pool = self.pool(ds('small', 3), ds('big', 50), ds('tiny', 1))
        assert placement.choose(pool, 2 * GiB).datastore.ref == 'small'
        most_free = placement.choose(pool, 2 * GiB,
                                     policy=placement.MOST_FREE)
        assert most_free.datastore.ref == 'big'

    def test_holds_prevent_overcommit(self):
        pool = self.pool(ds('a', 3), ds('b', 5))
        ledger = placement.SpaceLedger()
        first = placement.choose(pool, 3 * GiB, ledger.held())
        token = ledger.hold(first.datastore.ref, 3 * GiB)
        second = placement.choose(pool, 3 * GiB, ledger.held())
        assert {first.datastore.ref, second.datastore.ref} == {'a', 'b'}
        ledger.hold(second.datastore.ref, 3 * GiB)
        with pytest.raises(placement.NoDatastoreFits):
            placement.choose(pool, 3 * GiB, ledger.held())
        ledger.release(token)
        again = placement.choose(pool, 3 * GiB, ledger.held())
        assert again.datastore.ref == first.datastore.ref

    def test_type_affinity_and_exclusion(self):
        pool = self.pool(ds('v', 10), ds('n', 20, type='NFS'))
        nfs = placement.choose(pool, GiB, allowed_types={'nfs'})
        assert nfs.datastore.ref == 'n'
        assert placement.choose(pool, GiB, excluded={'v'}).datastore.ref == 'n'
        with pytest.raises(placement.NoDatastoreFits, match='0 eligible'):
            placement.choose(pool, GiB, allowed_types={'vsan'})

    def test_choice_names_writable_hosts(self):
        hosts = [model.Host('h1', 'a', 'c1'), model.Host('h2', 'b', 'c1')]
        d = ds('d', 5, mounts=(model.HostMount('h1', access_mode='readOnly'),
                               model.HostMount('h2')))
        inv = inventory([d], hosts)
        pool, = pools.cluster_pools(list(inv.clusters.values()), inv,
                                    eligibility.Rules())
        assert placement.choose(pool, GiB).host_refs == ('h2',)


class TestFailoverHosts(object):
    """vSphere HA's dedicated failover hosts run no VM: not usable."""

    def _inv(self, datastores):
        hosts = [model.Host('h1', 'esx-1', cluster='c1'),
                 model.Host('h2', 'esx-2', cluster='c1')]
        cluster = model.Cluster('c1', 'gold', 'DC1', ('h1', 'h2'),
                                failover_hosts=frozenset(['h2']))
        return inventory(datastores, hosts, [cluster]), cluster

    def test_failover_host_is_not_usable(self):
        inv, cluster = self._inv([])
        assert eligibility.usable_hosts(cluster, inv) == {'h1'}

    def test_datastore_reached_only_through_it_is_not_eligible(self):
        only = ds('d1', 10, hosts=('h2',))
        both = ds('d2', 10, hosts=('h1', 'h2'))
        inv, cluster = self._inv([only, both])
        assert eligibility.cluster_ineligibility_reason(
            only, cluster, inv, eligibility.Rules()) == (
                eligibility.FAILOVER_ONLY)
        assert eligibility.cluster_ineligibility_reason(
            both, cluster, inv, eligibility.Rules()) is None
        [pool] = pools.cluster_pools([cluster], inv, eligibility.Rules())
        assert [d.ref for d in pool.datastores] == ['d2']
        assert pool.host_refs == frozenset(['h1'])

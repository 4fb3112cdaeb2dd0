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
"""Pools against the simulator: figures, eligibility, placement, freshness.

The topology exercises every eligibility rule; expected figures are worked
out by hand from it (GiB), not computed by the code under test.
"""

import os
import shutil
import signal

import pytest

from cinder.volume.drivers.vmware import exceptions as vmdk_exceptions
from oslo_vmware import vim_util

from tests.functional import driver_fixtures as fx

GiB = 1024 ** 3


def _ds(name, type_, cap, free, mounts, unc=0, **kw):
    d = {'name': name, 'type': type_, 'capacity_gb': cap, 'free_gb': free,
         'uncommitted_gb': unc, 'mounts': mounts}
    d.update(kw)
    return d


TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [
        {'name': 'gold', 'hosts': [
            {'name': 'g1'},
            {'name': 'g2', 'maintenance': True},
            {'name': 'g3', 'connection_state': 'disconnected'}]},
        {'name': 'silver', 'hosts': [{'name': 's1'}, {'name': 's2'}]},
    ],
    'datastores': [
        _ds('gold-vmfs', 'VMFS', 100, 60, [{'host': 'g1'}], unc=10),
        _ds('shared-nfs', 'NFS', 200, 150, [{'host': 'g1'}, {'host': 's1'}]),
        _ds('gold-ro', 'VMFS', 50, 40,
            [{'host': 'g1', 'access_mode': 'readOnly'}]),
        _ds('gold-lost-mount', 'VMFS', 50, 45,
            [{'host': 'g1', 'accessible': False}]),
        _ds('gold-maint-host', 'VMFS', 30, 20, [{'host': 'g2'}]),
        _ds('gold-disc-host', 'VMFS', 30, 25, [{'host': 'g3'}]),
        _ds('gold-inaccessible', 'VMFS', 80, 70, [{'host': 'g1'}],
            accessible=False),
        _ds('gold-ds-maint', 'VMFS', 80, 70, [{'host': 'g1'}],
            maintenance_mode='inMaintenance'),
        _ds('gold-entering', 'VMFS', 80, 70, [{'host': 'g1'}],
            maintenance_mode='enteringMaintenance'),
        _ds('silver-nfs41', 'NFS41', 300, 280.5,
            [{'host': 's1'}, {'host': 's2'}]),
        _ds('silver-vsan', 'vsan', 400, 100, [{'host': 's2'}], unc=50),
        _ds('silver-other', 'OTHER', 500, 500, [{'host': 's1'}]),
    ],
}]}

# Worked out by hand from TOPOLOGY.
GOLD = {'datastore_count': 2, 'total_capacity_gb': 300.0,
        'free_capacity_gb': 210.0,
        'provisioned_capacity_gb': (100 - 60 + 10) + (200 - 150),
        'largest_datastore_free_gb': 150.0, 'shared_datastore_count': 1}
SILVER = {'datastore_count': 3, 'total_capacity_gb': 900.0,
          'free_capacity_gb': 530.5,
          'provisioned_capacity_gb': 50 + 19.5 + 350,
          'largest_datastore_free_gb': 280.5, 'shared_datastore_count': 1}


@pytest.fixture
def sim(start_simulator):
    return start_simulator(TOPOLOGY)


@pytest.fixture
def make(sim, tmp_path):
    fx.init_cinder(str(tmp_path))
    # Eager create (vmware_lazy_create=False): these tests check where
    # create_volume put the backing.
    with fx.drivers(sim, vmware_cluster_name=[],
                    vmware_lazy_create=False) as make:
        yield make


def figures(pool):
    return {k: pool[k] for k in GOLD}


def backing_datastore(sim, volume):
    session = sim.session()
    backing = session.invoke_api(
        vim_util, 'get_object_property', session.vim,
        _backing_ref(session, volume), 'datastore')
    ref = backing.ManagedObjectReference[0]
    return session.invoke_api(vim_util, 'get_object_property', session.vim,
                              ref, 'name')


def _backing_ref(session, volume):
    result = session.invoke_api(
        vim_util, 'get_objects', session.vim, 'VirtualMachine', 100, ['name'])
    for obj in result.objects:
        if obj.propSet[0].val == volume['name']:
            return obj.obj
    raise AssertionError('no backing named %s' % volume['name'])


def test_one_pool_per_cluster_with_hand_computed_figures(make):
    drv = make()
    pools = fx.pools_by_name(drv)
    assert sorted(pools) == ['gold', 'silver']
    assert figures(pools['gold']) == GOLD
    assert figures(pools['silver']) == SILVER
    gold = pools['gold']
    assert gold['thin_provisioning_support'] is True
    assert gold['thick_provisioning_support'] is True
    assert gold['location_info'].endswith(':gold')
    assert gold['location_info'] != pools['silver']['location_info']


def test_configured_clusters_only_and_unknown_cluster(make):
    assert sorted(fx.pools_by_name(make(vmware_cluster_name=['silver']))) == [
        'silver']
    with pytest.raises(Exception) as err:
        make(vmware_cluster_name=['bronze'])
    assert 'bronze' in str(err.value)


def test_regex_narrows_every_pool(make):
    pools = fx.pools_by_name(make(vmware_datastore_regex='(gold|shared)-'))
    assert pools['gold']['datastore_count'] == 2
    assert pools['silver']['datastore_count'] == 1
    assert pools['silver']['free_capacity_gb'] == 150.0


def test_datastore_mode_lists_each_eligible_datastore_once(make):
    pools = fx.pools_by_name(make(vmware_pool_mode='datastore'))
    assert sorted(pools) == ['gold-vmfs', 'shared-nfs', 'silver-nfs41',
                             'silver-vsan']
    assert pools['silver-nfs41']['free_capacity_gb'] == 280.5
    assert pools['silver-nfs41']['largest_datastore_free_gb'] == 280.5


def test_default_filter_and_goodness_functions(make):
    drv = make()
    assert 'largest_datastore_free_gb' in drv.get_default_filter_function()
    assert drv.get_default_goodness_function()


def test_stats_follow_changes_in_vcenter(make, sim):
    drv = make()
    assert fx.pools_by_name(drv)['gold']['free_capacity_gb'] == 210.0
    sim.set_datastore('gold-vmfs', free_gb=5.5)
    assert fx.pools_by_name(drv)['gold']['free_capacity_gb'] == 155.5
    sim.set_datastore('shared-nfs', maintenance_mode='enteringMaintenance')
    pools = fx.pools_by_name(drv)
    assert pools['gold']['datastore_count'] == 1
    assert pools['silver']['datastore_count'] == 2
    sim.set_mount('gold-ro', 'g1', access_mode='readWrite')
    assert fx.pools_by_name(drv)['gold']['datastore_count'] == 2
    sim.set_host('g1', connection_state='disconnected')
    assert fx.pools_by_name(drv)['gold']['datastore_count'] == 0
    assert fx.pools_by_name(drv)['gold']['free_capacity_gb'] == 0


def test_warm_refresh_is_one_round_trip(make, sim):
    drv = make()
    drv.get_volume_stats(refresh=True)
    sim.reset_stats()
    drv.get_volume_stats(refresh=True)
    assert sim.request_counts() == {'WaitForUpdatesEx': 1}


def test_placement_stays_in_the_pool_and_fits(make, sim, tmp_path):
    drv = make()
    ctx = fx.admin_context()
    # 100 GiB fits only on shared-nfs in gold (gold-vmfs has 60 free).
    big = fx.new_volume(ctx, size=100, host='functional@vmware#gold')
    drv.create_volume(big)
    assert backing_datastore(sim, big) == 'shared-nfs'
    # Best fit: 10 GiB goes to gold-vmfs (60 free) rather than shared-nfs.
    small = fx.new_volume(ctx, size=10, host='functional@vmware#gold')
    drv.create_volume(small)
    assert backing_datastore(sim, small) == 'gold-vmfs'
    # In silver the same 10 GiB goes to silver-vsan (100 free, best fit).
    other = fx.new_volume(ctx, size=10, host='functional@vmware#silver')
    drv.create_volume(other)
    assert backing_datastore(sim, other) == 'silver-vsan'


def test_nothing_fits_names_pool_size_and_largest_free(make, sim):
    drv = make()
    ctx = fx.admin_context()
    vol = fx.new_volume(ctx, size=200, host='functional@vmware#gold')
    with pytest.raises(vmdk_exceptions.NoValidDatastoreException) as err:
        drv.create_volume(vol)
    message = str(err.value)
    assert 'gold' in message and '200.00 GiB' in message
    assert '150.00 GiB' in message


def test_get_pool_for_volumes_created_before(make, sim):
    legacy = make(vmware_cluster_name=['silver'])
    ctx = fx.admin_context()
    vol = fx.new_volume(ctx, size=1, host='functional@vmware')
    legacy.create_volume(vol)       # no pool in its host, as before pools
    drv = make()
    pool = drv.get_pool(vol)
    assert pool == 'silver'
    assert backing_datastore(sim, vol) in ('shared-nfs', 'silver-nfs41',
                                           'silver-vsan')
    missing = fx.new_volume(ctx, size=1, host='functional@vmware#gold')
    assert drv.get_pool(missing) is None


def test_real_driver_filter_keeps_volumes_off_pools_that_cannot_hold(make):
    from tests import scheduler_helpers as sched
    stats = make().get_volume_stats(refresh=True)
    assert sched.driver_filter_passes(stats, 'gold', 150)
    assert not sched.driver_filter_passes(stats, 'gold', 151)
    assert sched.driver_filter_passes(stats, 'silver', 280)
    assert sched.goodness(stats, 'silver', 10) > sched.goodness(
        stats, 'gold', 10)
    assert sched.goodness(stats, 'gold', 151) == 0


def test_stats_survive_a_lost_session(make, sim):
    drv = make()
    before = fx.pools_by_name(drv)['gold']
    cache = drv._pools._cache
    rebuilds = cache.rebuilds
    sim.invalidate_sessions()
    sim.set_datastore('gold-vmfs', free_gb=30)
    after = fx.pools_by_name(drv)['gold']
    assert cache.rebuilds == rebuilds + 1
    assert after['free_capacity_gb'] == before['free_capacity_gb'] - 30


def test_concurrent_creates_do_not_overcommit_a_datastore(make, sim):
    import threading
    drv = make()
    ctx = fx.admin_context()
    # gold: gold-vmfs 60 free, shared-nfs 150 free.  Best fit sends a
    # thick 40 GiB volume to gold-vmfs; a second one at the same time must
    # not be promised the same 60 GiB.  (Thin disks take their size from
    # uncommitted space, not free space, and promise it the same way.)
    thick = fx.volume_type(ctx, vmdk_type='thick')
    vols = [fx.new_volume(ctx, size=40, type_id=thick,
                          host='functional@vmware#gold') for _ in range(2)]
    sim.add_latency(1500, method='CreateVM_Task', count=2)
    errors = []

    def create(vol):
        try:
            drv.create_volume(vol)
        except Exception as err:  # surfaced below
            errors.append(err)
    threads = [threading.Thread(target=create, args=(v,)) for v in vols]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sorted(backing_datastore(sim, v) for v in vols) == [
        'gold-vmfs', 'shared-nfs']


def test_closing_the_cache_destroys_its_collector(make):
    from oslo_vmware import exceptions as vexc
    from oslo_vmware import vim_util
    drv = make()
    cache = drv._pools._cache
    cache.refresh()
    collector = vim_util.get_moref(cache._collector, 'PropertyCollector')
    session = drv.session
    assert session.invoke_api(session.vim, 'WaitForUpdatesEx', collector,
                              version='') is not None
    cache.close()
    assert cache._collector is None
    with pytest.raises(vexc.VimException):
        session.invoke_api(session.vim, 'WaitForUpdatesEx', collector,
                           version='')
    # and the cache reads everything again on its next use
    assert cache.refresh().datastores


def test_unmounted_mount_leaves_the_pool_and_its_shared_count(make, sim):
    drv = make()
    before = fx.pools_by_name(drv)
    assert before['silver']['shared_datastore_count'] == 1
    # g1, gold's only usable host, unmounts shared-nfs: gold loses it, and
    # silver no longer shares it with another cluster.
    sim.set_mount('shared-nfs', 'g1', mounted=False)
    after = fx.pools_by_name(drv)
    assert after['gold']['datastore_count'] == 1
    assert after['gold']['free_capacity_gb'] == 60.0
    assert after['silver']['datastore_count'] == 3
    assert after['silver']['shared_datastore_count'] == 0
    sim.set_mount('shared-nfs', 'g1', mounted=True)
    assert fx.pools_by_name(drv) == before


def test_a_vcenter_gone_is_a_connection_error(make, sim):
    from oslo_vmware import exceptions as vexc
    drv = make()
    cache = drv._pools._cache
    cache.refresh()
    # Killed outright, as a crashed vCenter: its CA file stays readable.
    os.kill(sim.pid, signal.SIGKILL)
    try:
        # Not a raw requests error: callers treat it as any lost vCenter.
        with pytest.raises(vexc.VimConnectionException):
            cache._reader.wait_for_updates(
                cache._collector, cache._version, lambda *args: None)
    finally:
        shutil.rmtree(sim.info['state_dir'], ignore_errors=True)

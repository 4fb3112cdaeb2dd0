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
"""Driver-assisted migration and retype by relocation, on the simulator.

``migrate_volume`` and a cross-pool ``retype`` move the backing VM with one
RelocateVM_Task: its files onto a datastore of the target pool, its host
and resource pool into the target cluster.  The tests read the effects
independently: the backing's datastore, host and resource pool through a
separate oslo.vmware session, its files under the datastore root, the
bytes written into its disk before the move, the datastores' free space.

Topology: pool gold (hosts g1, g2) reaches gold-only and shared; pool
silver (s1, s2) reaches silver-only and shared; pool bronze is in another
datacenter.  Storage profile shared-policy is met by shared only,
gold-policy by gold-only only.  With best_fit placement a small volume
lands on the pool's own datastore (less free space than shared), one
larger than gold-only's free space on shared.
"""

import os

from cinder import exception
from cinder import objects
from cinder.volume import volume_types
from oslo_service import loopingcall
from oslo_utils import units
import pytest

from tests.functional import driver_fixtures as df

GiB = units.Gi
PROJECT = 'demo-project'
OFFSET = 5 * units.Mi

TOPOLOGY = {"datacenters": [
    {"name": "DC1",
     "clusters": [
         {"name": "gold", "hosts": [{"name": "g1"}, {"name": "g2"}]},
         {"name": "silver", "hosts": [{"name": "s1"}, {"name": "s2"}]},
     ],
     "datastores": [
         {"name": "gold-only", "type": "VMFS", "capacity_gb": 100,
          "free_gb": 40, "mounts": [{"host": "g1"}, {"host": "g2"}]},
         {"name": "shared", "type": "NFS", "capacity_gb": 300,
          "free_gb": 150, "mounts": [{"host": "g1"}, {"host": "g2"},
                                     {"host": "s1"}, {"host": "s2"}]},
         {"name": "silver-only", "type": "VMFS", "capacity_gb": 100,
          "free_gb": 50, "mounts": [{"host": "s1"}, {"host": "s2"}]},
     ],
     "storage_profiles": [
         {"name": "shared-policy", "datastores": ["shared"]},
         {"name": "gold-policy", "datastores": ["gold-only"]}]},
    {"name": "DC2",
     "clusters": [{"name": "bronze", "hosts": [{"name": "b1"}]}],
     "datastores": [
         {"name": "bronze-ds", "type": "VMFS", "capacity_gb": 100,
          "free_gb": 90, "mounts": [{"host": "b1"}]}]},
]}
BACKEND = 'functional@vmware'


@pytest.fixture(scope='module')
def coordination(cinder_db, tmp_path_factory):
    """Start Cinder's lock coordinator.

    Cinder's lock coordinator, as cinder-volume starts it (upstream's
    storage profile lookups are synchronized through it).
    """
    from cinder import coordination
    from oslo_config import cfg
    if coordination.COORDINATOR.started:
        yield
        return
    cfg.CONF.set_override('backend_url', 'file://' + str(
        tmp_path_factory.mktemp('coordination')), group='coordination')
    coordination.COORDINATOR.start()
    yield
    coordination.COORDINATOR.stop()
    cfg.CONF.clear_override('backend_url', group='coordination')


@pytest.fixture(scope='module')
def backends(sim, cinder_db, coordination):
    # Lazy create, the default: create_volume attaches each volume once
    # (its backing is made there) before the tests read or write it.
    with df.backends(sim) as get:
        yield get


@pytest.fixture
def driver(backends):
    """One backend with pools gold, silver and bronze."""
    return backends(vmware_cluster_name=[])


@pytest.fixture
def no_faults(sim):
    yield
    sim.clear_faults()


# --- helpers -----------------------------------------------------------------

def target(driver, pool, backend=BACKEND):
    """The ``host`` argument Cinder passes: the pool's reported stats."""
    stats = driver.get_volume_stats(refresh=True)
    (caps,) = [p for p in stats['pools'] if p['pool_name'] == pool]
    return {'host': '%s#%s' % (backend, pool), 'cluster_name': None,
            'capabilities': dict(caps, volume_backend_name=stats[
                'volume_backend_name'])}


def create_volume(driver, ctx, pool='gold', size=1, attach=True, **specs):
    """A volume created as Cinder does, attached once unless told not to.

    ``attach=False``: a lazily created volume without its backing yet.
    """
    vol = df.new_volume(ctx, size=size, type_id=df.volume_type(ctx, **specs),
                        project_id=PROJECT, host='%s#%s' % (BACKEND, pool))
    driver.create_volume(vol)
    if attach:
        df.first_attach(driver, vol)
    return vol


class Placed(object):
    """Where a backing is, read independently of the driver."""

    def __init__(self, inv, volume):
        self.vm = inv.vm(volume.name)
        assert self.vm is not None, volume.name
        self.ds_path = inv.disk(self.vm).backing.fileName
        self.datastore = df.DS_PATH.match(self.ds_path).group('ds')
        self.local = inv.local_path(self.ds_path)
        self.host = inv.name_of(inv.prop(self.vm, 'runtime.host'))
        self.resource_pool = inv.prop(self.vm, 'resourcePool').value
        self.home = inv.prop(self.vm, 'config.files.vmPathName')
        self.thin = inv.disk(self.vm).backing.thinProvisioned


def cluster_pool(inv, name):
    return inv.prop(inv.by_name('ClusterComputeResource', name),
                    'resourcePool').value


def free(inv, ds):
    return inv.summary(ds).freeSpace


def write(placed, seed):
    data = df.pattern(seed)
    df.write_data(placed.local, OFFSET, data)
    return data


def read(inv, placed, length=64 * units.Ki):
    return df.read_data(placed.local, inv.sim.datastore_root, OFFSET, length)


def assert_moved_out(old):
    """No disk file left in the backing's old folder, nor the folder."""
    folder = os.path.dirname(old.local)
    assert not os.path.exists(old.local)
    left = os.listdir(folder) if os.path.isdir(folder) else []
    assert left == [], left


def assert_untouched(inv, volume, before, data):
    now = Placed(inv, volume)
    assert (now.vm.value, now.ds_path, now.host, now.resource_pool) == (
        before.vm.value, before.ds_path, before.host, before.resource_pool)
    assert os.path.isfile(df.data_file(now.local))
    assert read(inv, now) == data


def attach(ctx, volume):
    attachment = objects.VolumeAttachment(
        ctx, volume_id=volume.id, attach_status='attached',
        instance_uuid='6b1e0a38-6fd7-4d3e-8b4e-2f8f3a1c9d10',
        attached_host='nova-compute')
    attachment.create()
    return objects.Volume.get_by_id(ctx, volume.id)


# --- migrate_volume ----------------------------------------------------------

def test_migrate_to_another_pool_relocates_backing(driver, ctx, inv):
    vol = create_volume(driver, ctx, size=1, vmdk_type='thick')
    before = Placed(inv, vol)
    assert (before.datastore, before.host[0]) == ('gold-only', 'g')
    data = write(before, 'migrate')
    free_gold, free_silver = free(inv, 'gold-only'), free(inv, 'silver-only')

    moved, update = driver.migrate_volume(ctx, vol, target(driver, 'silver'))

    assert (moved, update) == (True, {'host': BACKEND + '#silver'})
    after = Placed(inv, vol)
    assert after.vm.value == before.vm.value  # relocated, not copied
    assert after.datastore == 'silver-only'
    assert after.ds_path == '[silver-only] %s/%s.vmdk' % (vol.name, vol.name)
    assert after.home.startswith('[silver-only] %s/' % vol.name)
    assert after.host in ('s1', 's2')
    assert after.resource_pool == cluster_pool(inv, 'silver')
    assert after.thin is False
    assert read(inv, after) == data
    assert_moved_out(before)
    assert free(inv, 'gold-only') - free_gold == GiB
    assert free_silver - free(inv, 'silver-only') == GiB
    vol.host = update['host']
    assert driver.get_pool(vol) == 'silver'


def test_migrate_keeps_a_datastore_the_target_pool_shares(driver, ctx, inv):
    # Larger than gold-only's free space: placed on shared, which silver
    # reaches too; only the host and resource pool move.
    vol = create_volume(driver, ctx, size=45)
    before = Placed(inv, vol)
    assert before.datastore == 'shared'
    data = write(before, 'shared')

    moved, update = driver.migrate_volume(ctx, vol, target(driver, 'silver'))

    assert moved is True
    after = Placed(inv, vol)
    assert (after.vm.value, after.ds_path) == (before.vm.value,
                                               before.ds_path)
    assert after.host in ('s1', 's2')
    assert after.resource_pool == cluster_pool(inv, 'silver')
    assert read(inv, after) == data


def test_migrate_to_another_backend_on_the_same_vcenter(backends, driver,
                                                        ctx, inv):
    gold_backend = backends(vmware_cluster_name=['gold'])
    vol = create_volume(gold_backend, ctx, size=1, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, 'other-backend')

    # The target is a pool of another backend (its stats come from the
    # backend that has silver); this backend does not know pool silver.
    moved, update = gold_backend.migrate_volume(
        ctx, vol, target(driver, 'silver', backend='other@vmware-2'))

    assert (moved, update) == (True, {'host': 'other@vmware-2#silver'})
    after = Placed(inv, vol)
    assert after.vm.value == before.vm.value
    assert (after.datastore, after.host[0]) == ('silver-only', 's')
    assert after.resource_pool == cluster_pool(inv, 'silver')
    assert read(inv, after) == data
    assert_moved_out(before)
    assert driver.get_pool(vol) == 'silver'


@pytest.mark.parametrize('location', [
    'vmware_ext:another-vcenter-uuid:silver',  # another vCenter
    'LVMVolumeDriver:node-1:cinder-volumes:thin:0',  # another driver
    '',
])
def test_migrate_elsewhere_is_left_to_cinder(driver, ctx, inv, location):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, location)
    host = target(driver, 'silver')
    host['capabilities']['location_info'] = location

    assert driver.migrate_volume(ctx, vol, host) == (False, None)
    assert_untouched(inv, vol, before, data)


def test_migrate_to_another_datacenter_is_left_to_cinder(driver, ctx, inv):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, 'dc2')

    assert driver.migrate_volume(ctx, vol, target(driver, 'bronze')) == (
        False, None)
    assert_untouched(inv, vol, before, data)


def test_migrate_in_use_volume_is_left_to_cinder(driver, ctx, inv):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, 'in-use')
    vol = attach(ctx, vol)

    assert driver.migrate_volume(ctx, vol, target(driver, 'silver')) == (
        False, None)
    assert_untouched(inv, vol, before, data)


def test_migrate_without_backing_changes_only_the_host(backends, ctx, inv):
    lazy = backends(vmware_cluster_name=[], vmware_lazy_create=True)
    vol = create_volume(lazy, ctx, attach=False)
    assert inv.vm(vol.name) is None

    assert lazy.migrate_volume(ctx, vol, target(lazy, 'silver')) == (
        True, {'host': BACKEND + '#silver'})
    assert inv.vm(vol.name) is None


def test_migrate_fails_cleanly_when_relocation_fails(driver, ctx, inv, sim,
                                                     no_faults):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, 'fault')
    free_gold, free_silver = free(inv, 'gold-only'), free(inv, 'silver-only')
    sim.inject_fault('RelocateVM_Task', 'FileLocked', task=True,
                     moref=before.vm.value, message='injected relocate fault')

    with pytest.raises(exception.VolumeBackendAPIException,
                       match='injected relocate fault'):
        driver.migrate_volume(ctx, vol, target(driver, 'silver'))

    assert [f['fired'] for f in sim.faults()] == [1]
    assert_untouched(inv, vol, before, data)
    assert (free(inv, 'gold-only'), free(inv, 'silver-only')) == (
        free_gold, free_silver)
    # Nothing half-done: a second try moves it.
    sim.clear_faults()
    assert driver.migrate_volume(ctx, vol, target(driver, 'silver'))[0]
    assert Placed(inv, vol).datastore == 'silver-only'


def linked_clone(driver, ctx, size=1, **specs):
    """(source volume, its linked clone) in pool gold."""
    src = create_volume(driver, ctx, size=size, **specs)
    snap = df.new_snapshot(ctx, src)
    driver.create_snapshot(snap)
    clone = df.new_volume(ctx, size=size, type_id=df.volume_type(
        ctx, clone_type='linked'), project_id=PROJECT,
        host=BACKEND + '#gold')
    driver.create_volume_from_snapshot(clone, snap)
    return src, clone


def test_migrate_linked_clone_whose_parent_stays_behind(driver, ctx, inv):
    _src, clone = linked_clone(driver, ctx, vmdk_type='thick')
    before = Placed(inv, clone)
    parent = df.parent_path(before.local, inv.sim.datastore_root)
    assert parent and '/gold-only/' in parent

    # The parent disk is on gold-only, which silver cannot reach.
    assert driver.migrate_volume(ctx, clone, target(driver, 'silver')) == (
        False, None)
    after = Placed(inv, clone)
    assert (after.vm.value, after.ds_path, after.host) == (
        before.vm.value, before.ds_path, before.host)


def test_migrate_linked_clone_whose_parent_the_target_reaches(driver, ctx,
                                                              inv):
    # 45 GiB: both on shared, which silver mounts too.
    _src, clone = linked_clone(driver, ctx, size=45)
    before = Placed(inv, clone)
    parent = df.parent_path(before.local, inv.sim.datastore_root)
    assert before.datastore == 'shared' and '/shared/' in parent
    data = write(before, 'linked')

    assert driver.migrate_volume(ctx, clone, target(driver, 'silver'))[0]

    after = Placed(inv, clone)
    assert (after.vm.value, after.datastore) == (before.vm.value, 'shared')
    assert after.host in ('s1', 's2')
    assert df.parent_path(after.local, inv.sim.datastore_root) == parent
    assert read(inv, after) == data


def test_retype_of_a_linked_clone_source_is_refused(driver, ctx, inv):
    src, _clone = linked_clone(driver, ctx, vmdk_type='thick')
    before = Placed(inv, src)
    assert before.datastore == 'gold-only'

    # Its base disk is the clone's parent: it would stay on gold-only.
    assert retype(driver, ctx, src, 'silver', vmdk_type='thick') is False
    after = Placed(inv, src)
    assert (after.vm.value, after.ds_path, after.host) == (
        before.vm.value, before.ds_path, before.host)


# --- retype ------------------------------------------------------------------

def retype(driver, ctx, vol, pool, **new_specs):
    new_type_id = df.volume_type(ctx, **new_specs)
    diff, _same = volume_types.volume_types_diff(ctx, vol.volume_type_id,
                                                 new_type_id)
    new_type = volume_types.get_volume_type(ctx, new_type_id)
    return driver.retype(ctx, vol, new_type, diff, target(driver, pool))


def test_retype_to_another_pool_relocates(driver, ctx, inv):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, 'retype')
    free_gold, free_silver = free(inv, 'gold-only'), free(inv, 'silver-only')

    assert retype(driver, ctx, vol, 'silver', vmdk_type='thick') is True

    after = Placed(inv, vol)
    assert after.vm.value == before.vm.value  # relocated, not cloned
    assert (after.datastore, after.host[0]) == ('silver-only', 's')
    assert after.resource_pool == cluster_pool(inv, 'silver')
    assert read(inv, after) == data
    assert_moved_out(before)
    assert free(inv, 'gold-only') - free_gold == GiB
    assert free_silver - free(inv, 'silver-only') == GiB


def test_retype_to_another_pool_converts_disk_type(driver, ctx, inv):
    vol = create_volume(driver, ctx)
    before = Placed(inv, vol)
    assert before.thin is True
    data = write(before, 'convert')
    free_silver = free(inv, 'silver-only')

    assert retype(driver, ctx, vol, 'silver', vmdk_type='thick') is True

    after = Placed(inv, vol)
    assert after.vm.value == before.vm.value
    assert (after.datastore, after.thin) == ('silver-only', False)
    assert read(inv, after) == data
    assert free_silver - free(inv, 'silver-only') == GiB
    assert_moved_out(before)


def test_retype_within_the_pool_stays_upstream(driver, ctx, inv):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, 'same-pool')

    assert retype(driver, ctx, vol, 'gold', vmdk_type='thick') is True
    assert_untouched(inv, vol, before, data)


def test_retype_in_use_volume_across_pools_is_refused(driver, ctx, inv):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, 'retype-in-use')
    vol = attach(ctx, vol)

    assert retype(driver, ctx, vol, 'silver', vmdk_type='thick') is False
    assert_untouched(inv, vol, before, data)


def test_retype_fails_cleanly_when_relocation_fails(driver, ctx, inv, sim,
                                                    no_faults):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, 'retype-fault')
    sim.inject_fault('RelocateVM_Task', 'SystemError', task=True,
                     moref=before.vm.value, message='injected retype fault')

    with pytest.raises(exception.VolumeBackendAPIException,
                       match='injected retype fault'):
        retype(driver, ctx, vol, 'silver', vmdk_type='thick')
    assert_untouched(inv, vol, before, data)


def test_retype_to_another_pool_honours_the_new_storage_profile(driver, ctx,
                                                                inv):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, 'profile')

    # Without the profile silver-only would be chosen (best fit).
    assert retype(driver, ctx, vol, 'silver', vmdk_type='thick',
                  storage_profile='shared-policy') is True

    after = Placed(inv, vol)
    assert after.vm.value == before.vm.value
    assert (after.datastore, after.host[0]) == ('shared', 's')
    assert after.resource_pool == cluster_pool(inv, 'silver')
    assert read(inv, after) == data
    assert_moved_out(before)


def test_retype_to_a_pool_without_compliant_datastore_is_refused(driver, ctx,
                                                                 inv):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    before = Placed(inv, vol)
    data = write(before, 'no-compliant')

    assert retype(driver, ctx, vol, 'silver', vmdk_type='thick',
                  storage_profile='gold-policy') is False
    assert_untouched(inv, vol, before, data)


# --- pools of single datastores ----------------------------------------------

def test_migrate_between_datastore_pools(backends, ctx, inv):
    drv = backends(vmware_cluster_name=[], vmware_pool_mode='datastore')
    vol = create_volume(drv, ctx, pool='gold-only', vmdk_type='thick')
    before = Placed(inv, vol)
    assert before.datastore == 'gold-only'
    data = write(before, 'datastore-pools')

    # To shared: gold's hosts reach it, so only the files move.
    assert drv.migrate_volume(ctx, vol, target(drv, 'shared')) == (
        True, {'host': BACKEND + '#shared'})
    on_shared = Placed(inv, vol)
    assert (on_shared.vm.value, on_shared.datastore, on_shared.host) == (
        before.vm.value, 'shared', before.host)
    assert_moved_out(before)

    # To silver-only: files and host move.
    assert drv.migrate_volume(ctx, vol, target(drv, 'silver-only'))[0]
    after = Placed(inv, vol)
    assert (after.vm.value, after.datastore) == (before.vm.value,
                                                 'silver-only')
    assert after.host in ('s1', 's2')
    assert after.resource_pool == cluster_pool(inv, 'silver')
    assert read(inv, after) == data
    assert_moved_out(on_shared)


# --- adapter type change across pools: detach, attach, never disk-less ------

@pytest.fixture
def fast_retries(monkeypatch):
    """oslo.vmware waits 10 s before retrying a call; make that 50 ms."""
    original = loopingcall.RetryDecorator

    class Fast(original):
        def __init__(self, max_retry_count=-1, inc_sleep_time=10,
                     max_sleep_time=60, exceptions=()):
            super().__init__(max_retry_count, 0.05, 0.1, exceptions)

    monkeypatch.setattr(loopingcall, 'RetryDecorator', Fast)


def controller_of(inv, vm):
    devices = df.array(inv.prop(vm, 'config.hardware.device'),
                       'VirtualDevice')
    key = inv.disk(vm).controllerKey
    return next(d.__class__.__name__ for d in devices if d.key == key)


def test_retype_adapter_change_survives_a_lost_detach_answer(
        driver, ctx, inv, sim, no_faults, fast_retries):
    vol = create_volume(driver, ctx)
    before = Placed(inv, vol)
    data = write(before, 'adapter-lost')
    # The detach runs, its answer is lost, a retry is refused as vCenter
    # refuses the removal of a device that is gone.
    match = dict(moref=before.vm.value, body_contains='>remove<')
    sim.inject_fault('ReconfigVM_Task', drop_connection=True, applied=True,
                     count=1, **match)
    sim.inject_fault('ReconfigVM_Task', 'InvalidDeviceSpec', task=True,
                     count=1, **match)

    assert retype(driver, ctx, vol, 'silver', adapter_type='paraVirtual')

    after = Placed(inv, vol)
    assert after.datastore == 'silver-only'
    assert controller_of(inv, after.vm) == 'ParaVirtualSCSIController'
    assert read(inv, after) == data


def test_retype_adapter_change_failed_attach_keeps_the_disk(
        driver, ctx, inv, sim, no_faults):
    vol = create_volume(driver, ctx)
    before = Placed(inv, vol)
    data = write(before, 'adapter-refused')
    sim.inject_fault('ReconfigVM_Task', 'InvalidDeviceSpec', task=True,
                     count=1, moref=before.vm.value,
                     body_contains='ParaVirtualSCSIController')

    with pytest.raises(Exception, match='InvalidDeviceSpec'):
        retype(driver, ctx, vol, 'silver', adapter_type='paraVirtual')

    after = Placed(inv, vol)
    assert controller_of(inv, after.vm) == 'VirtualLsiLogicController'
    assert read(inv, after) == data

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
"""The takeover when vCenter applies a call and its answer is lost.

oslo.vmware retries a call whose connection dropped; the retry then finds
the call's effect (no file to delete, no device to remove) and fails.
These tests make the simulator do that (``drop_connection`` with
``applied``, then the refusal vCenter would give) and check, with reads
the driver does not make (the simulator's files, an independent session),
that no disk is lost, doubled or left without its VM.  Also: one disk
managed ten times at once from two drivers becomes one volume.
"""

import concurrent.futures
import os
import traceback

import pytest

pytest.importorskip('tests.functional.driver_fixtures')

from cinder import exception  # noqa: E402
from oslo_service import loopingcall  # noqa: E402

from cinder_vmware_ext.takeover import adopt  # noqa: E402
from cinder_vmware_ext.takeover import safety  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402

HOSTS = [{'host': 'esx-01'}]
SILVER = 6     # loose disks on ds-silver, each managed into gold (a copy)
LOOSE = 2      # loose disks on ds-gold
VMS = 3        # powered-off VMs with one disk on ds-gold
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'}]},
                 {'name': 'silver', 'hosts': [{'name': 'esx-03'}]}],
    'datastores': [
        {'name': 'ds-gold', 'type': 'VMFS', 'capacity_gb': 500,
         'free_gb': 400, 'mounts': HOSTS},
        {'name': 'ds-silver', 'type': 'NFS', 'capacity_gb': 500,
         'free_gb': 400, 'mounts': [{'host': 'esx-03'}]}],
    'vms': [
        {'name': 'vm-off-%d' % i, 'host': 'esx-01',
         'power_state': 'poweredOff',
         'disks': [{'datastore': 'ds-gold',
                    'path': 'vm-off-%d/vm-off-%d.vmdk' % (i, i),
                    'capacity_gb': 1, 'thin': True}]}
        for i in range(1, VMS + 1)],
    'files': [
        {'datastore': 'ds-silver', 'path': 'far-%d/silver disk.vmdk' % i,
         'capacity_gb': 1, 'thin': True} for i in range(1, SILVER + 1)] + [
        {'datastore': 'ds-gold', 'path': 'loose-%d/disk.vmdk' % i,
         'capacity_gb': 1, 'thin': True} for i in range(1, LOOSE + 1)],
}]}

OPTIONS = dict(vmware_cluster_name=['gold', 'silver'],
               vmware_datastore_regex='^ds-(gold|silver)$')
HOST = 'functional@vmware'


@pytest.fixture(scope='module')
def drivers(sim, cinder_db):
    """Two drivers of one backend, as two cinder-volume services."""
    made = []
    try:
        for _ in range(2):
            made.append(fx.make_driver(sim, **OPTIONS))
        yield made
    finally:
        for drv in made:
            fx.close_driver(drv)


class Disks(object):
    """Hands each test its own disks of the module's simulator."""

    def __init__(self):
        self._next = {'silver': 0, 'loose': 0, 'vm': 0}

    def _take(self, kind, count):
        self._next[kind] += 1
        assert self._next[kind] <= count, 'raise the count of %s' % kind
        return self._next[kind]

    def silver(self):
        return '[ds-silver] far-%d/silver disk.vmdk' % self._take(
            'silver', SILVER)

    def loose(self):
        return '[ds-gold] loose-%d/disk.vmdk' % self._take('loose', LOOSE)

    def vm(self):
        return 'vm-off-%d' % self._take('vm', VMS)


@pytest.fixture(scope='module')
def disks():
    return Disks()


@pytest.fixture
def env(sim, inv, drivers, disks, monkeypatch):
    """Give the simulator, driver and inventory, with fast retries.

    (sim, driver, inventory); no fault rule of an earlier test, and
    oslo.vmware's 10 s wait before retrying a dropped call made 50 ms.
    """
    original = loopingcall.RetryDecorator

    class Fast(original):
        def __init__(self, max_retry_count=-1, inc_sleep_time=10,
                     max_sleep_time=60, exceptions=()):
            super().__init__(max_retry_count, 0.05, 0.1, exceptions)

    monkeypatch.setattr(loopingcall, 'RetryDecorator', Fast)
    sim.clear_faults()
    yield sim, drivers[0], inv
    sim.clear_faults()


def volume(size=1, pool='gold'):
    return fx.new_volume(fx.admin_context(), size=size,
                         host='%s#%s' % (HOST, pool))


def data_of(inv, ds_path, length=1 << 20):
    """The first ``length`` bytes of a disk's data file."""
    with open(fx.data_file(inv.local_path(ds_path)), 'rb') as f:
        return f.read(length)


def shadow_disk(inv, vol):
    vm = inv.vm(vol.name)
    assert vm is not None, inv.vm_names()
    assert inv.extra_config(vm)['cinder.volume.id'] == vol.id
    return inv.disk(vm).backing.fileName


def _gold(ds_path):
    return ds_path.replace('[ds-silver]', '[ds-gold]')


def lose_answer(sim, method, retry_fault=None, **match):
    """Lose the answer of the next call.

    vCenter runs the next ``method``, the answer is lost; its retry
    (oslo.vmware's) gets ``retry_fault`` as a task fault, if given.
    """
    sim.inject_fault(method, drop_connection=True, applied=True, count=1,
                     **match)
    if retry_fault:
        sim.inject_fault(method, retry_fault, task=True, count=1,
                         message='%s (the retry of a call vCenter ran)'
                         % retry_fault, **match)


def fired(sim):
    return [r['fired'] for r in sim.faults()]


# -- manage from another pool: copy, then delete the source ------------------

def test_lost_answer_on_source_delete_is_success(env, disks):
    """Check that a lost source delete answer is a success.

    The source delete runs, its answer is lost, the retry finds no file:
    the copy is the disk now (the old code rolled back and deleted it).
    """
    sim, drv, inv = env
    path = disks.silver()
    fx.write_data(inv.local_path(path), 0, fx.pattern(11))
    data = data_of(inv, path)
    vol = volume()
    lose_answer(sim, 'DeleteVirtualDisk_Task')

    drv.manage_existing(vol, {'source-name': path})

    assert fired(sim) == [1]
    copy = shadow_disk(inv, vol)
    assert copy == '[ds-gold] %s/%s.vmdk' % (vol.name, vol.name)
    assert data_of(inv, copy) == data
    assert not os.path.exists(inv.local_path(path))


def test_copy_kept_while_the_source_cannot_be_verified(env, disks):
    """Check that the copy stays while the source is unclear.

    The source delete fails and vCenter cannot say what is left of the
    source: the copy stays, and the error says so.
    """
    sim, drv, inv = env
    path = disks.silver()
    fx.write_data(inv.local_path(path), 0, fx.pattern(12))
    data = data_of(inv, path)
    vol = volume()
    sim.inject_fault('DeleteVirtualDisk_Task', 'SystemError', task=True,
                     count=1, message='injected: delete refused')
    # The source's folder is searched to resolve the reference, again
    # under the disk's lock, and before the copy; every later look fails.
    folder = path.split('] ')[1].split('/')[0]
    sim.inject_fault('SearchDatastore_Task', 'SystemError', task=True,
                     skip=3, body_contains=folder,
                     message='injected: search refused')

    with pytest.raises(exception.VolumeBackendAPIException) as raised:
        drv.manage_existing(vol, {'source-name': path})

    message = str(raised.value)
    assert 'delete refused' in message and 'kept the copy' in message
    assert 'left as it was' not in message
    copy = '[ds-gold] %s/%s.vmdk' % (vol.name, vol.name)
    assert data_of(inv, copy) == data
    assert data_of(inv, path) == data
    sim.clear_faults()
    # The operator's way out: the shadow VM (no disk, no data lost) is
    # refused destruction while its folder holds the copy.
    shadow = inv.vm(vol.name)
    assert shadow is not None and inv.disks(shadow) == []
    with pytest.raises(RuntimeError, match='still holds disk files'):
        adopt.destroy_shadow(inv.session, shadow)
    assert data_of(inv, copy) == data


def test_source_intact_after_a_refused_delete_rolls_back(env, disks):
    sim, drv, inv = env
    path = disks.silver()
    fx.write_data(inv.local_path(path), 0, fx.pattern(13))
    data = data_of(inv, path)
    vol = volume()
    sim.inject_fault('DeleteVirtualDisk_Task', 'SystemError', task=True,
                     count=1, message='injected: delete refused')
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='left as it was'):
        drv.manage_existing(vol, {'source-name': path})
    assert inv.vm(vol.name) is None
    assert data_of(inv, path) == data
    assert not os.path.exists(sim.datastore_path('ds-gold', vol.name))


# -- unmanage retried after a half-failure -----------------------------------

def test_unmanage_retried_after_failed_move_and_reattach(env, disks):
    """Check an unmanage retried after a failed move and reattach.

    The move out of the shadow's folder fails and so does putting the
    disk back on the shadow VM: the disk is detached in the shadow's
    folder.  Retrying the unmanage gives it back (the old code destroyed
    the shadow VM, and the disk with its folder, and reported success).
    """
    sim, drv, inv = env
    path = disks.silver()
    fx.write_data(inv.local_path(path), 0, fx.pattern(14))
    data = data_of(inv, path)
    vol = volume()
    drv.manage_existing(vol, {'source-name': path})
    copy = shadow_disk(inv, vol)

    sim.inject_fault('MoveVirtualDisk_Task', 'SystemError', task=True,
                     count=1)
    sim.inject_fault('ReconfigVM_Task', 'SystemError', task=True, count=1,
                     skip=1)   # the detach passes, the re-attach fails
    with pytest.raises(Exception):
        drv.unmanage(vol)
    assert fired(sim) == [1, 1]
    shadow = inv.vm(vol.name)
    assert inv.disks(shadow) == [] and data_of(inv, copy) == data
    with pytest.raises(RuntimeError, match='still holds disk files'):
        adopt.destroy_shadow(inv.session, shadow)
    sim.clear_faults()

    drv.unmanage(vol)

    assert inv.vm(vol.name) is None
    assert data_of(inv, _gold(path)) == data
    assert not os.path.exists(inv.local_path(copy))


def test_unmanage_with_a_lost_detach_answer(env, disks):
    sim, drv, inv = env
    path = disks.silver()
    fx.write_data(inv.local_path(path), 0, fx.pattern(15))
    data = data_of(inv, path)
    vol = volume()
    drv.manage_existing(vol, {'source-name': path})
    lose_answer(sim, 'ReconfigVM_Task', 'InvalidDeviceSpec')

    drv.unmanage(vol)

    assert fired(sim) == [1, 1]
    assert inv.vm(vol.name) is None
    assert data_of(inv, _gold(path)) == data


# -- taking a disk off its VM -------------------------------------------------

def _vm_disks(inv, name):
    return [(d.backing.fileName, d.controllerKey, d.unitNumber)
            for d in inv.disks(inv.vm(name))]


def test_lost_detach_answer_then_rollback_gives_the_disk_back(env, disks):
    """Check that a rollback gives back a disk after a lost detach.

    The detach from the source VM runs, its answer is lost and the retry
    is refused; a later step fails: the rollback puts the disk back (the
    old code registered the re-attach only after a detach that returned).
    """
    sim, drv, inv = env
    name = disks.vm()
    path = '[ds-gold] %s/%s.vmdk' % (name, name)
    before = _vm_disks(inv, name)
    data = data_of(inv, path)
    vol = volume()
    lose_answer(sim, 'ReconfigVM_Task', 'InvalidDeviceSpec')
    sim.inject_fault('ReconfigVM_Task', 'SystemError', task=True, count=1,
                     body_contains='>add<', message='injected: attach')
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='(?s)injected: attach.*left as it was'):
        drv.manage_existing(vol, {'source-name': '%s@DC1/vm/%s'
                                  % (path, name)})
    assert fired(sim) == [1, 1, 1]
    assert _vm_disks(inv, name) == before
    assert inv.vm(vol.name) is None
    assert data_of(inv, path) == data


def test_lost_detach_answer_is_a_detach(env, disks):
    sim, drv, inv = env
    name = disks.vm()
    path = '[ds-gold] %s/%s.vmdk' % (name, name)
    vol = volume()
    lose_answer(sim, 'ReconfigVM_Task', 'InvalidDeviceSpec')
    drv.manage_existing(vol, {'source-name': '%s@DC1/vm/%s' % (path, name)})
    assert fired(sim) == [1, 1]
    assert _vm_disks(inv, name) == []
    assert shadow_disk(inv, vol) == path


# -- one disk, one volume -----------------------------------------------------

@pytest.fixture
def green_suds(monkeypatch):
    """Run suds' message building and reply parsing one at a time.

    cinder-volume runs driver calls in green threads, which never switch
    inside that pure-CPU work; a suds Binding keeps per-reply state
    (``multiref``), so OS threads sharing a driver's session mix up replies
    (a RetrievePropertiesEx answered with another thread's task).  A lock
    around those two steps gives OS threads what green threads have; the
    SOAP round trips still overlap.
    """
    import threading

    from suds.bindings import binding
    lock = threading.RLock()
    for name in ('get_message', 'get_reply'):
        original = getattr(binding.Binding, name)

        def locked(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)
        monkeypatch.setattr(binding.Binding, name, locked)


def test_concurrent_manages_of_one_disk_make_one_volume(env, drivers, disks,
                                                        coordination,
                                                        green_suds):
    """Check that concurrent manages of one disk make one volume.

    Ten manages of one disk at once, from two drivers (as two services
    sharing a coordination backend): one volume, nine clear refusals.
    """
    _sim, _drv, inv = env
    path = disks.loose()
    vols = [volume() for _ in range(10)]

    def manage(i):
        drv = drivers[i % 2]
        try:
            drv.manage_existing(vols[i], {'source-name': path})
            return None
        except Exception as err:
            return err

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        errors = list(pool.map(manage, range(10)))

    won = [v for v, e in zip(vols, errors) if e is None]
    assert len(won) == 1, errors
    refused = [e for e in errors if e is not None]
    assert len(refused) == 9
    for err in refused:
        assert isinstance(err, exception.ManageExistingInvalidReference), \
            ''.join(traceback.format_exception(err))
        assert path in str(err) and won[0].id in str(err), err
    holders = [v.name for v in vols if inv.vm(v.name) is not None]
    assert holders == [won[0].name]
    assert shadow_disk(inv, won[0]) == path


# -- descriptors are not trusted ----------------------------------------------

DESCRIPTOR = """# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=f71dabaf
parentCID=ffffffff
createType="vmfs"

# Extent description
RW 2097152 VMFS "%s"

# The Disk Data Base
#DDB

ddb.adapterType = "lsiLogic"
ddb.thinProvisioned = "1"
ddb.uuid = "60 00 C2 93 4b 6d 69 66-a3 f8 c9 22 97 77 cd %02x"
ddb.virtualHWVersion = "13"
"""


def write_descriptor(sim, ds_path, extent, number):
    local = sim.datastore_path('ds-gold', ds_path.split('] ', 1)[1])
    os.makedirs(os.path.dirname(local), exist_ok=True)
    with open(local, 'w') as f:
        f.write(DESCRIPTOR % (extent, number))


def listed(drv):
    return {'[%s] %s' % (e['extra_info']['datastore'],
                         e['extra_info']['path']): e
            for e in drv.get_manageable_volumes([], None, 1000, 0, ['size'],
                                                ['asc'])}


def refused(drv, ref, words):
    for call in (drv.manage_existing_get_size, drv.manage_existing):
        with pytest.raises(exception.ManageExistingInvalidReference,
                           match=words):
            call(volume(), ref)


def test_descriptor_escaping_its_datastore_is_refused(env):
    sim, drv, inv = env
    escape = '[ds-gold] evil/escape.vmdk'
    write_descriptor(sim, escape, '../../../../etc/hostname', 1)
    entry = listed(drv)[escape]
    assert entry['safe_to_manage'] is False
    assert entry['reason_not_safe'] == (
        '%s (its extent "../../../../etc/hostname" is not a plain file name '
        'beside it)' % safety.UNTRUSTED)
    before = inv.vm_names()
    refused(drv, {'source-name': escape},
            'evil/escape.vmdk is an untrusted descriptor .*etc/hostname')
    assert inv.vm_names() == before


def test_descriptor_naming_another_disks_data_is_refused(env, disks):
    sim, drv, inv = env
    # A descriptor beside a VM's disk that names the VM disk's data file.
    name = disks.vm()
    own = '[ds-gold] %s/%s.vmdk' % (name, name)
    thief = '[ds-gold] %s/thief.vmdk' % name
    write_descriptor(sim, thief, '%s-flat.vmdk' % name, 2)
    entries = listed(drv)
    for path, other in ((thief, own), (own, thief)):
        assert entries[path]['safe_to_manage'] is False, path
        assert entries[path]['reason_not_safe'] == (
            '%s (its data file [ds-gold] %s/%s-flat.vmdk is also named by '
            '%s)' % (safety.UNTRUSTED, name, name, other))
    refused(drv, {'source-name': thief}, 'also named by')
    refused(drv, {'source-name': '%s@DC1/vm/%s' % (own, name)},
            'also named by')
    refused(drv, {'source-id': inv.disk(inv.vm(name)).backing.uuid},
            'also named by')
    assert [d.backing.fileName for d in inv.disks(inv.vm(name))] == [own]
    # A descriptor naming another descriptor as its data.
    loop = '[ds-gold] %s/loop.vmdk' % name
    write_descriptor(sim, loop, '%s.vmdk' % name, 3)
    assert listed(drv)[loop]['reason_not_safe'].endswith(
        'its extent %s.vmdk is a disk descriptor)' % name)

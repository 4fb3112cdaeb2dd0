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
"""Snapshot and clone extensions (extensions/volume_snapshots.py and
clones.py) on the simulator.

Each test drives the real driver with real Cinder objects and checks the
simulator's inventory (through a separate session) and the disk files:
snapshot trees, delta chains (descriptor parentFileNameHint), the bytes a
disk reads and the bytes of the disks it was made from.
"""

import os

from cinder import exception
from oslo_utils import units
from oslo_vmware import exceptions as vexc
import pytest

from tests.functional import driver_fixtures as df

GiB = units.Gi
PROJECT = 'demo-project'
OFFSET = 5 * units.Mi

# Pool gold: gold-ds on esx-01/02.  Pool copper (esx-31) also mounts
# gold-ds, next to its own copper-ds: linked clones of gold's disks can live
# there.  Pool silver (esx-11) sees only silver-ds: clones there are full.
TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [
        {"name": "gold", "hosts": [{"name": "esx-01"}, {"name": "esx-02"}]},
        {"name": "silver", "hosts": [{"name": "esx-11"}]},
        {"name": "copper", "hosts": [{"name": "esx-31"}]},
    ],
    "datastores": [
        {"name": "gold-ds", "type": "VMFS", "capacity_gb": 100,
         "free_gb": 80, "mounts": [{"host": "esx-01"}, {"host": "esx-02"},
                                   {"host": "esx-31"}]},
        {"name": "silver-ds", "type": "VMFS", "capacity_gb": 50,
         "free_gb": 40, "mounts": [{"host": "esx-11"}]},
        {"name": "copper-ds", "type": "VMFS", "capacity_gb": 200,
         "free_gb": 190, "mounts": [{"host": "esx-31"}]},
    ],
    "vms": [
        {"name": "nova-01", "host": "esx-01", "power_state": "poweredOn",
         "disks": [{"datastore": "gold-ds", "path": "nova-01/nova-01.vmdk",
                    "capacity_gb": 1, "thin": True}]},
    ],
}]}
GOLD = 'functional@vmware#gold'
SILVER = 'functional@vmware#silver'
COPPER = 'functional@vmware#copper'
CLUSTERS = ['gold', 'silver', 'copper']


# --- fixtures ----------------------------------------------------------------

@pytest.fixture(scope='module')
def backends(sim, cinder_db):
    # Lazy create, the default: create_volume attaches each volume once
    # (its backing is made there) before the tests read or write it.
    with df.backends(sim, vmware_cluster_name=CLUSTERS) as get:
        yield get


@pytest.fixture
def driver(backends, sim):
    """Backend default COW (driver_fixtures' default); types override."""
    yield backends()
    sim.clear_faults()


@pytest.fixture
def template_driver(backends, sim):
    yield backends(vmware_snapshot_format='template')
    sim.clear_faults()


# --- helpers -----------------------------------------------------------------

def new_volume(ctx, size=1, host=GOLD, **specs):
    return df.new_volume(ctx, size=size, type_id=df.volume_type(ctx, **specs),
                         project_id=PROJECT, host=host)


def create_volume(driver, ctx, size=1, host=GOLD, **specs):
    vol = new_volume(ctx, size=size, host=host, **specs)
    driver.create_volume(vol)
    df.first_attach(driver, vol)
    return vol


def snapshot_volume(driver, ctx, volume):
    snap = df.new_snapshot(ctx, volume)
    update = driver.create_snapshot(snap)
    if update:
        snap.update(update)
        snap.save()
    return snap


def from_snapshot(driver, ctx, snap, host=GOLD, size=1, **specs):
    vol = new_volume(ctx, size=size, host=host, **specs)
    update = driver.create_volume_from_snapshot(vol, snap)
    if update:
        vol.update(update)
        vol.save()
    return vol


def backing_of(inv, volume):
    vm = inv.vm(volume.name)
    assert vm is not None, (volume.name, inv.vm_names())
    return vm


def local_disk(inv, vm):
    return inv.local_path(inv.disk(vm).backing.fileName)


def read(inv, local, length=64 * units.Ki):
    return df.read_data(local, inv.sim.datastore_root, OFFSET, length)


def raw_head(local):
    """The first bytes of a disk's own data file, up to the test data."""
    with open(df.data_file(local), 'rb') as f:
        return f.read(OFFSET + 64 * units.Ki)


def ds_of(ds_path):
    return df.DS_PATH.match(ds_path).group('ds')


def chain(inv, local):
    return df.disk_chain(local, inv.sim.datastore_root)


def host_of(inv, vm):
    return inv.name_of(inv.prop(vm, 'runtime.host'))


def vmdk_files(local):
    folder = os.path.dirname(local)
    return sorted(f for f in os.listdir(folder) if f.endswith('.vmdk'))


def own_files(local):
    """Name a flat disk's descriptor and data file.

    A flat disk's descriptor and data file names, as vmdk_files lists
    them.
    """
    return sorted([os.path.basename(local),
                   os.path.basename(df.data_file(local))])


def written_source(driver, ctx, inv, data_seed, **specs):
    """A volume with data written into its disk."""
    vol = create_volume(driver, ctx, **specs)
    local = local_disk(inv, backing_of(inv, vol))
    data = df.pattern(data_seed)
    df.write_data(local, OFFSET, data)
    return vol, local, data


def write_top(inv, volume, seed):
    """Write into the volume's current (top) disk file; returns the data."""
    data = df.pattern(seed)
    df.write_data(local_disk(inv, backing_of(inv, volume)), OFFSET, data)
    return data


# --- 1. formats --------------------------------------------------------------

def test_cow_snapshot_by_extra_spec(template_driver, ctx, inv):
    # The backend says template; the type says COW.
    vol, base, data = written_source(template_driver, ctx, inv, 'cow-spec',
                                     snapshot_format='COW')
    vm = backing_of(inv, vol)
    vms_before = set(inv.vm_names())

    snap = snapshot_volume(template_driver, ctx, vol)

    assert set(inv.vm_names()) == vms_before  # no template
    assert inv.snapshot_names(vm) == [snap.name]
    assert snap.provider_location is None
    snap_ref = inv.prop(vm, 'snapshot').currentSnapshot
    assert snap.provider_id == '%s/%s' % (vm.value, snap_ref.value)
    assert snap.metadata['vmware_chain_depth'] == '1'
    top = local_disk(inv, vm)
    assert chain(inv, top) == [top, base]
    assert read(inv, top) == data


def test_template_snapshot_by_extra_spec(driver, ctx, inv):
    # The backend says COW; the type says template.
    vol, base, data = written_source(driver, ctx, inv, 'tpl-spec',
                                     snapshot_format='template')
    vm = backing_of(inv, vol)

    snap = snapshot_volume(driver, ctx, vol)

    template = inv.vm(snap.name)
    assert template is not None
    assert inv.prop(template, 'config.template') is True
    assert snap.provider_location == '/' + inv.inventory_path(template)
    assert snap.provider_id == template.value
    assert snap.metadata['vmware_chain_depth'] == '0'
    tpl = local_disk(inv, template)
    assert chain(inv, tpl) == [tpl]
    assert read(inv, tpl) == data
    assert inv.snapshot_names(vm) == []
    assert local_disk(inv, vm) == base


def test_invalid_snapshot_format_is_refused_before_anything(driver, ctx,
                                                            inv):
    vol = create_volume(driver, ctx, snapshot_format='QCOW')
    vm = backing_of(inv, vol)
    vms_before = set(inv.vm_names())
    snap = df.new_snapshot(ctx, vol)

    with pytest.raises(exception.InvalidVolumeType) as err:
        driver.create_snapshot(snap)

    assert 'vmware:snapshot_format=QCOW' in str(err.value)
    assert inv.snapshot_names(vm) == []
    assert set(inv.vm_names()) == vms_before


def test_upstream_cow_snapshot_without_provider_id_still_works(driver, ctx,
                                                               inv):
    # A snapshot made by upstream's driver: no provider_id, found by name.
    vol, base, data = written_source(driver, ctx, inv, 'upstream-cow')
    snap = snapshot_volume(driver, ctx, vol)
    snap.provider_id = None
    snap.save()
    write_top(inv, vol, 'upstream-cow-later')

    driver.revert_to_snapshot(ctx, vol, snap)
    assert read(inv, local_disk(inv, backing_of(inv, vol))) == data
    driver.delete_snapshot(snap)
    assert inv.snapshot_names(backing_of(inv, vol)) == []


# --- 2. revert ---------------------------------------------------------------

def test_revert_to_cow_snapshot(driver, ctx, inv):
    vol, base, data = written_source(driver, ctx, inv, 'revert-cow')
    vm = backing_of(inv, vol)
    snap = snapshot_volume(driver, ctx, vol)
    write_top(inv, vol, 'revert-cow-later')

    driver.revert_to_snapshot(ctx, vol, snap)

    top = local_disk(inv, vm)
    assert chain(inv, top) == [top, base]
    assert read(inv, top) == data
    assert inv.snapshot_names(vm) == [snap.name]


def test_revert_to_template_snapshot(template_driver, ctx, inv):
    driver = template_driver
    vol, base, data = written_source(driver, ctx, inv, 'revert-tpl')
    vm = backing_of(inv, vol)
    snap = snapshot_volume(driver, ctx, vol)
    template = inv.vm(snap.name)
    tpl = local_disk(inv, template)
    tpl_bytes = raw_head(tpl)
    later = write_top(inv, vol, 'revert-tpl-later')
    assert read(inv, base) == later

    driver.revert_to_snapshot(ctx, vol, snap)

    # Same backing VM (moref, name, uuid), a new disk with the template's
    # bytes; the old disk is gone, the template untouched.
    assert backing_of(inv, vol).value == vm.value
    assert inv.prop(vm, 'config.instanceUuid') == vol.id
    disk = inv.disk(vm)
    assert disk.backing.uuid.replace('-', '').lower() == \
        vol.id.replace('-', '').lower()
    assert disk.capacityInKB == units.Mi
    top = local_disk(inv, vm)
    assert top != base and chain(inv, top) == [top]
    assert read(inv, top) == data
    assert not os.path.exists(base)
    assert vmdk_files(top) == own_files(top)
    assert raw_head(tpl) == tpl_bytes
    assert inv.prop(template, 'config.template') is True


def test_revert_to_template_failure_keeps_the_volume(template_driver, ctx,
                                                     inv, sim):
    driver = template_driver
    vol, base, data = written_source(driver, ctx, inv, 'revert-fail')
    vm = backing_of(inv, vol)
    snap = snapshot_volume(driver, ctx, vol)
    later = write_top(inv, vol, 'revert-fail-later')
    files = vmdk_files(base)
    sim.inject_fault('ReconfigVM_Task', 'InvalidDeviceSpec', task=True,
                     moref=vm.value, count=1)

    with pytest.raises(exception.VolumeBackendAPIException) as err:
        driver.revert_to_snapshot(ctx, vol, snap)
    assert 'InvalidDeviceSpec' in str(err.value)
    assert vol.name in str(err.value)

    assert local_disk(inv, vm) == base
    assert read(inv, base) == later
    assert vmdk_files(base) == files  # the copy was deleted again


# --- 3. volumes from snapshots -----------------------------------------------

def _cow_source(driver, ctx, inv, seed):
    """A volume with data A frozen in a COW snapshot and data B after."""
    vol, base, a = written_source(driver, ctx, inv, seed)
    snap = snapshot_volume(driver, ctx, vol)
    b = write_top(inv, vol, seed + '-later')
    return vol, snap, base, a, b


@pytest.mark.parametrize('host,hosts', [(GOLD, ('esx-01', 'esx-02')),
                                        (COPPER, ('esx-31',))])
def test_linked_clone_from_cow_snapshot_in_reaching_pool(driver, ctx, inv,
                                                         host, hosts):
    src, snap, base, a, b = _cow_source(driver, ctx, inv, 'linked-' + host)
    base_bytes = raw_head(base)

    vol = from_snapshot(driver, ctx, snap, host=host, clone_type='linked')

    vm = backing_of(inv, vol)
    assert host_of(inv, vm) in hosts
    top = local_disk(inv, vm)
    assert ds_of(inv.disk(vm).backing.fileName) == 'gold-ds'
    assert chain(inv, top) == [top, base]
    assert read(inv, top) == a
    assert raw_head(base) == base_bytes
    assert read(inv, local_disk(inv, backing_of(inv, src))) == b
    assert vol.metadata['vmware_chain_depth'] == '1'
    assert inv.extra_config(vm)['cinder.volume.id'] == vol.id


def test_linked_clone_request_into_unreachable_pool_is_full(driver, ctx,
                                                            inv, caplog):
    src, snap, base, a, b = _cow_source(driver, ctx, inv, 'linked-silver')

    vol = from_snapshot(driver, ctx, snap, host=SILVER, clone_type='linked')

    vm = backing_of(inv, vol)
    assert host_of(inv, vm) == 'esx-11'
    top = local_disk(inv, vm)
    assert ds_of(inv.disk(vm).backing.fileName) == 'silver-ds'
    assert chain(inv, top) == [top]
    assert read(inv, top) == a
    assert 'pool silver cannot reach datastore gold-ds' in caplog.text


def test_full_clone_from_cow_snapshot_in_other_pool(driver, ctx, inv):
    src, snap, base, a, b = _cow_source(driver, ctx, inv, 'full-copper')

    vol = from_snapshot(driver, ctx, snap, host=COPPER, clone_type='full')

    vm = backing_of(inv, vol)
    assert host_of(inv, vm) == 'esx-31'
    top = local_disk(inv, vm)
    assert chain(inv, top) == [top]
    assert read(inv, top) == a


def test_linked_clones_from_template_snapshot(template_driver, ctx, inv):
    driver = template_driver
    src, base, data = written_source(driver, ctx, inv, 'tpl-linked')
    snap = snapshot_volume(driver, ctx, src)
    template = inv.vm(snap.name)
    tpl_file = inv.disk(template).backing.fileName
    tpl_local = inv.local_path(tpl_file)
    tpl_bytes = raw_head(tpl_local)

    first = from_snapshot(driver, ctx, snap, clone_type='linked')
    second = from_snapshot(driver, ctx, snap, host=COPPER,
                           clone_type='linked')

    # The template got the one snapshot point linked clones need, and is
    # a template again.
    assert inv.prop(template, 'config.template') is True
    assert inv.snapshot_names(template) == ['linked-clone-base']
    for vol in (first, second):
        vm = backing_of(inv, vol)
        top = local_disk(inv, vm)
        assert chain(inv, top) == [top, tpl_local]
        assert read(inv, top) == data
    assert host_of(inv, backing_of(inv, second)) == 'esx-31'
    assert raw_head(tpl_local) == tpl_bytes
    # Still a good snapshot: revert and full clones read the same bytes.
    full = from_snapshot(driver, ctx, snap, host=SILVER, clone_type='linked')
    top = local_disk(inv, backing_of(inv, full))
    assert chain(inv, top) == [top] and read(inv, top) == data


# --- 4. snapshots with linked clones -----------------------------------------

def test_delete_cow_snapshot_with_linked_clone_is_refused(driver, ctx, inv):
    src, snap, base, a, b = _cow_source(driver, ctx, inv, 'busy-cow')
    vol = from_snapshot(driver, ctx, snap, clone_type='linked')
    clone_top = local_disk(inv, backing_of(inv, vol))
    src_vm = backing_of(inv, src)

    with pytest.raises(exception.SnapshotIsBusy):
        driver.delete_snapshot(snap)

    assert inv.snapshot_names(src_vm) == [snap.name]
    assert chain(inv, clone_top) == [clone_top, base]
    assert read(inv, clone_top) == a
    assert read(inv, local_disk(inv, src_vm)) == b

    # Once the clone is gone, the snapshot goes (and is consolidated).
    driver.delete_volume(vol)
    driver.delete_snapshot(snap)
    assert inv.snapshot_names(src_vm) == []
    assert local_disk(inv, src_vm) == base
    assert read(inv, base) == b


def test_delete_template_snapshot_with_linked_clone_is_refused(
        template_driver, ctx, inv):
    driver = template_driver
    src, base, data = written_source(driver, ctx, inv, 'busy-tpl')
    snap = snapshot_volume(driver, ctx, src)
    vol = from_snapshot(driver, ctx, snap, clone_type='linked')
    clone_top = local_disk(inv, backing_of(inv, vol))

    with pytest.raises(exception.SnapshotIsBusy):
        driver.delete_snapshot(snap)

    template = inv.vm(snap.name)
    assert template is not None
    assert read(inv, clone_top) == data
    assert all(os.path.exists(p) for p in chain(inv, clone_top))

    driver.delete_volume(vol)
    driver.delete_snapshot(snap)
    assert inv.vm(snap.name) is None


# --- 5. chain depth ----------------------------------------------------------

def test_chain_depth_cap(backends, ctx, inv):
    driver = backends(vmware_max_snapshot_chain_depth=2)
    vol, base, data = written_source(driver, ctx, inv, 'depth')
    vm = backing_of(inv, vol)
    first = snapshot_volume(driver, ctx, vol)
    second = snapshot_volume(driver, ctx, vol)
    assert [first.metadata['vmware_chain_depth'],
            second.metadata['vmware_chain_depth']] == ['1', '2']
    top = local_disk(inv, vm)
    third = df.new_snapshot(ctx, vol)

    with pytest.raises(exception.InvalidSnapshot) as err:
        driver.create_snapshot(third)

    assert 'vmware_max_snapshot_chain_depth' in str(err.value)
    assert inv.snapshot_names(vm) == [first.name, second.name]
    assert local_disk(inv, vm) == top and len(chain(inv, top)) == 3

    # A linked clone of the second snapshot would be 2 deep: allowed; one
    # of the source volume itself would be 3 deep: made full instead.
    linked = from_snapshot(driver, ctx, second, clone_type='linked')
    assert linked.metadata['vmware_chain_depth'] == '2'
    assert len(chain(inv, local_disk(inv, backing_of(inv, linked)))) == 3
    clone = new_volume(ctx, clone_type='linked')
    driver.create_cloned_volume(clone, vol)
    clone_top = local_disk(inv, backing_of(inv, clone))
    assert chain(inv, clone_top) == [clone_top]
    assert read(inv, clone_top) == data


# --- 6. clones of volumes ----------------------------------------------------

def test_linked_clone_of_volume_in_scheduler_pool(driver, ctx, inv):
    src, base, data = written_source(driver, ctx, inv, 'clone-copper')
    src_vm = backing_of(inv, src)
    base_bytes = raw_head(base)
    vol = new_volume(ctx, host=COPPER, clone_type='linked')

    driver.create_cloned_volume(vol, src)

    vm = backing_of(inv, vol)
    assert host_of(inv, vm) == 'esx-31'
    top = local_disk(inv, vm)
    assert chain(inv, top) == [top, base]
    assert read(inv, top) == data
    # The temporary snapshot is gone; the source writes to a delta over the
    # disk it shares with the clone.
    assert inv.snapshot_names(src_vm) == []
    src_top = local_disk(inv, src_vm)
    assert chain(inv, src_top) == [src_top, base]
    assert raw_head(base) == base_bytes


def test_full_clone_of_volume_in_scheduler_pool(driver, ctx, inv):
    src, base, data = written_source(driver, ctx, inv, 'clone-silver')
    vol = new_volume(ctx, host=SILVER, clone_type='full')

    driver.create_cloned_volume(vol, src)

    vm = backing_of(inv, vol)
    assert host_of(inv, vm) == 'esx-11'
    top = local_disk(inv, vm)
    assert ds_of(inv.disk(vm).backing.fileName) == 'silver-ds'
    assert chain(inv, top) == [top] and read(inv, top) == data


def test_failed_linked_clone_removes_temporary_snapshot(driver, ctx, inv,
                                                        sim):
    src, base, data = written_source(driver, ctx, inv, 'clone-fail')
    src_vm = backing_of(inv, src)
    vol = new_volume(ctx, clone_type='linked')
    vms_before = set(inv.vm_names())
    rule = sim.inject_fault('CloneVM_Task', 'InsufficientResourcesFault',
                            task=True, moref=src_vm.value, count=1)

    with pytest.raises(vexc.VimException):
        driver.create_cloned_volume(vol, src)

    assert [f['fired'] for f in sim.faults() if f['id'] == rule['id']] == [1]
    assert inv.snapshot_names(src_vm) == []
    assert set(inv.vm_names()) == vms_before
    # The temporary delta was consolidated away: the source is as before.
    assert local_disk(inv, src_vm) == base
    assert chain(inv, base) == [base]
    assert read(inv, base) == data
    assert vmdk_files(base) == own_files(base)


def test_temporary_snapshot_removal_is_retried(driver, ctx, inv, sim):
    src, base, data = written_source(driver, ctx, inv, 'clone-retry')
    src_vm = backing_of(inv, src)
    vol = new_volume(ctx, clone_type='linked')
    sim.inject_fault('CloneVM_Task', 'InsufficientResourcesFault',
                     task=True, moref=src_vm.value, count=1)
    removal = sim.inject_fault('RemoveSnapshot_Task', 'TaskInProgress',
                               task=True, count=1)

    with pytest.raises(vexc.VimException):
        driver.create_cloned_volume(vol, src)

    assert [f['fired'] for f in sim.faults()
            if f['id'] == removal['id']] == [1]
    assert inv.snapshot_names(src_vm) == []
    assert local_disk(inv, src_vm) == base and read(inv, base) == data


# --- 7. extending linked clones ----------------------------------------------

def test_extend_linked_clone_promotes_it(driver, ctx, inv):
    src, snap, base, a, b = _cow_source(driver, ctx, inv, 'extend-linked')
    base_bytes = raw_head(base)
    vol = from_snapshot(driver, ctx, snap, clone_type='linked')
    vm = backing_of(inv, vol)
    old_top = local_disk(inv, vm)
    c = write_top(inv, vol, 'extend-linked-clone')

    driver.extend_volume(vol, 3)

    assert backing_of(inv, vol).value == vm.value
    disk = inv.disk(vm)
    assert disk.capacityInKB == 3 * units.Mi
    top = local_disk(inv, vm)
    assert chain(inv, top) == [top]
    assert df.capacity_bytes(top) == 3 * GiB
    assert read(inv, top) == c
    assert not os.path.exists(old_top)
    # The parent is untouched and still serves the source's snapshot.
    assert raw_head(base) == base_bytes
    assert read(inv, base) == a
    assert inv.snapshot_names(backing_of(inv, src)) == [snap.name]
    driver.delete_volume(vol)
    driver.delete_snapshot(snap)
    assert inv.snapshot_names(backing_of(inv, src)) == []


def test_extend_volume_with_cow_snapshot_is_refused(driver, ctx, inv):
    vol, base, data = written_source(driver, ctx, inv, 'extend-snap')
    vm = backing_of(inv, vol)
    snapshot_volume(driver, ctx, vol)
    top = local_disk(inv, vm)

    with pytest.raises(exception.InvalidVolume) as err:
        driver.extend_volume(vol, 2)

    assert 'COW snapshots' in str(err.value)
    assert local_disk(inv, vm) == top
    assert inv.disk(vm).capacityInKB == units.Mi


# --- in-use volumes ----------------------------------------------------------

def test_in_use_cow_snapshot_is_refused(driver, ctx, inv):
    from cinder import objects
    vol = create_volume(driver, ctx)
    vm = backing_of(inv, vol)
    objects.VolumeAttachment(
        ctx, volume_id=vol.id, instance_uuid=inv.prop(
            inv.vm('nova-01'), 'config.instanceUuid'),
        attach_status='attached', attached_host='compute-1').create()
    vol = objects.Volume.get_by_id(ctx, vol.id)
    vol.status = 'in-use'
    vol.save()

    with pytest.raises(exception.InvalidVolume) as err:
        driver.create_snapshot(df.new_snapshot(ctx, vol))

    assert 'template' in str(err.value)
    assert inv.snapshot_names(vm) == []


def _attach_to_instance(inv, ctx, vol, instance_name):
    """Attach a volume to an instance VM as Nova does.

    What Nova does on attach: the volume's disk added to the instance
    VM, ``volume-<id>`` in its extraConfig naming the device; the Cinder
    attachment recorded.  Returns the volume as Cinder then has it.
    """
    from cinder import objects
    session, cf = inv.session, inv.session.vim.client.factory
    instance = inv.vm(instance_name)
    devices = df.array(inv.prop(instance, 'config.hardware.device'),
                       'VirtualDevice')
    controller = [d for d in devices if 'SCSI' in d.__class__.__name__ or
                  'LsiLogic' in d.__class__.__name__][0]
    disk = cf.create('ns0:VirtualDisk')
    disk.key = -100
    disk.controllerKey = controller.key
    disk.unitNumber = 1
    disk.capacityInKB = vol.size * units.Mi
    disk.backing = cf.create('ns0:VirtualDiskFlatVer2BackingInfo')
    disk.backing.fileName = inv.disk(backing_of(inv, vol)).backing.fileName
    disk.backing.diskMode = 'persistent'
    add = cf.create('ns0:VirtualDeviceConfigSpec')
    add.operation = 'add'
    add.device = disk
    spec = cf.create('ns0:VirtualMachineConfigSpec')
    spec.deviceChange = [add]
    session.wait_for_task(session.invoke_api(
        session.vim, 'ReconfigVM_Task', instance, spec=spec))
    attached = [d for d in inv.disks(instance)
                if d.backing.fileName == disk.backing.fileName][0]
    option = cf.create('ns0:OptionValue')
    option.key = 'volume-%s' % vol.id
    option.value = attached.backing.uuid
    spec = cf.create('ns0:VirtualMachineConfigSpec')
    spec.extraConfig = [option]
    session.wait_for_task(session.invoke_api(
        session.vim, 'ReconfigVM_Task', instance, spec=spec))
    objects.VolumeAttachment(
        ctx, volume_id=vol.id,
        instance_uuid=inv.prop(instance, 'config.instanceUuid'),
        attach_status='attached', attached_host='compute-1').create()
    vol = objects.Volume.get_by_id(ctx, vol.id)
    vol.status = 'in-use'
    vol.save()
    return vol


def test_in_use_template_snapshot(driver, ctx, inv):
    vol, base, data = written_source(driver, ctx, inv, 'in-use-tpl',
                                     snapshot_format='template')
    vol = _attach_to_instance(inv, ctx, vol, 'nova-01')
    instance_disks = [d.backing.fileName for d in
                      inv.disks(inv.vm('nova-01'))]

    snap = snapshot_volume(driver, ctx, vol)

    template = inv.vm(snap.name)
    assert inv.prop(template, 'config.template') is True
    tpl = local_disk(inv, template)  # only the volume's disk was copied
    assert chain(inv, tpl) == [tpl] and tpl != base
    assert read(inv, tpl) == data
    assert snap.provider_id == template.value
    # The instance and the volume's disk are as they were.
    assert [d.backing.fileName for d in
            inv.disks(inv.vm('nova-01'))] == instance_disks
    assert inv.snapshot_names(inv.vm('nova-01')) == []
    assert read(inv, base) == data

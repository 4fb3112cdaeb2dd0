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
"""Upstream Cinder's VMDK driver flows, through our subclass, on the simulator.

Every test builds ``VMwareVcVmdkExtDriver`` from a real backend
configuration, runs ``do_setup`` (which registers the driver's vCenter
extension) over HTTPS with the simulator's certificate verified, drives one
upstream flow with real Cinder objects, and checks what the flow did in the
simulator: the inventory through a separate oslo.vmware session, and the
disk files under the datastore root.  Nothing in the driver is patched.
"""

import math
import os

from oslo_utils import units
import pytest

from tests.functional import driver_fixtures as df

GiB = units.Gi
PROJECT = 'demo-project'
OFFSET = 3 * units.Mi  # where tests write their data patterns

# The driver reports one pool per cluster (vmware_pool_mode = cluster) and
# places a backing inside its volume's pool.  The topology makes every
# placement unambiguous, whatever the placement policy: pool "gold" has one
# datastore (gold-ds, on both its hosts); in pool "silver" each host sees a
# datastore of its own, so the host of an instance decides; pool "bronze"
# holds legacy-ds, with a VM whose disk is taken over.
TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [
        {"name": "gold", "hosts": [{"name": "esx-01"}, {"name": "esx-02"}]},
        {"name": "silver", "hosts": [{"name": "esx-11"}, {"name": "esx-12"}]},
        {"name": "bronze", "hosts": [{"name": "esx-21"}]},
    ],
    "datastores": [
        {"name": "gold-ds", "type": "VMFS", "capacity_gb": 100,
         "free_gb": 80, "mounts": [{"host": "esx-01"}, {"host": "esx-02"}]},
        {"name": "silver-11", "type": "VMFS", "capacity_gb": 30,
         "free_gb": 25, "mounts": [{"host": "esx-11"}]},
        {"name": "silver-12", "type": "NFS", "capacity_gb": 40,
         "free_gb": 35, "mounts": [{"host": "esx-12"}]},
        {"name": "legacy-ds", "type": "NFS", "capacity_gb": 50,
         "free_gb": 40, "mounts": [{"host": "esx-21"}]},
    ],
    "vms": [
        {"name": "legacy-db", "host": "esx-21", "power_state": "poweredOff",
         "disks": [
             {"datastore": "legacy-ds", "path": "legacy-db/legacy-db.vmdk",
              "capacity_gb": 1, "thin": True},
             {"datastore": "legacy-ds", "path": "legacy-db/data.vmdk",
              "capacity_gb": 1.5, "thin": False}]},
        {"name": "nova-11", "host": "esx-11", "power_state": "poweredOn",
         "disks": [{"datastore": "silver-11", "path": "nova-11/nova-11.vmdk",
                    "capacity_gb": 1, "thin": True}]},
        {"name": "nova-12", "host": "esx-12", "power_state": "poweredOn",
         "disks": [{"datastore": "silver-12", "path": "nova-12/nova-12.vmdk",
                    "capacity_gb": 1, "thin": True}]},
    ],
}]}
GOLD = 'functional@vmware#gold'
SILVER = 'functional@vmware#silver'
BRONZE = 'functional@vmware#bronze'


# --- fixtures ----------------------------------------------------------------
#
# An oslo.vmware session parses the simulator's WSDL (several seconds), so
# the tests of this module share one simulator, one inventory session and
# one driver per backend configuration; every test works on volumes of its
# own and asserts changes relative to what it saw first.  The do_setup test
# starts a simulator of its own, as it needs a vCenter nobody set up before.

@pytest.fixture(scope='module')
def backends(sim, cinder_db):
    """backends(**options) -> a set-up driver, one per distinct options."""
    # Eager create (vmware_lazy_create=False): these tests read or write
    # the backing right after create_volume.
    with df.backends(sim, vmware_lazy_create=False) as get:
        yield get


@pytest.fixture
def driver(backends):
    return backends()


@pytest.fixture
def cow_driver(backends):
    return backends(vmware_snapshot_format='COW')


@pytest.fixture
def template_driver(backends):
    return backends(vmware_snapshot_format='template')


# --- helpers -----------------------------------------------------------------

def volume_folder(snapshots=False):
    path = 'DC1/vm/OpenStack/Project (%s)/Volumes' % PROJECT
    return path + '/Snapshots' if snapshots else path


def backing_of(inv, volume):
    vm = inv.vm(volume.name)
    assert vm is not None, 'no backing VM %s in %s' % (volume.name,
                                                       inv.vm_names())
    return vm


def disk_path(inv, vm):
    """(datastore path, local descriptor path) of the VM's only disk."""
    ds_path = inv.disk(vm).backing.fileName
    return ds_path, inv.local_path(ds_path)


def datastore_name(ds_path):
    return df.DS_PATH.match(ds_path).group('ds')


def read(inv, local_desc, length=64 * units.Ki):
    return df.read_data(local_desc, inv.sim.datastore_root, OFFSET, length)


def new_volume(ctx, size=1, host=GOLD, **specs):
    return df.new_volume(ctx, size=size, type_id=df.volume_type(ctx, **specs),
                         project_id=PROJECT, host=host)


def create_volume(driver, ctx, size=1, **specs):
    vol = new_volume(ctx, size=size, **specs)
    driver.create_volume(vol)
    return vol


def snapshot_volume(driver, ctx, volume):
    snap = df.new_snapshot(ctx, volume)
    update = driver.create_snapshot(snap)
    if update:
        snap.update(update)
        snap.save()
    return snap


def free_bytes(inv, ds):
    return inv.summary(ds).freeSpace


def assert_files_gone(local_desc):
    folder = os.path.dirname(local_desc)
    assert not os.path.exists(local_desc)
    leftovers = os.listdir(folder) if os.path.isdir(folder) else []
    assert not [f for f in leftovers if f.endswith('.vmdk')], leftovers


def assert_backing(inv, volume, datastore='gold-ds',
                   hosts=('esx-01', 'esx-02')):
    """The volume's backing VM, with its disk on ``datastore``."""
    vm = backing_of(inv, volume)
    assert inv.inventory_path(vm) == volume_folder() + '/' + volume.name
    assert inv.name_of(inv.prop(vm, 'runtime.host')) in hosts
    ds_path, local = disk_path(inv, vm)
    assert datastore_name(ds_path) == datastore
    assert ds_path == '[%s] %s/%s.vmdk' % (datastore, volume.name,
                                           volume.name)
    assert os.path.isfile(local) and os.path.isfile(df.data_file(local))
    assert inv.extra_config(vm)['cinder.volume.id'] == volume.id
    assert inv.prop(vm, 'config.instanceUuid') == volume.id
    return vm


# --- set-up and stats --------------------------------------------------------

def test_do_setup_registers_extension(start_simulator, cinder_db):
    sim = start_simulator(TOPOLOGY)
    inv = df.Inventory(sim)
    drivers = []

    def make_driver():
        drivers.append(df.make_driver(sim))
        return drivers[-1]
    try:
        _check_extension_registration(inv, make_driver)
    finally:
        for drv in drivers:
            df.close_driver(drv)
        inv.close()


def _check_extension_registration(inv, make_driver):
    ext_mgr = inv.session.vim.service_content.extensionManager

    def keys():
        return [e.key for e in df.array(inv.prop(ext_mgr, 'extensionList'),
                                        'Extension')]
    assert 'org.openstack.storage' not in keys()

    driver = make_driver()
    assert keys().count('org.openstack.storage') == 1
    ext = inv.session.vim.FindExtension(ext_mgr,
                                        extensionKey='org.openstack.storage')
    assert ext.description.label == 'OpenStack Cinder'

    # A second cinder-volume finds the extension registered and goes on.
    make_driver()
    assert keys().count('org.openstack.storage') == 1

    about = inv.session.vim.service_content.about
    assert driver._vc_version == about.version
    assert [inv.name_of(c) for c in driver._clusters] == ['gold']


def floor_gb(size_bytes):
    return size_bytes * 100 // GiB / 100


@pytest.mark.parametrize('cluster,datastores', [
    ('gold', ['gold-ds']), ('silver', ['silver-11', 'silver-12'])])
@pytest.mark.parametrize('max_objects', [100, 1])
def test_get_volume_stats(backends, inv, cluster, datastores, max_objects):
    # max_objects 1: upstream's retrievals come one object per page
    # (RetrievePropertiesEx, then ContinueRetrievePropertiesEx).
    options = {'vmware_cluster_name': [cluster]}
    if max_objects != 100:  # 100: upstream's default
        options['vmware_max_objects_retrieval'] = max_objects
    driver = backends(**options)
    stats = driver.get_volume_stats(refresh=True)

    assert stats['volume_backend_name'] == 'vmware-functional'
    assert stats['vendor_name'] == 'VMware'
    assert stats['driver_version'] == driver.VERSION
    assert stats['storage_protocol'] == 'vmdk'
    # One pool: the cluster, with the datastores its hosts mount.
    (pool,) = stats['pools']
    seen = [inv.summary(n) for n in datastores]
    assert pool['pool_name'] == cluster
    assert pool['total_capacity_gb'] == floor_gb(
        sum(s.capacity for s in seen)) == {'gold': 100, 'silver': 70}[cluster]
    assert pool['free_capacity_gb'] == floor_gb(sum(s.freeSpace for s in seen))
    assert pool['datastore_count'] == len(datastores)


# --- volumes -----------------------------------------------------------------

def test_create_volume_thick(driver, ctx, inv):
    free = free_bytes(inv, 'gold-ds')
    vol = create_volume(driver, ctx, size=2, vmdk_type='thick')

    vm = assert_backing(inv, vol)
    disk = inv.disk(vm)
    assert disk.capacityInKB == 2 * units.Mi
    assert disk.backing.thinProvisioned is False
    assert disk.backing.uuid.replace('-', '').lower() == \
        vol.id.replace('-', '').lower()
    _, local = disk_path(inv, vm)
    assert os.path.getsize(df.data_file(local)) == 2 * GiB
    assert df.capacity_bytes(local) == 2 * GiB
    assert free - free_bytes(inv, 'gold-ds') == 2 * GiB


def test_create_volume_thin(driver, ctx, inv):
    before = inv.summary('gold-ds')
    vol = create_volume(driver, ctx, size=3)

    vm = assert_backing(inv, vol)
    assert inv.disk(vm).backing.thinProvisioned is True
    assert inv.disk(vm).capacityInKB == 3 * units.Mi
    after = inv.summary('gold-ds')
    assert after.freeSpace == before.freeSpace
    assert (getattr(after, 'uncommitted', 0) -
            getattr(before, 'uncommitted', 0)) == 3 * GiB


def test_delete_volume(driver, ctx, inv):
    free = free_bytes(inv, 'gold-ds')
    vol = create_volume(driver, ctx, size=2, vmdk_type='thick')
    _, local = disk_path(inv, backing_of(inv, vol))

    driver.delete_volume(vol)

    assert inv.vm(vol.name) is None
    assert_files_gone(local)
    assert free_bytes(inv, 'gold-ds') == free


def test_extend_volume(driver, ctx, inv):
    vol = create_volume(driver, ctx, size=1, vmdk_type='thick')
    vm = backing_of(inv, vol)
    _, local = disk_path(inv, vm)
    data = df.pattern('extend')
    df.write_data(local, OFFSET, data)
    free = free_bytes(inv, 'gold-ds')

    driver.extend_volume(vol, 3)

    assert inv.disk(vm).capacityInKB == 3 * units.Mi
    assert df.capacity_bytes(local) == 3 * GiB
    assert os.path.getsize(df.data_file(local)) == 3 * GiB
    assert read(inv, local) == data
    assert free - free_bytes(inv, 'gold-ds') == 2 * GiB


# --- snapshots ---------------------------------------------------------------

def test_create_snapshot_cow(cow_driver, ctx, inv):
    driver = cow_driver
    vol = create_volume(driver, ctx)
    vm = backing_of(inv, vol)
    base_ds_path, base = disk_path(inv, vm)
    data = df.pattern('cow')
    df.write_data(base, OFFSET, data)

    snap = snapshot_volume(driver, ctx, vol)

    assert snap.provider_location is None
    assert inv.snapshot_names(vm) == [snap.name]
    # The VM now writes to a delta disk whose parent is the frozen base.
    disk = inv.disk(vm)
    assert disk.backing.fileName != base_ds_path
    assert disk.backing.parent.fileName == base_ds_path
    delta = inv.local_path(disk.backing.fileName)
    assert df.parent_path(delta, inv.sim.datastore_root) == base
    assert df.data_file(delta).endswith('-delta.vmdk')
    assert read(inv, delta) == data == read(inv, base)


def test_delete_snapshot_cow(cow_driver, ctx, inv):
    driver = cow_driver
    vol = create_volume(driver, ctx)
    vm = backing_of(inv, vol)
    base_ds_path, base = disk_path(inv, vm)
    snap = snapshot_volume(driver, ctx, vol)
    delta = inv.local_path(inv.disk(vm).backing.fileName)
    later = df.pattern('after-snapshot')
    df.write_data(delta, OFFSET, later)

    driver.delete_snapshot(snap)

    assert inv.snapshot_names(vm) == []
    # Deleting the only snapshot consolidates the delta into the base disk.
    disk = inv.disk(vm)
    assert disk.backing.fileName == base_ds_path
    assert getattr(disk.backing, 'parent', None) is None
    assert not os.path.exists(delta)
    assert read(inv, base) == later


def test_create_snapshot_template(template_driver, ctx, inv):
    driver = template_driver
    vol = create_volume(driver, ctx)
    vm = backing_of(inv, vol)
    _, base = disk_path(inv, vm)
    data = df.pattern('template')
    df.write_data(base, OFFSET, data)

    snap = snapshot_volume(driver, ctx, vol)

    template = inv.vm(snap.name)
    assert template is not None
    path = volume_folder(snapshots=True) + '/' + snap.name
    assert inv.inventory_path(template) == path
    assert snap.provider_location == '/' + path
    assert inv.prop(template, 'config.template') is True
    tpl_ds_path, tpl = disk_path(inv, template)
    assert datastore_name(tpl_ds_path) == 'gold-ds'  # the volume's datastore
    assert tpl != base
    assert getattr(inv.disk(template).backing, 'parent', None) is None
    assert read(inv, tpl) == data
    # The volume itself is untouched: no snapshot, same disk, same bytes.
    assert inv.snapshot_names(vm) == []
    assert disk_path(inv, vm)[1] == base
    assert read(inv, base) == data


def test_delete_snapshot_template(template_driver, ctx, inv):
    driver = template_driver
    vol = create_volume(driver, ctx, vmdk_type='thick')
    free = free_bytes(inv, 'gold-ds')
    snap = snapshot_volume(driver, ctx, vol)
    template = inv.vm(snap.name)
    _, tpl = disk_path(inv, template)

    driver.delete_snapshot(snap)

    assert inv.vm(snap.name) is None
    assert_files_gone(tpl)
    assert free_bytes(inv, 'gold-ds') == free
    assert backing_of(inv, vol) is not None


def test_revert_to_snapshot(cow_driver, ctx, inv):
    driver = cow_driver
    vol = create_volume(driver, ctx)
    vm = backing_of(inv, vol)
    _, base = disk_path(inv, vm)
    before = df.pattern('before-revert')
    df.write_data(base, OFFSET, before)
    snap = snapshot_volume(driver, ctx, vol)
    delta = inv.local_path(inv.disk(vm).backing.fileName)
    df.write_data(delta, OFFSET, df.pattern('to-be-discarded'))

    driver.revert_to_snapshot(ctx, vol, snap)

    assert inv.snapshot_names(vm) == [snap.name]
    current = inv.local_path(inv.disk(vm).backing.fileName)
    assert df.parent_path(current, inv.sim.datastore_root) == base
    assert read(inv, current) == before
    assert read(inv, base) == before


# --- volumes from snapshots and clones ---------------------------------------

def _snapshotted_source(driver, ctx, inv):
    """A volume with data A in a COW snapshot and data B written after it."""
    src = create_volume(driver, ctx)
    vm = backing_of(inv, src)
    _, base = disk_path(inv, vm)
    a, b = df.pattern('A'), df.pattern('B')
    df.write_data(base, OFFSET, a)
    snap = snapshot_volume(driver, ctx, src)
    delta = inv.local_path(inv.disk(vm).backing.fileName)
    df.write_data(delta, OFFSET, b)
    return src, snap, base, delta, a, b


def test_create_volume_from_snapshot_full_clone(cow_driver, ctx, inv):
    driver = cow_driver
    src, snap, base, delta, a, b = _snapshotted_source(driver, ctx, inv)
    vol = new_volume(ctx, clone_type='full')

    driver.create_volume_from_snapshot(vol, snap)

    vm = assert_backing(inv, vol)
    _, local = disk_path(inv, vm)
    assert getattr(inv.disk(vm).backing, 'parent', None) is None
    assert df.read_descriptor(local).get('parentFileNameHint') is None
    assert read(inv, local) == a  # the snapshot's bytes, not the later ones
    assert read(inv, base) == a and read(inv, delta) == b  # source unchanged
    assert inv.snapshot_names(backing_of(inv, src)) == [snap.name]


def test_create_volume_from_snapshot_linked_clone(cow_driver, ctx, inv):
    driver = cow_driver
    src, snap, base, delta, a, b = _snapshotted_source(driver, ctx, inv)
    src_base_ds_path = inv.disk(backing_of(inv, src)).backing.parent.fileName
    vol = new_volume(ctx, clone_type='linked')

    driver.create_volume_from_snapshot(vol, snap)

    vm = backing_of(inv, vol)
    assert inv.inventory_path(vm) == volume_folder() + '/' + vol.name
    disk = inv.disk(vm)
    # The linked clone's disk is a child of the snapshot's (base) disk.
    assert disk.backing.parent.fileName == src_base_ds_path
    local = inv.local_path(disk.backing.fileName)
    assert df.parent_path(local, inv.sim.datastore_root) == base
    assert datastore_name(disk.backing.fileName) == 'gold-ds'
    assert read(inv, local) == a
    assert read(inv, base) == a and read(inv, delta) == b


def test_create_volume_from_template_snapshot(template_driver, ctx, inv):
    driver = template_driver
    src = create_volume(driver, ctx)
    _, base = disk_path(inv, backing_of(inv, src))
    data = df.pattern('from-template')
    df.write_data(base, OFFSET, data)
    snap = snapshot_volume(driver, ctx, src)
    vms_before = set(inv.vm_names())
    vol = new_volume(ctx, size=2)

    driver.create_volume_from_snapshot(vol, snap)

    vm = assert_backing(inv, vol)
    _, local = disk_path(inv, vm)
    assert read(inv, local) == data
    assert inv.disk(vm).capacityInKB == 2 * units.Mi  # extended to 2 GB
    # Only the new backing remains: the temporary clone was deleted.
    assert set(inv.vm_names()) - vms_before == {vol.name}
    assert inv.vm(snap.name) is not None
    assert read(inv, base) == data


@pytest.mark.parametrize('clone_type', ['full', 'linked'])
def test_create_cloned_volume(driver, ctx, inv, clone_type):
    src = create_volume(driver, ctx)
    src_vm = backing_of(inv, src)
    src_ds_path, base = disk_path(inv, src_vm)
    data = df.pattern('clone-source')
    df.write_data(base, OFFSET, data)
    with open(df.data_file(base), 'rb') as f:
        base_bytes = f.read(OFFSET + len(data))
    vol = new_volume(ctx, clone_type=clone_type)

    driver.create_cloned_volume(vol, src)

    vm = backing_of(inv, vol)
    disk = inv.disk(vm)
    local = inv.local_path(disk.backing.fileName)
    assert read(inv, local) == data
    if clone_type == 'full':
        assert_backing(inv, vol)
        assert getattr(disk.backing, 'parent', None) is None
        assert df.parent_path(local, inv.sim.datastore_root) is None
        assert inv.snapshot_names(src_vm) == []
        assert disk_path(inv, src_vm)[0] == src_ds_path
    else:
        # Linked: a child of the source's disk as frozen by the temporary
        # snapshot the driver takes (and then tries to delete).
        assert disk.backing.parent.fileName == src_ds_path
        assert df.parent_path(local, inv.sim.datastore_root) == base
        assert datastore_name(disk.backing.fileName) == 'gold-ds'
        assert inv.extra_config(vm)['cinder.volume.id'] == vol.id
    # The source reads what it did, and its base disk's bytes are unchanged.
    src_local = inv.local_path(inv.disk(src_vm).backing.fileName)
    assert read(inv, src_local) == data
    with open(df.data_file(base), 'rb') as f:
        assert f.read(OFFSET + len(data)) == base_bytes


# --- attach ------------------------------------------------------------------

CONNECTOR = {'platform': 'x86_64', 'os_type': 'linux', 'host': 'compute-1',
             'ip': '127.0.0.1'}


def assert_connection_info(inv, info, volume, datastore):
    vm = backing_of(inv, volume)
    data = info['data']
    assert info['driver_volume_type'] == 'vmdk'
    assert data['volume'] == vm.value
    assert data['volume_id'] == volume.id
    assert data['name'] == volume.name
    assert data['vmdk_path'] == inv.disk(vm).backing.fileName
    assert data['vmdk_size'] == volume.size * GiB
    assert data['datastore'] == inv.datastore(datastore).value
    assert data['datacenter'] == inv.by_name('Datacenter', 'DC1').value
    assert data['config']['vmware_ca_file'] == inv.sim.ca_file


def test_initialize_connection_without_instance(driver, ctx, inv):
    vol = create_volume(driver, ctx)
    vm = backing_of(inv, vol)

    info = driver.initialize_connection(vol, dict(CONNECTOR))

    assert_connection_info(inv, info, vol, 'gold-ds')
    assert backing_of(inv, vol).value == vm.value


def test_initialize_connection_creates_missing_backing(driver, ctx, inv):
    vol = new_volume(ctx)
    assert inv.vm(vol.name) is None

    info = driver.initialize_connection(vol, dict(CONNECTOR))

    assert_backing(inv, vol)
    assert_connection_info(inv, info, vol, 'gold-ds')


@pytest.fixture
def silver_driver(backends):
    return backends(vmware_cluster_name=['silver'])


def test_initialize_connection_with_instance(silver_driver, ctx, inv):
    driver = silver_driver
    vol = new_volume(ctx, host=SILVER, vmdk_type='thick')
    free_11 = free_bytes(inv, 'silver-11')
    free_12 = free_bytes(inv, 'silver-12')

    # No backing yet: it is created where the instance's host (esx-11)
    # can reach it, silver-11.
    info = driver.initialize_connection(
        vol, dict(CONNECTOR, instance=inv.vm('nova-11').value))

    vm = assert_backing(inv, vol, datastore='silver-11', hosts=('esx-11',))
    assert_connection_info(inv, info, vol, 'silver-11')
    assert free_11 - free_bytes(inv, 'silver-11') == GiB
    _, old_local = disk_path(inv, vm)
    data = df.pattern('relocate')
    df.write_data(old_local, OFFSET, data)

    # Attached again by an instance on esx-12, which cannot see silver-11:
    # the backing moves to silver-12, bytes and all.
    info = driver.initialize_connection(
        vol, dict(CONNECTOR, instance=inv.vm('nova-12').value))

    vm = assert_backing(inv, vol, datastore='silver-12', hosts=('esx-12',))
    assert_connection_info(inv, info, vol, 'silver-12')
    _, local = disk_path(inv, vm)
    assert read(inv, local) == data
    assert_files_gone(old_local)
    assert free_bytes(inv, 'silver-11') == free_11
    assert free_12 - free_bytes(inv, 'silver-12') == GiB

    # Attached by the same instance again: nothing moves.
    driver.initialize_connection(
        vol, dict(CONNECTOR, instance=inv.vm('nova-12').value))
    assert disk_path(inv, backing_of(inv, vol))[1] == local


# --- manage / unmanage -------------------------------------------------------

LEGACY_DISK = '[legacy-ds] legacy-db/data.vmdk'
LEGACY_REF = {'source-name': LEGACY_DISK + '@DC1/vm/legacy-db'}


def test_manage_existing(backends, ctx, inv):
    # Upstream's reference format.  The subclass takes the disk over where
    # it lies (its datastore is in the volume's pool): detached from the
    # legacy VM and attached to a new backing VM, bytes untouched.
    driver = backends(vmware_cluster_name=['bronze'])
    legacy = inv.vm('legacy-db')
    local = inv.local_path(LEGACY_DISK)
    data = df.pattern('legacy')
    df.write_data(local, OFFSET, data)
    legacy_free = free_bytes(inv, 'legacy-ds')

    size = driver.manage_existing_get_size(None, LEGACY_REF)
    assert size == math.ceil(1.5) == 2
    vol = new_volume(ctx, size=size, host=BRONZE)
    driver.manage_existing(vol, LEGACY_REF)

    vm = backing_of(inv, vol)
    assert inv.inventory_path(vm) == volume_folder() + '/' + vol.name
    assert inv.name_of(inv.prop(vm, 'runtime.host')) == 'esx-21'
    assert inv.extra_config(vm)['cinder.volume.id'] == vol.id
    assert inv.prop(vm, 'config.instanceUuid') == vol.id
    disk = inv.disk(vm)
    assert disk.backing.fileName == LEGACY_DISK
    assert disk.capacityInKB == int(1.5 * units.Mi)
    assert read(inv, local) == data
    assert os.path.getsize(df.data_file(local)) == int(1.5 * GiB)
    # The legacy VM keeps only its other disk; no space moved.
    assert [d.backing.fileName for d in inv.disks(legacy)] == \
        ['[legacy-ds] legacy-db/legacy-db.vmdk']
    assert free_bytes(inv, 'legacy-ds') == legacy_free
    assert driver.volumeops.get_backing(vol.name, vol.id).value == vm.value


def test_manage_existing_rejects_unknown_reference(backends, ctx):
    from cinder import exception
    driver = backends(vmware_cluster_name=['bronze'])
    vol = new_volume(ctx, host=BRONZE)
    with pytest.raises(exception.ManageExistingInvalidReference):
        driver.manage_existing(vol, {
            'source-name': '[legacy-ds] legacy-db/nope.vmdk@DC1/vm/legacy-db'})


def test_unmanage(driver, ctx, inv):
    vol = create_volume(driver, ctx)
    vm = backing_of(inv, vol)
    ds_path, local = disk_path(inv, vm)

    driver.unmanage(vol)

    assert inv.extra_config(vm).get('cinder.volume.id') == ''
    assert inv.prop(vm, 'config.instanceUuid') != vol.id
    assert driver.volumeops.get_backing_by_uuid(vol.id) is None
    # The VM and its disk stay in place.
    assert inv.vm(vol.name).value == vm.value
    assert disk_path(inv, vm) == (ds_path, local)
    assert os.path.isfile(local)

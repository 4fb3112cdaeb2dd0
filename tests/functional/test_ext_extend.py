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
"""Extend: online through the instance VM, offline inside the pool.

Online: the volume's disk is attached to an "instance" VM the way Nova's
VMware driver attaches it (a VirtualDisk device whose backing is the
volume's vmdk file, and ``volume-<id>`` in the VM's extraConfig), the
volume is marked in-use with a Cinder attachment naming that instance's
uuid, and the driver extends it.  Offline: the volume's datastore lacks
room, so the backing moves to the other datastore of its pool, never to
the roomy datastore of another cluster.
"""

import os

from cinder import exception
from oslo_utils import units
import pytest

from tests.functional import driver_fixtures as df

GiB = units.Gi
PROJECT = 'demo-project'
GOLD = 'functional@vmware#gold'
OFFSET = 3 * units.Mi
# Pool gold: gold-a is small (best fit puts new volumes there), gold-b has
# room.  Cluster silver's datastore has the most room of all, and must
# never be used for a volume of pool gold.
TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [
        {"name": "gold", "hosts": [{"name": "esx-01"}, {"name": "esx-02"}]},
        {"name": "silver", "hosts": [{"name": "esx-11"}]},
    ],
    "datastores": [
        {"name": "gold-a", "type": "VMFS", "capacity_gb": 10,
         "free_gb": 2.5, "mounts": [{"host": "esx-01"}, {"host": "esx-02"}]},
        {"name": "gold-b", "type": "VMFS", "capacity_gb": 100,
         "free_gb": 60, "mounts": [{"host": "esx-01"}, {"host": "esx-02"}]},
        {"name": "silver-ds", "type": "VMFS", "capacity_gb": 500,
         "free_gb": 400, "mounts": [{"host": "esx-11"}]},
    ],
    "vms": [
        {"name": "nova-01", "host": "esx-01", "power_state": "poweredOn",
         "disks": [{"datastore": "gold-b", "path": "nova-01/nova-01.vmdk",
                    "capacity_gb": 1, "thin": True}]},
        {"name": "nova-02", "host": "esx-02", "power_state": "poweredOn",
         "disks": [{"datastore": "gold-b", "path": "nova-02/nova-02.vmdk",
                    "capacity_gb": 1, "thin": True}]},
    ],
}]}


@pytest.fixture(scope='module')
def driver(sim, cinder_db):
    # Lazy create, the default: create_volume attaches each volume once
    # (its backing is made there) before the tests read or write it.
    drv = df.make_driver(sim, vmware_cluster_name=['gold', 'silver'],
                         vmware_placement_policy='best_fit')
    yield drv
    df.close_driver(drv)


# --- helpers -----------------------------------------------------------------

def create_volume(driver, ctx, size=1, vmdk_type='thin'):
    vol = df.new_volume(ctx, size=size, project_id=PROJECT, host=GOLD,
                        type_id=df.volume_type(ctx, vmdk_type=vmdk_type))
    driver.create_volume(vol)
    df.first_attach(driver, vol)
    return vol


def backing_disk(inv, volume):
    vm = inv.vm(volume.name)
    assert vm is not None, volume.name
    return vm, inv.disk(vm)


def datastore_of(ds_path):
    return df.DS_PATH.match(ds_path).group('ds')


def free(inv, ds):
    return inv.summary(ds).freeSpace


def nova_attach(inv, instance, volume):
    """Attach a volume's vmdk to an instance as Nova does.

    Attach the volume's vmdk to ``instance`` as Nova's VMware driver
    does; returns the instance's uuid.
    """
    session = inv.session
    factory = session.vim.client.factory
    vm = inv.vm(instance)
    _, disk = backing_disk(inv, volume)
    controller = [d for d in df.array(inv.prop(vm, 'config.hardware.device'),
                                      'VirtualDevice')
                  if 'SCSIController' in d.__class__.__name__ or
                  'LsiLogic' in d.__class__.__name__][0]
    used = [d.unitNumber for d in inv.disks(vm)
            if d.controllerKey == controller.key]
    backing = factory.create('ns0:VirtualDiskFlatVer2BackingInfo')
    backing.fileName = disk.backing.fileName
    backing.diskMode = 'persistent'
    device = factory.create('ns0:VirtualDisk')
    device.key = -101
    device.controllerKey = controller.key
    device.unitNumber = max(used) + 1
    device.capacityInKB = disk.capacityInKB
    device.backing = backing
    dev_spec = factory.create('ns0:VirtualDeviceConfigSpec')
    dev_spec.operation = 'add'
    dev_spec.device = device
    extra = factory.create('ns0:OptionValue')
    extra.key = 'volume-%s' % volume.id
    extra.value = disk.backing.uuid
    spec = factory.create('ns0:VirtualMachineConfigSpec')
    spec.deviceChange = [dev_spec]
    spec.extraConfig = [extra]
    task = session.invoke_api(session.vim, 'ReconfigVM_Task', vm, spec=spec)
    session.wait_for_task(task)
    return inv.prop(vm, 'config.instanceUuid')


def nova_detach(inv, instance, volume_path):
    session = inv.session
    factory = session.vim.client.factory
    vm = inv.vm(instance)
    device = instance_disk(inv, instance, volume_path)
    dev_spec = factory.create('ns0:VirtualDeviceConfigSpec')
    dev_spec.operation = 'remove'
    dev_spec.device = device
    spec = factory.create('ns0:VirtualMachineConfigSpec')
    spec.deviceChange = [dev_spec]
    task = session.invoke_api(session.vim, 'ReconfigVM_Task', vm, spec=spec)
    session.wait_for_task(task)


def instance_disk(inv, instance, volume_path):
    found = [d for d in inv.disks(inv.vm(instance))
             if d.backing.fileName == volume_path]
    assert len(found) == 1, (instance, volume_path)
    return found[0]


def mark_in_use(ctx, volume, instance_uuid):
    from cinder import objects
    attachment = objects.VolumeAttachment(
        ctx, volume_id=volume.id, instance_uuid=instance_uuid,
        attached_host='compute-1', mountpoint='/dev/sdb',
        attach_status='attached', attach_mode='rw')
    attachment.create()
    volume.status = 'in-use'
    volume.attach_status = 'attached'
    volume.save()
    return objects.Volume.get_by_id(ctx, volume.id)


# --- online extend -----------------------------------------------------------

def test_online_extend_grows_the_disk_on_the_instance(driver, ctx, inv):
    vol = create_volume(driver, ctx)
    backing, disk = backing_disk(inv, vol)
    path = disk.backing.fileName
    local = inv.local_path(path)
    data = df.pattern('online')
    df.write_data(local, OFFSET, data)
    vol = mark_in_use(ctx, vol, nova_attach(inv, 'nova-01', vol))
    assert instance_disk(inv, 'nova-01', path).capacityInKB == units.Mi

    driver.extend_volume(vol, 3)

    assert instance_disk(inv, 'nova-01', path).capacityInKB == 3 * units.Mi
    assert df.capacity_bytes(local) == 3 * GiB
    assert os.path.getsize(df.data_file(local)) == 3 * GiB
    assert df.read_data(local, inv.sim.datastore_root, OFFSET,
                        len(data)) == data
    # The backing stays where it was and reports the new size too.
    assert inv.vm(vol.name).value == backing.value
    assert inv.disk(backing).backing.fileName == path
    assert inv.disk(backing).capacityInKB == 3 * units.Mi
    # The instance's own disk is untouched.
    assert instance_disk(inv, 'nova-01',
                         '[gold-b] nova-01/nova-01.vmdk').capacityInKB == \
        units.Mi
    nova_detach(inv, 'nova-01', path)


def test_online_extend_without_room_refuses_and_changes_nothing(driver, ctx,
                                                                inv):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    _, disk = backing_disk(inv, vol)
    path = disk.backing.fileName
    vol = mark_in_use(ctx, vol, nova_attach(inv, 'nova-02', vol))
    room = free(inv, datastore_of(path))
    too_big = int(room // GiB) + 2

    with pytest.raises(exception.VolumeBackendAPIException,
                       match='lacks room.*Detach it'):
        driver.extend_volume(vol, too_big)

    assert instance_disk(inv, 'nova-02', path).capacityInKB == units.Mi
    assert df.capacity_bytes(inv.local_path(path)) == GiB
    assert free(inv, datastore_of(path)) == room
    assert backing_disk(inv, vol)[1].backing.fileName == path
    nova_detach(inv, 'nova-02', path)


def test_online_extend_of_unknown_instance_is_refused(driver, ctx, inv):
    vol = create_volume(driver, ctx)
    _, disk = backing_disk(inv, vol)
    vol = mark_in_use(ctx, vol, '6c3e7bc8-0000-4000-8000-00000000dead')

    with pytest.raises(exception.VolumeBackendAPIException,
                       match='not a VM of this vCenter'):
        driver.extend_volume(vol, 2)

    assert df.capacity_bytes(inv.local_path(disk.backing.fileName)) == GiB


# --- offline extend ----------------------------------------------------------

def test_offline_extend_in_place(driver, ctx, inv):
    vol = create_volume(driver, ctx)
    _, disk = backing_disk(inv, vol)

    driver.extend_volume(vol, 2)

    _, after = backing_disk(inv, vol)
    assert after.backing.fileName == disk.backing.fileName
    assert df.capacity_bytes(inv.local_path(after.backing.fileName)) == \
        2 * GiB


def test_offline_extend_relocates_inside_the_pool(driver, ctx, inv):
    vol = create_volume(driver, ctx, vmdk_type='thick')
    _, disk = backing_disk(inv, vol)
    old_path = disk.backing.fileName
    # Best fit put it on the small datastore, which cannot hold 3 GB more.
    assert datastore_of(old_path) == 'gold-a'
    assert free(inv, 'gold-a') < 2 * GiB
    data = df.pattern('offline')
    df.write_data(inv.local_path(old_path), OFFSET, data)
    free_a, free_b = free(inv, 'gold-a'), free(inv, 'gold-b')
    free_silver = free(inv, 'silver-ds')

    driver.extend_volume(vol, 3)

    _, after = backing_disk(inv, vol)
    new_local = inv.local_path(after.backing.fileName)
    assert datastore_of(after.backing.fileName) == 'gold-b'
    assert df.capacity_bytes(new_local) == 3 * GiB
    assert df.read_data(new_local, inv.sim.datastore_root, OFFSET,
                        len(data)) == data
    assert not os.path.exists(inv.local_path(old_path))
    assert free(inv, 'gold-a') - free_a == GiB
    assert free_b - free(inv, 'gold-b') == 3 * GiB
    assert free(inv, 'silver-ds') == free_silver
    assert not os.path.exists(inv.sim.datastore_path('silver-ds', vol.name))


def test_pools_report_online_extend_support(driver):
    stats = driver.get_volume_stats(refresh=True)
    assert {p['pool_name'] for p in stats['pools']} == {'gold', 'silver'}
    assert all(p['online_extend_support'] is True for p in stats['pools'])

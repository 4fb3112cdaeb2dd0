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
"""Consistent group snapshots through cinderclient (cinder group-create,
group-snapshot-create, group-create-from-src), checked on vCenter's side.

Two volumes of a consistent group are attached to the sample topology's
instance VM app-server (Cinder's attachment API with the connector Nova
sends, then Nova's part: the disk added to the instance VM); a marker is
written into both, the group snapshot is taken, a second marker written;
the group made from the group snapshot holds the first marker only.
"""

from oslo_utils import units
from oslo_vmware import vim_util
import pytest

from tests.e2e import consumer
from tests.e2e import vcenter
from tests.e2e import waiting
from tests.functional import driver_fixtures as df

OFFSET = 9 * units.Mi
INSTANCE = 'app-server'


def _instance(vsphere):
    result = vsphere.invoke_api(vim_util, 'get_objects', vsphere.vim,
                                'VirtualMachine', 1000,
                                ['name', 'config.instanceUuid'])
    for obj in result.objects:
        props = {p.name: p.val for p in obj.propSet}
        if props['name'] == INSTANCE:
            return obj.obj, props['config.instanceUuid']
    raise AssertionError('no VM %s in the topology' % INSTANCE)


def _devices(vsphere, vm):
    devices = vsphere.invoke_api(vim_util, 'get_object_property',
                                 vsphere.vim, vm, 'config.hardware.device')
    return list(devices.VirtualDevice)


def _reconfigure(vsphere, vm, **spec_fields):
    spec = vsphere.vim.client.factory.create('ns0:VirtualMachineConfigSpec')
    for name, value in spec_fields.items():
        setattr(spec, name, value)
    vsphere.wait_for_task(vsphere.invoke_api(vsphere.vim, 'ReconfigVM_Task',
                                             vm, spec=spec))


def _file_of(device):
    return getattr(getattr(device, 'backing', None), 'fileName', None)


def _nova_attach(vsphere, vm, path, size_gb, volume_id):
    """Attach a volume's disk to an instance VM as Nova does.

    Nova's part of an attach: the volume's disk on the instance VM,
    volume-<id> in its extraConfig naming the device.
    """
    cf = vsphere.vim.client.factory
    devices = _devices(vsphere, vm)
    controller = [d for d in devices if 'SCSI' in d.__class__.__name__ or
                  'LsiLogic' in d.__class__.__name__][0]
    used = {d.unitNumber for d in devices
            if getattr(d, 'controllerKey', None) == controller.key}
    disk = cf.create('ns0:VirtualDisk')
    disk.key = -100
    disk.controllerKey = controller.key
    disk.unitNumber = min(set(range(16)) - used - {7})
    disk.capacityInKB = size_gb * units.Mi
    disk.backing = cf.create('ns0:VirtualDiskFlatVer2BackingInfo')
    disk.backing.fileName = path
    disk.backing.diskMode = 'persistent'
    add = cf.create('ns0:VirtualDeviceConfigSpec')
    add.operation = 'add'
    add.device = disk
    _reconfigure(vsphere, vm, deviceChange=[add])
    attached = [d for d in _devices(vsphere, vm)
                if _file_of(d) == path][0]
    option = cf.create('ns0:OptionValue')
    option.key = 'volume-%s' % volume_id
    option.value = attached.backing.uuid
    _reconfigure(vsphere, vm, extraConfig=[option])


def _nova_detach(vsphere, vm, path):
    cf = vsphere.vim.client.factory
    remove = cf.create('ns0:VirtualDeviceConfigSpec')
    remove.operation = 'remove'
    remove.device = [d for d in _devices(vsphere, vm)
                     if _file_of(d) == path][0]
    _reconfigure(vsphere, vm, deviceChange=[remove])


def _attach(cinder, vsphere, undo, volume, vm, instance_uuid):
    connector = dict(consumer.CONNECTOR, instance=vim_util.get_moref_value(vm))
    attachment = cinder.attachments.create(volume.id, connector,
                                           instance_uuid)
    path = []

    def detach():
        if path:
            _nova_detach(vsphere, vm, path[0])
        # Only Nova (a service token) may delete an attachment that is
        # connected to an instance (Cinder bug 2004555) and this stack has
        # no Nova: the admin's reset-state detaches it in Cinder.
        cinder.volumes.reset_state(volume, 'available',
                                   attach_status='detached')
        waiting.wait_status(cinder.volumes, volume, 'available')
    undo(detach)
    cinder.attachments.complete(attachment['id'])
    volume = waiting.wait_status(cinder.volumes, volume, 'in-use')
    file_name = vcenter.backing(vsphere, volume)['disk_files'][0]
    _nova_attach(vsphere, vm, file_name, volume.size, volume.id)
    path.append(file_name)
    return file_name


def _snapshot_names(vsphere, vm):
    info = vsphere.invoke_api(vim_util, 'get_object_property', vsphere.vim,
                              vm, 'snapshot')
    return [n.name for n in getattr(info, 'rootSnapshotList', None) or []]


def _local(simulator, ds_path):
    datastore, path = ds_path[1:].split('] ', 1)
    return simulator.datastore_path(datastore, path)


def _delete_group(cinder, group):
    cinder.groups.delete(group, delete_volumes=True)
    waiting.wait_deleted(cinder.groups, group)


def _delete_group_snapshot(cinder, group_snapshot):
    cinder.group_snapshots.delete(group_snapshot)
    waiting.wait_deleted(cinder.group_snapshots, group_snapshot)


# Attached COW volumes get template-format snapshots in a consistent
# group snapshot (a COW snapshot cannot freeze a disk the instance writes).
@pytest.mark.parametrize('snapshot_format', ['template', 'COW'])
def test_consistent_group_snapshot_and_group_from_it(
        cinder, vsphere, simulator, undo, snapshot_format):
    root = simulator.datastore_root
    gtype = cinder.group_types.create('e2e-consistent-%s' % snapshot_format)
    undo(lambda: cinder.group_types.delete(gtype))
    gtype.set_keys({'consistent_group_snapshot_enabled': '<is> True'})
    vtype = cinder.volume_types.create('e2e-groups-gold-%s' % snapshot_format)
    undo(lambda: cinder.volume_types.delete(vtype))
    vtype.set_keys({'volume_backend_name': 'vmware', 'pool_name': 'gold',
                    'vmware:vmdk_type': 'thin',
                    'vmware:snapshot_format': snapshot_format})
    group = cinder.groups.create(gtype.id, vtype.id, name='e2e-group')
    undo(lambda: _delete_group(cinder, group))
    waiting.wait_status(cinder.groups, group, 'available')
    volumes = [cinder.volumes.create(1, volume_type=vtype.id,
                                     group_id=group.id)
               for _i in range(2)]
    volumes = [waiting.wait_status(cinder.volumes, v, 'available')
               for v in volumes]
    vm, instance_uuid = _instance(vsphere)
    paths = [_attach(cinder, vsphere, undo, v, vm, instance_uuid)
             for v in volumes]
    first, second = df.pattern('e2e-group-first'), df.pattern('e2e-second')
    for path in paths:
        df.write_data(_local(simulator, path), OFFSET, first)

    group_snapshot = cinder.group_snapshots.create(group.id, name='e2e-gs')
    undo(lambda: _delete_group_snapshot(cinder, group_snapshot))
    waiting.wait_status(cinder.group_snapshots, group_snapshot, 'available')

    # The instance's snapshot froze both disks and is gone again: the
    # instance writes the volumes' own disks as before.
    assert _snapshot_names(vsphere, vm) == []
    attached = [d.backing.fileName for d in _devices(vsphere, vm)
                if d.__class__.__name__ == 'VirtualDisk']
    assert set(paths) <= set(attached)
    snapshots = cinder.volume_snapshots.list(
        search_opts={'group_snapshot_id': group_snapshot.id})
    assert sorted(s.status for s in snapshots) == ['available'] * 2
    for path in paths:
        df.write_data(_local(simulator, path), OFFSET, second)

    copy = cinder.groups.get(cinder.groups.create_from_src(
        group_snapshot.id, None, name='e2e-group-copy')['id'])
    undo(lambda: _delete_group(cinder, copy))
    copy = waiting.wait_status(cinder.groups, copy, 'available')

    made = cinder.volumes.list(search_opts={'group_id': copy.id})
    assert len(made) == 2
    for volume in made:
        volume = waiting.wait_status(cinder.volumes, volume, 'available')
        backing = vcenter.backing(vsphere, volume)
        assert backing is not None and backing['cluster'] == 'gold'
        top = _local(simulator, backing['disk_files'][0])
        assert df.read_data(top, root, OFFSET, len(first)) == first
    for path in paths:
        assert df.read_data(_local(simulator, path), root, OFFSET,
                            len(second)) == second

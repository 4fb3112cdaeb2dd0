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
"""QoS and online extend through cinderclient, checked on vCenter's side.

Online extend needs an attached volume.  Without Nova, the test plays
Nova's part: it creates a Cinder attachment with a connector naming an
instance VM of the simulator (attachment-create: Cinder's
initialize_connection runs), attaches the volume's vmdk to that VM the
way Nova's VMware driver does (ReconfigVM adding a disk on that file),
and completes the attachment (attachment-complete: the volume is in-use).
Cinder's notification of Nova after the extend fails (no Nova in the
stack) and is only logged, after the volume is back to in-use.  At the
end, the test detaches the disk from the VM and resets the volume's
attach status (Cinder refuses to delete an attachment connected to an
instance unless Nova confirms it).
"""

import time

from cinderclient import exceptions as client_exceptions
from oslo_vmware import vim_util
import pytest

from tests.e2e import vcenter
from tests.e2e import waiting

GIB_IN_KB = 1024 * 1024
INSTANCE = 'app-server'  # a powered-on VM of the sample topology, in gold


def _vm(vsphere, name):
    result = vsphere.invoke_api(vim_util, 'get_objects', vsphere.vim,
                                'VirtualMachine', 1000, ['name'])
    with vim_util.WithRetrieval(vsphere.vim, result) as objects:
        for obj in objects:
            if obj.propSet[0].val == name:
                return obj.obj
    raise AssertionError('no VM %s in vCenter' % name)


def _devices(vsphere, vm):
    devices = vsphere.invoke_api(vim_util, 'get_object_property',
                                 vsphere.vim, vm, 'config.hardware.device')
    return list(devices.VirtualDevice)


def _disk_on(vsphere, vm, file_name):
    found = [d for d in _devices(vsphere, vm)
             if d.__class__.__name__ == 'VirtualDisk' and
             d.backing.fileName == file_name]
    return found[0] if found else None


def _reconfigure(vsphere, vm, operation, device):
    factory = vsphere.vim.client.factory
    change = factory.create('ns0:VirtualDeviceConfigSpec')
    change.operation = operation
    change.device = device
    spec = factory.create('ns0:VirtualMachineConfigSpec')
    spec.deviceChange = [change]
    task = vsphere.invoke_api(vsphere.vim, 'ReconfigVM_Task', vm, spec=spec)
    vsphere.wait_for_task(task)


def nova_attach(vsphere, vm, file_name):
    """Add a disk on ``file_name`` to ``vm`` as Nova's VMware driver does."""
    factory = vsphere.vim.client.factory
    devices = _devices(vsphere, vm)
    controller = [d for d in devices if hasattr(d, 'scsiCtlrUnitNumber')][0]
    used = {d.unitNumber for d in devices
            if getattr(d, 'controllerKey', None) == controller.key}
    backing = factory.create('ns0:VirtualDiskFlatVer2BackingInfo')
    backing.fileName = file_name
    backing.diskMode = 'persistent'
    disk = factory.create('ns0:VirtualDisk')
    disk.key = -101
    disk.controllerKey = controller.key
    disk.unitNumber = min(set(range(16)) - used - {7})
    disk.backing = backing
    _reconfigure(vsphere, vm, 'add', disk)


def _retried(step):
    """Run a clean-up call again on a 500.

    Run a clean-up call again on a 500: the stack's SQLite database is
    sometimes locked by the services writing right after a delete.
    """
    def run():
        for attempt in range(5):
            try:
                return step()
            except client_exceptions.ClientException as err:
                if err.code < 500 or attempt == 4:
                    raise
                time.sleep(1)
    return run


@pytest.fixture
def qos_type(cinder, undo):
    """Give a factory of pool types with a back-end QoS spec.

    qos_type(pool, **specs) -> a thin type of that pool whose back-end
    QoS spec has the given keys; both deleted when the test ends.
    """
    def make(pool, **specs):
        spec = cinder.qos_specs.create('e2e-qos-%s' % pool,
                                       dict(specs, consumer='back-end'))
        # force: deleted with its association, after the type.
        undo(_retried(lambda: cinder.qos_specs.delete(spec, force=True)))
        vtype = cinder.volume_types.create('e2e-qos-%s' % pool)
        undo(_retried(lambda: cinder.volume_types.delete(vtype)))
        vtype.set_keys({'volume_backend_name': 'vmware', 'pool_name': pool,
                        'vmware:vmdk_type': 'thin'})
        cinder.qos_specs.associate(spec, vtype.id)
        return vtype
    return make


def test_backend_qos_lands_on_the_disk(cinder, vsphere, stack, qos_type,
                                       new_volume):
    vtype = qos_type('gold', total_iops_sec='400',
                     **{'vmware:iops_reservation': '50',
                        'vmware:shares_level': 'high'})

    volume = new_volume(1, vtype)

    backing = vcenter.backing(vsphere, volume)
    assert backing is not None
    vm = _vm(vsphere, 'volume-%s' % volume.id)
    io = _disk_on(vsphere, vm, backing['disk_files'][0]).storageIOAllocation
    assert (io.limit, io.reservation, io.shares.level, io.shares.shares) == \
        (400, 50, 'high', 2000)
    assert all(p.QoS_support is True
               for p in cinder.pools.list(detailed=True))
    detail = stack.cli('get-pools', '--detail')
    assert [line for line in detail.splitlines() if 'QoS_support' in line
            and 'True' in line]


def test_online_extend_of_an_attached_volume(cinder, vsphere, volume_type,
                                             new_volume, undo):
    volume = new_volume(1, volume_type('gold'))
    instance = _vm(vsphere, INSTANCE)
    instance_uuid = vsphere.invoke_api(vim_util, 'get_object_property',
                                       vsphere.vim, instance,
                                       'config.instanceUuid')
    connector = {'host': 'compute-1', 'ip': '127.0.0.1',
                 'platform': 'x86_64', 'os_type': 'linux',
                 'instance': vim_util.get_moref_value(instance)}

    attachment = cinder.attachments.create(volume.id, connector,
                                           instance_id=instance_uuid,
                                           mode='rw')
    # Without Nova, Cinder refuses to delete an attachment connected to an
    # instance (bug 2004555); the operator's way out is a state reset,
    # which drops the attachment.
    undo(lambda: cinder.volumes.reset_state(volume, 'available',
                                            attach_status='detached'))
    vmdk_path = attachment['connection_info']['vmdk_path']
    nova_attach(vsphere, instance, vmdk_path)
    undo(lambda: _reconfigure(vsphere, instance, 'remove',
                              _disk_on(vsphere, instance, vmdk_path)))
    cinder.attachments.complete(attachment['id'])
    volume = waiting.wait_status(cinder.volumes, volume, 'in-use')

    cinder.volumes.extend(volume, 2)
    # The API set it extending; back to in-use once done, with its size.
    volume = waiting.wait_status(cinder.volumes, volume, 'in-use')
    assert volume.size == 2

    assert _disk_on(vsphere, instance, vmdk_path).capacityInKB == \
        2 * GIB_IN_KB
    assert vcenter.backing(vsphere, volume)['disks_kb'] == [2 * GIB_IN_KB]
    assert all(p.online_extend_support is True
               for p in cinder.pools.list(detailed=True))

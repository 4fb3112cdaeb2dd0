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
"""A VM's virtual devices: reads and ReconfigVM_Task edits of them."""

from cinder_vmware_ext.vsphere import retrieve

# vSphere's share values for the named levels of a virtual disk.
LEVEL_SHARES = {'low': 500, 'normal': 1000, 'high': 2000}


def is_disk(device):
    return device.__class__.__name__ == 'VirtualDisk'


def devices(session, vm):
    """Every virtual device of a VM (or a snapshot's config)."""
    return retrieve.items(retrieve.one(session, vm,
                                       'config.hardware.device'),
                          'VirtualDevice')


def disks(session, vm):
    """The VM's VirtualDisks, in device order."""
    return [d for d in devices(session, vm) if is_disk(d)]


def first_disk(session, vm):
    """The VM's first VirtualDisk, or None."""
    found = disks(session, vm)
    return found[0] if found else None


def disk_at(session, vm, file_name):
    """The VM's VirtualDisk on ``file_name``, or None."""
    for disk in disks(session, vm):
        if getattr(disk.backing, 'fileName', None) == file_name:
            return disk
    return None


def _change(factory, operation, device):
    change = factory.create('ns0:VirtualDeviceConfigSpec')
    change.operation = operation
    change.device = device
    return change


def config_spec(session, changes):
    """A VirtualMachineConfigSpec of device changes."""
    spec = session.vim.client.factory.create('ns0:VirtualMachineConfigSpec')
    spec.deviceChange = list(changes)
    return spec


def reconfigure(session, vm, spec):
    task = session.invoke_api(session.vim, 'ReconfigVM_Task', vm, spec=spec)
    session.wait_for_task(task)


def edit(session, vm, device):
    """ReconfigVM_Task editing one device as given."""
    reconfigure(session, vm, config_spec(session, [
        _change(session.vim.client.factory, 'edit', device)]))


def grow(session, vm, disk, size_gb):
    """Grow a VM's disk (ReconfigVM_Task).

    ReconfigVM_Task giving ``disk`` (a device of ``vm``) ``size_gb``
    GiB; its file is grown by vSphere (or is already).
    """
    disk.capacityInKB = size_gb * 1024 * 1024
    if getattr(disk, 'capacityInBytes', None):
        disk.capacityInBytes = size_gb * 1024 ** 3
    edit(session, vm, disk)


def remove_spec(session, device):
    """Remove a device, keeping its files (no fileOperation)."""
    return config_spec(session, [
        _change(session.vim.client.factory, 'remove', device)])


def add_existing_spec(session, file_name, capacity_bytes, thin,
                      controller_key, unit_number, key=-100):
    """Make a spec adding an existing disk file at a given slot.

    Add an existing disk file at a given slot; the file is not touched
    (no fileOperation, so vSphere neither creates nor resizes it).
    """
    factory = session.vim.client.factory
    backing = factory.create('ns0:VirtualDiskFlatVer2BackingInfo')
    backing.fileName = file_name
    backing.diskMode = 'persistent'
    backing.thinProvisioned = bool(thin)
    disk = factory.create('ns0:VirtualDisk')
    disk.key = key
    disk.controllerKey = controller_key
    disk.unitNumber = unit_number
    disk.capacityInKB = -(-int(capacity_bytes) // 1024)
    disk.backing = backing
    return config_spec(session, [_change(factory, 'add', disk)])


def swap_spec(session, old, new_backing, capacity_kb):
    """Make a spec swapping a disk device onto another backing.

    One reconfiguration: the disk device ``old`` out (its files stay),
    a device on ``new_backing`` in at the same controller slot, keeping
    the old disk's I/O allocation.
    """
    factory = session.vim.client.factory
    disk = factory.create('ns0:VirtualDisk')
    disk.key = -101
    disk.controllerKey = old.controllerKey
    disk.unitNumber = old.unitNumber
    disk.capacityInKB = capacity_kb
    disk.backing = new_backing
    if getattr(old, 'storageIOAllocation', None) is not None:
        disk.storageIOAllocation = old.storageIOAllocation
    return config_spec(session, [_change(factory, 'remove', old),
                                 _change(factory, 'add', disk)])


def set_io_allocation(session, vm, disk, allocation):
    """Give ``disk`` (a device of ``vm``) the ``core.qos.IOAllocation``."""
    factory = session.vim.client.factory
    info = factory.create('ns0:StorageIOAllocationInfo')
    info.limit = allocation.limit
    info.reservation = allocation.reservation
    shares = factory.create('ns0:SharesInfo')
    shares.level = allocation.shares_level
    shares.shares = (allocation.shares
                     if allocation.shares_level == 'custom'
                     else LEVEL_SHARES[allocation.shares_level])
    info.shares = shares
    disk.storageIOAllocation = info
    edit(session, vm, disk)

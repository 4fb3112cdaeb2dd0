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
"""Storage vMotion of a whole VM (RelocateVM_Task): its home and every
disk, with its delta chain, onto one datastore.

RelocateVM_Task is atomic: on a fault the VM and its files are where they
were; that is what lets ``datastore evacuate`` never half-move a volume.
"""

from cinder_vmware_ext.vsphere import retrieve

# Every link of a disk's chain moves, and the moved copy is not shared
# with another VM (a linked clone's parent is copied, not left behind).
MOVE_ALL = 'moveAllDiskBackingsAndDisallowSharing'


def spec(session, datastore_ref, disks, move_type=MOVE_ALL):
    """Make a relocate spec moving a VM and its disks.

    A VirtualMachineRelocateSpec moving the home and each of ``disks``
    (VirtualDisk devices) onto ``datastore_ref``.
    """
    factory = session.vim.client.factory
    relocate = factory.create('ns0:VirtualMachineRelocateSpec')
    relocate.datastore = datastore_ref
    relocate.diskMoveType = move_type
    locators = []
    for disk in disks:
        locator = factory.create(
            'ns0:VirtualMachineRelocateSpecDiskLocator')
        locator.diskId = disk.key
        locator.datastore = datastore_ref
        locator.diskMoveType = move_type
        locators.append(locator)
    relocate.disk = locators
    return relocate


def start(session, vm, relocate_spec):
    """Start RelocateVM_Task (default priority); returns the task."""
    return session.invoke_api(session.vim, 'RelocateVM_Task', vm,
                              spec=relocate_spec,
                              priority='defaultPriority')


def poll(session, task):
    """One look at a task: None while it runs, else (ok, error text)."""
    info = retrieve.one(session, task, 'info')
    state = str(getattr(info, 'state', ''))
    if state == 'success':
        return True, None
    if state == 'error':
        error = getattr(info, 'error', None)
        text = getattr(error, 'localizedMessage', None) or ''
        fault = getattr(error, 'fault', None)
        name = fault.__class__.__name__ if fault is not None else 'fault'
        return False, ('%s: %s' % (name, text) if text else name)
    return None


def relocate(session, vm, relocate_spec):
    """RelocateVM_Task, waited for."""
    session.wait_for_task(start(session, vm, relocate_spec))


def disk_devices(session, vm):
    """The VM's VirtualDisk devices as they are now (after a move)."""
    devices = retrieve.one(session, vm, 'config.hardware.device')
    return [d for d in retrieve.items(devices, 'VirtualDevice')
            if d.__class__.__name__ == 'VirtualDisk']

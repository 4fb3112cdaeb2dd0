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
"""A VM's snapshot tree and the snapshot tasks (one walk for every
caller: the creates' look-before-retry, COW snapshots, the takeover)."""

import types

from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import retrieve

_TREE = 'VirtualMachineSnapshotTree'


def nodes(snapshot_info):
    """List every node of a VM's snapshot tree, breadth first.

    Every node of a ``snapshot`` property (VirtualMachineSnapshotInfo),
    breadth first; empty when the VM has none.
    """
    todo = list(retrieve.items(
        getattr(snapshot_info, 'rootSnapshotList', None), _TREE))
    found = []
    while todo:
        node = todo.pop(0)
        found.append(node)
        todo.extend(retrieve.items(getattr(node, 'childSnapshotList', None),
                                   _TREE))
    return found


def tree(session, vm):
    """Every snapshot node of ``vm`` (one property read)."""
    return nodes(retrieve.one(session, vm, 'snapshot'))


def find(session, vm, match):
    """Find the first snapshot a predicate accepts.

    The snapshot moref of the first node ``match(node)`` accepts, or
    None.
    """
    for node in tree(session, vm):
        if match(node):
            return node.snapshot
    return None


def disks(session, snapshot):
    """Disk backings a snapshot froze (each with its parents)."""
    devices = retrieve.one(session, snapshot, 'config.hardware.device')
    return [d.backing for d in retrieve.items(devices, 'VirtualDevice')
            if d.__class__.__name__ == 'VirtualDisk']


def remove(session, snapshot):
    """RemoveSnapshot_Task of one snapshot (its children stay)."""
    task = session.invoke_api(session.vim, 'RemoveSnapshot_Task', snapshot,
                              removeChildren=False)
    session.wait_for_task(task)


def _disk_files(session, vm):
    devices = retrieve.one(session, vm, 'config.hardware.device')
    return sorted(d.backing.fileName
                  for d in retrieve.items(devices, 'VirtualDevice')
                  if d.__class__.__name__ == 'VirtualDisk')


def revert(session, snapshot):
    """Revert a VM to a snapshot, never twice.

    RevertToSnapshot_Task, not run twice: a revert gives the VM new
    delta disks, so when the connection broke and the VM's disks are not
    those it had, vCenter ran the revert and its answer was lost (a second
    revert would throw away nothing more, but make new deltas again).
    """
    vm = retrieve.one(session, snapshot, 'vm')
    before = _disk_files(session, vm)
    attempts = []

    def start():
        if attempts and _disk_files(session, vm) != before:
            return None
        attempts.append(1)
        return session.vim.RevertToSnapshot_Task(snapshot)

    task = session.invoke_api(types.SimpleNamespace(start=start), 'start')
    if task is not None:
        session.wait_for_task(task)


def rename(session, snapshot_value, name, description):
    """RenameSnapshot (by moref value)."""
    session.invoke_api(
        session.vim, 'RenameSnapshot',
        vim_util.get_moref(snapshot_value, 'VirtualMachineSnapshot'),
        name=name, description=description)

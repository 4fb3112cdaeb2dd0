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
"""Round trips on VM snapshot trees for the operator commands: the disk
files every snapshot froze (one pass over all of them), rename, remove."""

from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import retrieve


def frozen_disks(session, snapshots):
    """List the disk files each given snapshot froze, in one pass.

    {snapshot moref value: [disk file names]} for the given snapshot
    morefs, in one PropertyCollector pass.
    """
    if not snapshots:
        return {}
    result = session.invoke_api(
        vim_util, 'get_properties_for_a_collection_of_objects', session.vim,
        'VirtualMachineSnapshot', list(snapshots),
        ['config.hardware.device'])
    found = {}
    with vim_util.WithRetrieval(session.vim, result) as objects:
        for obj in objects:
            files = []
            for prop in getattr(obj, 'propSet', None) or []:
                for device in retrieve.items(prop.val, 'VirtualDevice'):
                    if device.__class__.__name__ == 'VirtualDisk':
                        files.append(device.backing.fileName)
            found[vim_util.get_moref_value(obj.obj)] = files
    return found


def rename(session, snapshot, name=None, description=None):
    """VirtualMachineSnapshot.RenameSnapshot (name and/or description)."""
    kwargs = {}
    if name is not None:
        kwargs['name'] = name
    if description is not None:
        kwargs['description'] = description

    def renamed():
        now = _name_of(session, snapshot)
        return now is not None and all(
            now[i] == want for i, want in enumerate((name, description))
            if want is not None)
    faults.unless_applied(
        lambda: session.invoke_api(session.vim, 'RenameSnapshot', snapshot,
                                   **kwargs),
        renamed, 'Renaming snapshot %s' % vim_util.get_moref_value(snapshot))


def _name_of(session, snapshot):
    """(name, description) of a snapshot in its VM's tree, or None."""
    vm = retrieve.one(session, snapshot, 'vm')
    info = retrieve.one(session, vm, 'snapshot')
    value = vim_util.get_moref_value(snapshot)
    todo = retrieve.items(getattr(info, 'rootSnapshotList', None),
                          'VirtualMachineSnapshotTree')
    while todo:
        node = todo.pop()
        if vim_util.get_moref_value(node.snapshot) == value:
            return node.name, getattr(node, 'description', '') or ''
        todo += retrieve.items(getattr(node, 'childSnapshotList', None),
                               'VirtualMachineSnapshotTree')
    return None


def remove(session, snapshot):
    """RemoveSnapshot_Task without its children, consolidating."""
    task = session.invoke_api(session.vim, 'RemoveSnapshot_Task', snapshot,
                              removeChildren=False, consolidate=True)
    session.wait_for_task(task)

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
"""COW snapshots chosen by the volume type, revert and a linked clone,
through cinderclient, each checked on vCenter's side.

The stack's backend keeps upstream's default snapshot format (template);
the type's ``vmware:snapshot_format = COW`` overrides it per volume.
"""

from oslo_vmware import vim_util

from tests.e2e import vcenter
from tests.e2e import waiting
from tests.functional import driver_fixtures as df

OFFSET = 7 * 1024 * 1024


def _cow_linked_type(cinder, undo, pool):
    vtype = cinder.volume_types.create('e2e-cow-linked-%s' % pool)
    undo(lambda: cinder.volume_types.delete(vtype))
    vtype.set_keys({'volume_backend_name': 'vmware', 'pool_name': pool,
                    'vmware:vmdk_type': 'thin',
                    'vmware:snapshot_format': 'COW',
                    'vmware:clone_type': 'linked'})
    return vtype


def _backing_vm(vsphere, volume):
    result = vsphere.invoke_api(vim_util, 'get_objects', vsphere.vim,
                                'VirtualMachine', 1000, ['name'])
    for obj in result.objects:
        if obj.propSet[0].val == 'volume-%s' % volume.id:
            return obj.obj
    return None


def _snapshot_names(vsphere, vm):
    info = vsphere.invoke_api(vim_util, 'get_object_property', vsphere.vim,
                              vm, 'snapshot')
    names, todo = [], list(getattr(info, 'rootSnapshotList', None) or [])
    while todo:
        node = todo.pop(0)
        names.append(node.name)
        todo.extend(getattr(node, 'childSnapshotList', None) or [])
    return names


def _local(simulator, ds_path):
    datastore, path = ds_path[1:].split('] ', 1)
    return simulator.datastore_path(datastore, path)


def _top_disk(simulator, vsphere, volume):
    return _local(simulator, vcenter.backing(vsphere, volume)['disk_files'][0])


def test_cow_snapshot_revert_and_linked_clone(cinder, vsphere, simulator,
                                              undo, new_volume, new_snapshot):
    root = simulator.datastore_root
    vtype = _cow_linked_type(cinder, undo, 'gold')
    source = new_volume(1, vtype)
    base = _top_disk(simulator, vsphere, source)
    before = df.pattern('e2e-before')
    df.write_data(base, OFFSET, before)
    vms_before = vcenter.vm_names(vsphere)

    snapshot = new_snapshot(source)

    # A vSphere snapshot of the backing, no template VM.
    vm = _backing_vm(vsphere, source)
    assert _snapshot_names(vsphere, vm) == ['snapshot-%s' % snapshot.id]
    assert vcenter.vm_names(vsphere) == vms_before
    top = _top_disk(simulator, vsphere, source)
    assert df.disk_chain(top, root) == [top, base]
    assert cinder.volume_snapshots.get(snapshot.id).metadata[
        'vmware_chain_depth'] == '1'
    df.write_data(top, OFFSET, df.pattern('e2e-after'))

    cinder.volumes.revert_to_snapshot(source, snapshot)
    waiting.wait_status(cinder.volumes, source, 'available')

    top = _top_disk(simulator, vsphere, source)
    assert df.read_data(top, root, OFFSET, len(before)) == before
    # Cinder's temporary snapshot for the revert is gone again.
    assert _snapshot_names(vsphere, vm) == ['snapshot-%s' % snapshot.id]

    clone = new_volume(1, vtype, snapshot_id=snapshot.id)

    backing = vcenter.backing(vsphere, clone)
    assert backing['cluster'] == 'gold'
    assert backing['linked'] is True
    clone_top = _local(simulator, backing['disk_files'][0])
    assert df.disk_chain(clone_top, root) == [clone_top, base]
    assert df.read_data(clone_top, root, OFFSET, len(before)) == before

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
"""VM-level storage in the simulator: snapshots, clones, relocation, register.

Drives the vSphere calls Cinder's VMDK driver makes (CreateSnapshot_Task,
RevertToSnapshot_Task, RemoveSnapshot_Task, CloneVM_Task with linked and
full clones, RelocateVM_Task, MarkAsTemplate, UnregisterVM/RegisterVM_Task,
Destroy_Task) through oslo.vmware and checks the real effects: disk
backings and snapshot trees read through the property collector, files
and logical disk bytes under datastore_root (tests/vmdk.py), datastore
figures.
"""

import os
import ssl
import urllib.request

from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util
import pytest

from tests import simulator as vcsim
from tests import vmdk

GiB = 1 << 30
MiB = 1 << 20
SIZE = 256 * MiB

TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [{"name": "gold",
                  "hosts": [{"name": "esx-01"}, {"name": "esx-02"}]}],
    "datastores": [
        {"name": "ds-a", "type": "VMFS", "capacity_gb": 100, "free_gb": 20,
         "mounts": [{"host": "esx-01"}, {"host": "esx-02"}]},
        {"name": "ds-b", "type": "NFS", "capacity_gb": 50, "free_gb": 10,
         "mounts": [{"host": "esx-01"}, {"host": "esx-02"}]},
    ],
    "vms": [{"name": "vol-1", "host": "esx-01", "power_state": "poweredOff",
             "disks": [{"datastore": "ds-a", "path": "vol-1/vol-1.vmdk",
                        "capacity_gb": SIZE / GiB, "thin": False}]}],
}]}


class Env(object):
    def __init__(self, sim):
        self.sim = sim
        self.root = sim.datastore_root
        self.session = sim.session()
        self.vim = self.session.vim
        self.cf = self.vim.client.factory
        self.dc = self.find('Datacenter', 'DC1')
        self.ds = {n: self.find('Datastore', n) for n in ('ds-a', 'ds-b')}
        self.vm = self.find('VirtualMachine', 'vol-1')
        self.folder = self.prop(self.vm, 'parent')
        self.pool = self.prop(self.vm, 'resourcePool')

    def find(self, kind, name):
        res = self.session.invoke_api(vim_util, 'get_objects', self.vim,
                                      kind, 100, ['name'])
        for obj in getattr(res, 'objects', None) or []:
            if obj.propSet[0].val == name:
                return obj.obj
        raise LookupError(name)

    def prop(self, ref, name):
        return self.session.invoke_api(vim_util, 'get_object_property',
                                       self.vim, ref, name)

    def task(self, method, obj, **kw):
        t = self.session.invoke_api(self.vim, method, obj, **kw)
        return getattr(self.session.wait_for_task(t), 'result', None)

    def disk(self, vm):
        devices = self.prop(vm, 'config.hardware.device').VirtualDevice
        return [d for d in devices if type(d).__name__ == 'VirtualDisk'][0]

    def backing(self, vm):
        return self.disk(vm).backing

    def local(self, ds_path):
        ds, path = ds_path[1:].split('] ', 1)
        return os.path.join(self.root, ds, path)

    def read(self, ds_path, offset=0, length=4096):
        return vmdk.read(self.local(ds_path), offset, length, self.root)

    def write(self, ds_path, data, offset=0):
        vmdk.write(self.local(ds_path), offset, data, self.root)

    def free(self, ds):
        s = self.prop(self.ds[ds], 'summary')
        return s.freeSpace, getattr(s, 'uncommitted', 0) or 0

    def snapshot(self, vm, name):
        def walk(nodes):
            for n in nodes or []:
                if n.name == name:
                    return n
                found = walk(getattr(n, 'childSnapshotList', None))
                if found:
                    return found
        info = self.prop(vm, 'snapshot')
        return walk(info.rootSnapshotList) if info else None

    def create_snapshot(self, vm, name):
        return self.task('CreateSnapshot_Task', vm, name=name,
                         description='d-' + name, memory=False, quiesce=False)

    def clone_spec(self, move_type, snapshot=None, datastore=None,
                   extra=None):
        loc = self.cf.create('ns0:VirtualMachineRelocateSpec')
        loc.diskMoveType = move_type
        loc.datastore = datastore
        spec = self.cf.create('ns0:VirtualMachineCloneSpec')
        spec.location = loc
        spec.powerOn = False
        spec.template = False
        spec.snapshot = snapshot
        config = self.cf.create('ns0:VirtualMachineConfigSpec')
        if extra:
            opts = []
            for k, v in extra.items():
                o = self.cf.create('ns0:OptionValue')
                o.key, o.value = k, v
                opts.append(o)
            config.extraConfig = opts
        spec.config = config
        return spec

    def clone(self, name, spec, vm=None):
        return self.task('CloneVM_Task', vm or self.vm, folder=self.folder,
                         name=name, spec=spec)


@pytest.fixture
def env(start_simulator):
    return Env(start_simulator(TOPOLOGY))


def files_in(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def test_snapshot_creates_delta_and_revert_restores_bytes(env):
    base = env.backing(env.vm).fileName
    assert base == '[ds-a] vol-1/vol-1.vmdk'
    env.write(base, b'at-snapshot-1')
    free0, unc0 = env.free('ds-a')

    snap = env.create_snapshot(env.vm, 's1')
    b = env.backing(env.vm)
    assert b.fileName == '[ds-a] vol-1/vol-1-000001.vmdk'
    assert b.parent.fileName == base
    d = vmdk.read_descriptor(env.local(b.fileName))
    assert d.is_delta and d.fields['parentFileNameHint'] == 'vol-1.vmdk'
    assert os.path.exists(d.data_path) and d.data_path.endswith('-delta.vmdk')
    info = env.prop(env.vm, 'snapshot')
    assert info.currentSnapshot.value == snap.value
    assert info.rootSnapshotList[0].name == 's1'
    assert info.rootSnapshotList[0].description == 'd-s1'
    # The snapshot records the disk files as of the snapshot.
    sdisks = [x for x in env.prop(snap, 'config').hardware.device
              if type(x).__name__ == 'VirtualDisk']
    assert sdisks[0].backing.fileName == base
    assert env.free('ds-a') == (free0, unc0 + SIZE)  # delta charged thin

    env.write(b.fileName, b'written-later')
    assert env.read(b.fileName)[:13] == b'written-later'
    assert env.read(base)[:13] == b'at-snapshot-1'

    env.task('RevertToSnapshot_Task', snap)
    b2 = env.backing(env.vm)
    assert b2.parent.fileName == base and b2.fileName != base
    assert (not os.path.exists(env.local(b.fileName))
            or b2.fileName == b.fileName)
    assert env.read(b2.fileName)[:13] == b'at-snapshot-1'
    assert env.prop(env.vm, 'snapshot').currentSnapshot.value == snap.value
    assert env.free('ds-a') == (free0, unc0 + SIZE)

    # Nested snapshot: child of s1, current moves.
    snap2 = env.create_snapshot(env.vm, 's2')
    tree = env.prop(env.vm, 'snapshot').rootSnapshotList[0]
    assert tree.childSnapshotList[0].snapshot.value == snap2.value
    chain = env.backing(env.vm)
    assert chain.parent.fileName == b2.fileName
    assert chain.parent.parent.fileName == base


def test_remove_snapshot_consolidates_and_refunds(env):
    base = env.backing(env.vm).fileName
    free0, unc0 = env.free('ds-a')
    env.write(base, b'A' * 10)
    env.create_snapshot(env.vm, 's1')
    env.write(env.backing(env.vm).fileName, b'B' * 10, offset=8192)
    s2 = env.create_snapshot(env.vm, 's2')
    top = env.backing(env.vm).fileName
    env.write(top, b'C' * 10, offset=16384)
    expect = env.read(top, 0, 20480)
    assert expect[:10] == b'A' * 10 and expect[8192:8202] == b'B' * 10
    assert expect[16384:16394] == b'C' * 10

    # Removing the current snapshot merges the running delta into its disk.
    env.task('RemoveSnapshot_Task', s2, removeChildren=False)
    b = env.backing(env.vm)
    assert not os.path.exists(env.local(top))
    assert b.parent.fileName == base
    assert env.read(b.fileName, 0, 20480) == expect
    info = env.prop(env.vm, 'snapshot')
    want = env.snapshot(env.vm, 's1').snapshot
    assert info.currentSnapshot.value == want.value
    assert not getattr(info.rootSnapshotList[0], 'childSnapshotList', None)

    s1 = env.snapshot(env.vm, 's1').snapshot
    env.task('RemoveSnapshot_Task', s1, removeChildren=False)
    b = env.backing(env.vm)
    assert b.fileName == base and not getattr(b, 'parent', None)
    assert env.read(base, 0, 20480) == expect
    assert env.prop(env.vm, 'snapshot') is None
    vol_dir = env.local('[ds-a] vol-1')
    assert [f for f in files_in(vol_dir) if '-0000' in f] == []
    assert env.free('ds-a') == (free0, unc0)


def test_remove_all_snapshots(env):
    base = env.backing(env.vm).fileName
    free0, unc0 = env.free('ds-a')
    env.create_snapshot(env.vm, 's1')
    env.write(env.backing(env.vm).fileName, b'one')
    env.create_snapshot(env.vm, 's2')
    env.write(env.backing(env.vm).fileName, b'two', offset=4096)
    expect = env.read(env.backing(env.vm).fileName, 0, 8192)
    env.task('RemoveAllSnapshots_Task', env.vm)
    assert env.backing(env.vm).fileName == base
    assert env.read(base, 0, 8192) == expect
    assert env.free('ds-a') == (free0, unc0)


def test_rename_and_export_snapshot(env):
    base = env.backing(env.vm).fileName
    env.write(base, b'exported-bytes')
    snap = env.create_snapshot(env.vm, 's1')
    env.write(env.backing(env.vm).fileName, b'not-in-export')
    env.session.invoke_api(env.vim, 'RenameSnapshot', snap,
                           name='renamed', description='new desc')
    node = env.prop(env.vm, 'snapshot').rootSnapshotList[0]
    assert (node.name, node.description) == ('renamed', 'new desc')

    lease = env.session.invoke_api(env.vim, 'ExportSnapshot', snap)
    info = env.prop(lease, 'info')
    urls = info.deviceUrl
    assert len(urls) == 1 and urls[0].disk
    url = urls[0].url.replace('*', '%s:%s' % (env.sim.host, env.sim.port))
    ctx = ssl.create_default_context(cafile=env.sim.ca_file)
    with urllib.request.urlopen(url, context=ctx) as resp:
        served = resp.read()
    disk, _ = vcsim.read_stream_optimized(served)  # as vCenter serves it
    assert disk[:14] == b'exported-bytes'
    env.session.invoke_api(env.vim, 'HttpNfcLeaseComplete', lease)


def test_linked_clone_shares_snapshot_disk_and_source_is_unchanged(env):
    base = env.backing(env.vm).fileName
    env.write(base, b'snapshot-state')
    snap = env.create_snapshot(env.vm, 'tmp')
    src_top = env.backing(env.vm).fileName
    env.write(src_top, b'source-writes!')

    spec = env.clone_spec('createNewChildDiskBacking', snapshot=snap,
                          extra={'cinder.volume.id': 'vol-2-id'})
    clone = env.clone('vol-2', spec)
    cb = env.backing(clone)
    assert cb.parent.fileName == base
    assert cb.fileName.startswith('[ds-a] vol-2/')
    assert env.backing(env.vm).fileName == src_top  # source untouched
    assert env.read(cb.fileName)[:14] == b'snapshot-state'
    assert env.read(src_top)[:14] == b'source-writes!'
    extra = {o.key: o.value
             for o in env.prop(clone, 'config.extraConfig').OptionValue}
    assert extra['cinder.volume.id'] == 'vol-2-id'

    # Cinder deletes its temporary snapshot: the shared base must stay.
    env.task('RemoveSnapshot_Task', snap, removeChildren=False)
    assert os.path.exists(env.local(base))
    assert env.backing(env.vm).fileName == src_top
    assert env.read(cb.fileName)[:14] == b'snapshot-state'
    assert env.read(src_top)[:14] == b'source-writes!'

    # Deleting the clone leaves the source's files.
    env.task('Destroy_Task', clone)
    assert not os.path.exists(env.local(cb.fileName))
    assert os.path.exists(env.local(base))
    assert env.read(src_top)[:14] == b'source-writes!'


def test_destroy_source_keeps_disk_a_linked_clone_uses(env):
    base = env.backing(env.vm).fileName
    env.write(base, b'shared-base')
    snap = env.create_snapshot(env.vm, 'tmp')
    clone = env.clone('vol-3', env.clone_spec('createNewChildDiskBacking',
                                              snapshot=snap))
    cb = env.backing(clone)
    env.task('Destroy_Task', env.vm)
    assert os.path.exists(env.local(base))
    assert env.read(cb.fileName)[:11] == b'shared-base'
    # The linked group's last VM takes the shared base with it.
    free_before = env.free('ds-a')
    env.task('Destroy_Task', clone)
    assert not os.path.exists(env.local(base))
    assert env.free('ds-a')[0] == free_before[0] + SIZE


def test_full_clone_copies_state_and_is_independent(env):
    base = env.backing(env.vm).fileName
    env.write(base, b'snap-point')
    snap = env.create_snapshot(env.vm, 's')
    env.write(env.backing(env.vm).fileName, b'after-snap')
    free_b, unc_b = env.free('ds-b')

    spec = env.clone_spec('moveAllDiskBackingsAndDisallowSharing',
                          snapshot=snap, datastore=env.ds['ds-b'])
    clone = env.clone('vol-4', spec)
    cb = env.backing(clone)
    assert cb.fileName == '[ds-b] vol-4/vol-4.vmdk'
    assert not getattr(cb, 'parent', None)
    assert env.read(cb.fileName)[:10] == b'snap-point'
    assert env.free('ds-b') == (free_b - SIZE, unc_b)
    vmx = env.prop(clone, 'config.files.vmPathName')
    assert vmx == '[ds-b] vol-4/vol-4.vmx'

    # Without a snapshot: a copy of the current state.
    clone2 = env.clone('vol-5', env.clone_spec(
        'moveAllDiskBackingsAndDisallowSharing', datastore=env.ds['ds-b']))
    assert env.read(env.backing(clone2).fileName)[:10] == b'after-snap'

    env.write(cb.fileName, b'clone-only')
    assert env.read(env.backing(env.vm).fileName)[:10] == b'after-snap'
    env.task('Destroy_Task', clone)
    assert os.path.exists(env.local(base))
    assert env.read(env.backing(env.vm).fileName)[:10] == b'after-snap'
    assert not os.path.exists(env.local('[ds-b] vol-4'))


def test_clone_without_space_fails_and_leaves_nothing(env):
    env.sim.set_datastore('ds-b', free_gb=0.1)
    spec = env.clone_spec('moveAllDiskBackingsAndDisallowSharing',
                          datastore=env.ds['ds-b'])
    with pytest.raises(vexc.VimException) as err:
        env.clone('vol-6', spec)
    assert 'NoDiskSpace' in (type(err.value).__name__ + str(err.value) +
                             str(getattr(err.value, 'fault_list', '')))
    assert not os.path.exists(env.local('[ds-b] vol-6'))
    with pytest.raises(LookupError):
        env.find('VirtualMachine', 'vol-6')


def test_relocate_moves_files_and_capacity(env):
    base = env.backing(env.vm).fileName
    env.write(base, b'relocated!')
    fa, ua = env.free('ds-a')
    fb, ub = env.free('ds-b')
    host2 = env.find('HostSystem', 'esx-02')
    spec = env.cf.create('ns0:VirtualMachineRelocateSpec')
    spec.datastore = env.ds['ds-b']
    spec.diskMoveType = 'moveAllDiskBackingsAndAllowSharing'
    spec.host = host2
    env.task('RelocateVM_Task', env.vm, spec=spec)

    b = env.backing(env.vm)
    assert b.fileName == '[ds-b] vol-1/vol-1.vmdk'
    assert b.datastore.value == env.ds['ds-b'].value
    assert env.read(b.fileName)[:10] == b'relocated!'
    assert not os.path.exists(env.local(base))
    assert not os.path.exists(env.local('[ds-a] vol-1'))
    vmx = env.prop(env.vm, 'config.files.vmPathName')
    assert vmx == '[ds-b] vol-1/vol-1.vmx'
    datastores = env.prop(env.vm, 'datastore').ManagedObjectReference
    assert [d.value for d in datastores] == [env.ds['ds-b'].value]
    assert env.prop(env.vm, 'runtime.host').value == host2.value
    assert env.free('ds-a') == (fa + SIZE, ua)
    assert env.free('ds-b') == (fb - SIZE, ub)


def test_relocate_with_snapshot_moves_chain(env):
    base = env.backing(env.vm).fileName
    env.write(base, b'base-data')
    env.create_snapshot(env.vm, 's')
    at_snapshot = env.read(base, 4096, 10)
    env.write(env.backing(env.vm).fileName, b'delta-data', offset=4096)
    spec = env.cf.create('ns0:VirtualMachineRelocateSpec')
    spec.datastore = env.ds['ds-b']
    env.task('RelocateVM_Task', env.vm, spec=spec)
    b = env.backing(env.vm)
    assert b.fileName.startswith('[ds-b] vol-1/')
    assert b.parent.fileName == '[ds-b] vol-1/vol-1.vmdk'
    assert env.read(b.fileName, 0, 8192)[:9] == b'base-data'
    assert env.read(b.fileName, 4096, 10) == b'delta-data'
    snap = env.snapshot(env.vm, 's').snapshot
    sdisk = [x for x in env.prop(snap, 'config').hardware.device
             if type(x).__name__ == 'VirtualDisk'][0]
    assert sdisk.backing.fileName == '[ds-b] vol-1/vol-1.vmdk'
    env.task('RevertToSnapshot_Task', snap)
    assert env.read(env.backing(env.vm).fileName, 4096, 10) == at_snapshot


def test_template_and_register_round_trip_keeps_disks(env):
    base = env.backing(env.vm).fileName
    env.write(base, b'registered')
    uuid = env.prop(env.vm, 'config.instanceUuid')
    host = env.prop(env.vm, 'runtime.host')
    env.session.invoke_api(env.vim, 'MarkAsTemplate', env.vm)
    assert env.prop(env.vm, 'config.template') is True
    env.session.invoke_api(env.vim, 'MarkAsVirtualMachine', env.vm,
                           pool=env.pool, host=host)
    assert env.prop(env.vm, 'config.template') is False

    vmx = env.prop(env.vm, 'config.files.vmPathName')
    env.session.invoke_api(env.vim, 'UnregisterVM', env.vm)
    with pytest.raises(LookupError):
        env.find('VirtualMachine', 'vol-1')
    vm = env.task('RegisterVM_Task', env.folder, path=vmx, asTemplate=False,
                  pool=env.pool, host=host)
    assert env.prop(vm, 'name') == 'vol-1'
    assert env.prop(vm, 'config.instanceUuid') == uuid
    disk = env.disk(vm)
    assert disk.backing.fileName == base
    assert disk.capacityInBytes == SIZE
    assert env.read(base)[:10] == b'registered'

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
"""The simulator's virtual disks: real files and truthful datastore figures.

Drives VirtualDiskManager, FileManager and ReconfigVM_Task through
oslo.vmware and checks the files under datastore_root (tests/vmdk.py) and
the datastores' summary figures read back through the property collector.
"""

import os

from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util
import pytest

from tests import simulator as vcsim
from tests import vmdk

GiB = 1 << 30
MiB = 1 << 20

TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "standalone_hosts": [{"name": "esx-01"}],
    "datastores": [
        {"name": "ds-a", "type": "VMFS", "capacity_gb": 100, "free_gb": 10,
         "uncommitted_gb": 1, "mounts": [{"host": "esx-01"}]},
        {"name": "ds b ü", "type": "NFS", "capacity_gb": 50, "free_gb": 5,
         "mounts": [{"host": "esx-01"}]},
    ],
    "vms": [{"name": "vm-1", "host": "esx-01", "power_state": "poweredOff",
             "disks": [{"datastore": "ds-a", "path": "vm-1/vm-1.vmdk",
                        "capacity_gb": 1, "thin": True}]},
            {"name": "vm-2", "host": "esx-01", "power_state": "poweredOff",
             "disks": [{"datastore": "ds-a", "path": "vm-2/vm-2.vmdk",
                        "capacity_gb": 1, "thin": True}]}],
}]}


class Env(object):
    def __init__(self, sim):
        self.sim = sim
        self.session = sim.session()
        self.vim = self.session.vim
        sc = self.vim.service_content
        self.vdm = sc.virtualDiskManager
        self.fm = sc.fileManager
        self.dc = self.find('Datacenter', 'DC1')
        self.ds = {n: self.find('Datastore', n) for n in ('ds-a', 'ds b ü')}

    def find(self, kind, name):
        res = self.session.invoke_api(vim_util, 'get_objects', self.vim,
                                      kind, 100, ['name'])
        for obj in res.objects:
            if obj.propSet[0].val == name:
                return obj.obj
        raise LookupError(name)

    def prop(self, ref, name):
        return self.session.invoke_api(vim_util, 'get_object_property',
                                       self.vim, ref, name)

    def figures(self, ds_name):
        s = self.prop(self.ds[ds_name], 'summary')
        info_free = self.prop(self.ds[ds_name], 'info').freeSpace
        assert info_free == s.freeSpace
        return s.freeSpace, getattr(s, 'uncommitted', 0) or 0

    def local(self, ds_name, path):
        return self.sim.datastore_path(ds_name, path)

    def task(self, method, obj, **kw):
        t = self.session.invoke_api(self.vim, method, obj, **kw)
        return self.session.wait_for_task(t)

    def mkdir(self, ds_name, path):
        self.session.invoke_api(self.vim, 'MakeDirectory', self.fm,
                                name='[%s] %s' % (ds_name, path),
                                datacenter=self.dc,
                                createParentDirectories=True)

    def create(self, ds_name, path, size, disk_type='thin',
               adapter='lsiLogic'):
        spec = self.vim.client.factory.create('ns0:FileBackedVirtualDiskSpec')
        spec.capacityKb = size // 1024
        spec.diskType = disk_type
        spec.adapterType = adapter
        name = '[%s] %s' % (ds_name, path)
        self.task('CreateVirtualDisk_Task', self.vdm, name=name,
                  datacenter=self.dc, spec=spec)
        return name


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    """Share one simulator across the module.

    One simulator for the module (a session takes seconds to set up);
    each test works in its own folders and checks figures relatively.
    """
    sim = vcsim.Simulator.start(TOPOLOGY,
                                workdir=str(tmp_path_factory.mktemp('disks')))
    try:
        yield Env(sim)
    finally:
        sim.stop()


def fault_name(exc):
    return type(exc).__name__ + ' ' + ' '.join(
        getattr(exc, 'fault_list', None) or []) + ' ' + str(exc)


def test_create_thick_and_thin_charge_exactly(env):
    free0, unc0 = env.figures('ds-a')
    env.mkdir('ds-a', 'vols-create')
    env.create('ds-a', 'vols-create/thick.vmdk', 2 * GiB, 'preallocated')
    env.create('ds-a', 'vols-create/eager.vmdk', 1 * GiB, 'eagerZeroedThick')
    env.create('ds-a', 'vols-create/thin.vmdk', 3 * GiB, 'thin')
    free, unc = env.figures('ds-a')
    assert free == free0 - 3 * GiB
    assert unc == unc0 + 3 * GiB

    d = vmdk.read_descriptor(env.local('ds-a', 'vols-create/thick.vmdk'))
    assert d.capacity == 2 * GiB and not d.thin
    assert d.fields['createType'] == 'vmfs'
    assert d.ddb['ddb.adapterType'] == 'lsilogic'
    assert d.uuid.startswith('60 00 C2 ')
    assert os.path.getsize(d.data_path) == 2 * GiB
    thin = env.local('ds-a', 'vols-create/thin.vmdk')
    assert vmdk.read_descriptor(thin).thin

    for name in ('thick', 'eager', 'thin'):
        env.task('DeleteVirtualDisk_Task', env.vdm,
                 name='[ds-a] vols-create/%s.vmdk' % name, datacenter=env.dc)
    assert env.figures('ds-a') == (free0, unc0)
    assert os.listdir(env.local('ds-a', 'vols-create')) == []


def test_thick_that_does_not_fit_leaves_nothing(env):
    env.mkdir('ds-a', 'vols-nospace')
    before = env.figures('ds-a')
    with pytest.raises(vexc.VimException) as e:
        env.create('ds-a', 'vols-nospace/big.vmdk', 90 * GiB, 'preallocated')
    assert 'NoDiskSpace' in fault_name(e.value)
    assert os.listdir(env.local('ds-a', 'vols-nospace')) == []
    assert env.figures('ds-a') == before
    # The same size thin fits: it only adds to uncommitted.
    env.create('ds-a', 'vols-nospace/big.vmdk', 90 * GiB, 'thin')
    assert env.figures('ds-a') == (before[0], before[1] + 90 * GiB)


def test_bad_disk_types_and_paths(env):
    env.mkdir('ds-a', 'vols-bad')
    for bad_type in ('sparse2Gb', 'bogus'):
        with pytest.raises(vexc.VimException):
            env.create('ds-a', 'vols-bad/x.vmdk', MiB, bad_type)
    for bad in ('vols-bad/../../escape.vmdk', '/etc/passwd.vmdk'):
        with pytest.raises(vexc.VimException) as e:
            env.create('ds-a', bad, MiB)
        assert 'InvalidDatastorePath' in fault_name(e.value)
    with pytest.raises(vexc.VimException) as e:
        env.create('ds-a', 'no-such-folder/x.vmdk', MiB)
    assert 'FileNotFound' in fault_name(e.value)
    with pytest.raises(vexc.VimException) as e:
        env.task('DeleteVirtualDisk_Task', env.vdm,
                 name='[ds-a] vols/missing.vmdk', datacenter=env.dc)
    assert 'FileNotFound' in fault_name(e.value)
    assert os.listdir(env.local('ds-a', 'vols-bad')) == []
    assert not os.path.exists(os.path.join(env.sim.datastore_root,
                                           'escape.vmdk'))


def test_extend_charges_and_refuses_shrink(env):
    env.mkdir('ds-a', 'vols-extend')
    name = env.create('ds-a', 'vols-extend/e.vmdk', GiB, 'preallocated')
    free0, unc0 = env.figures('ds-a')
    env.task('ExtendVirtualDisk_Task', env.vdm, name=name, datacenter=env.dc,
             newCapacityKb=3 * GiB // 1024, eagerZero=False)
    d = vmdk.read_descriptor(env.local('ds-a', 'vols-extend/e.vmdk'))
    assert d.capacity == 3 * GiB
    assert os.path.getsize(d.data_path) == 3 * GiB
    assert env.figures('ds-a') == (free0 - 2 * GiB, unc0)
    with pytest.raises(vexc.VimException):
        env.task('ExtendVirtualDisk_Task', env.vdm, name=name,
                 datacenter=env.dc, newCapacityKb=GiB // 1024,
                 eagerZero=False)
    assert vmdk.read_descriptor(d.path).capacity == 3 * GiB


def test_copy_preserves_pattern_and_honours_type(env):
    env.mkdir('ds-a', 'src')
    env.mkdir('ds b ü', 'dst dir')
    src = env.create('ds-a', 'src/disk.vmdk', 64 * MiB, 'thin')
    data = vmdk.pattern('copy', 10000)
    vmdk.write(env.local('ds-a', 'src/disk.vmdk'), 5 * MiB + 3, data)
    free_b, unc_b = env.figures('ds b ü')
    spec = env.vim.client.factory.create('ns0:VirtualDiskSpec')
    spec.diskType = 'thin'
    spec.adapterType = 'lsiLogic'
    dst = '[ds b ü] dst dir/cöpy [1].vmdk'
    env.task('CopyVirtualDisk_Task', env.vdm, sourceName=src,
             sourceDatacenter=env.dc, destName=dst, destDatacenter=env.dc,
             destSpec=spec, force=False)
    local = env.local('ds b ü', 'dst dir/cöpy [1].vmdk')
    assert vmdk.read(local, 5 * MiB + 3, len(data)) == data
    assert vmdk.read(local, 0, 4096) == bytes(4096)
    assert vmdk.read_descriptor(local).thin
    # Sparse: only the written region is allocated.
    assert vmdk.allocated_bytes(local) < 1 * MiB
    assert env.figures('ds b ü') == (free_b, unc_b + 64 * MiB)
    # Without destSpec the copy is preallocated (charged as thick).
    env.task('CopyVirtualDisk_Task', env.vdm, sourceName=src,
             sourceDatacenter=env.dc, destName='[ds b ü] dst dir/thick.vmdk',
             destDatacenter=env.dc, force=False)
    assert not vmdk.read_descriptor(
        env.local('ds b ü', 'dst dir/thick.vmdk')).thin
    assert env.figures('ds b ü') == (free_b - 64 * MiB, unc_b + 64 * MiB)
    # An existing destination is refused without force.
    with pytest.raises(vexc.VimException) as e:
        env.task('CopyVirtualDisk_Task', env.vdm, sourceName=src,
                 sourceDatacenter=env.dc, destName=dst,
                 destDatacenter=env.dc, force=False)
    assert 'FileAlreadyExists' in fault_name(e.value)


def test_copy_flattens_a_delta_chain(env):
    env.mkdir('ds-a', 'chain')
    env.create('ds-a', 'chain/base.vmdk', 16 * MiB, 'thin')
    base_local = env.local('ds-a', 'chain/base.vmdk')
    delta_local = env.local('ds-a', 'chain/base-000001.vmdk')
    a, b, c = (vmdk.pattern(x, 3000) for x in 'abc')
    vmdk.write(base_local, 0, a)
    vmdk.write(base_local, MiB, b)
    vmdk.make_delta(base_local, delta_local)
    vmdk.write(delta_local, MiB + 100, c)
    expected_b = b[:100] + c + b[100 + len(c):]
    assert vmdk.read(delta_local, MiB, 3100)[:3000] == expected_b[:3000]
    assert vmdk.read(base_local, MiB, 3000) == b  # the parent is untouched
    env.task('CopyVirtualDisk_Task', env.vdm,
             sourceName='[ds-a] chain/base-000001.vmdk',
             sourceDatacenter=env.dc, destName='[ds-a] chain/flat.vmdk',
             destDatacenter=env.dc, force=False)
    flat = env.local('ds-a', 'chain/flat.vmdk')
    d = vmdk.read_descriptor(flat)
    assert not d.is_delta and d.fields['createType'] == 'vmfs'
    assert d.capacity == 16 * MiB
    assert vmdk.read(flat, 0, 3000) == a
    assert vmdk.read(flat, MiB, 3100)[:3000] == expected_b[:3000]
    assert vmdk.read(flat, MiB + 100, len(c)) == c


def test_move_across_datastores_and_force(env):
    env.mkdir('ds-a', 'm')
    env.mkdir('ds b ü', 'm')
    src = env.create('ds-a', 'm/a.vmdk', GiB, 'preallocated')
    data = vmdk.pattern('move', 5000)
    vmdk.write(env.local('ds-a', 'm/a.vmdk'), 12345, data)
    fa, ua = env.figures('ds-a')
    fb, ub = env.figures('ds b ü')
    dst = '[ds b ü] m/moved.vmdk'
    env.task('MoveVirtualDisk_Task', env.vdm, sourceName=src,
             sourceDatacenter=env.dc, destName=dst, destDatacenter=env.dc,
             force=False)
    assert env.figures('ds-a') == (fa + GiB, ua)
    assert env.figures('ds b ü') == (fb - GiB, ub)
    assert not os.path.exists(env.local('ds-a', 'm/a.vmdk'))
    assert not os.path.exists(env.local('ds-a', 'm/a-flat.vmdk'))
    moved = env.local('ds b ü', 'm/moved.vmdk')
    assert vmdk.read(moved, 12345, len(data)) == data
    assert vmdk.read_descriptor(moved).extents[0][3] == 'moved-flat.vmdk'

    # force=False refuses to overwrite; force=True replaces and refunds.
    other = env.create('ds b ü', 'm/other.vmdk', 256 * MiB, 'thin')
    fb2, ub2 = env.figures('ds b ü')
    with pytest.raises(vexc.VimException) as e:
        env.task('MoveVirtualDisk_Task', env.vdm, sourceName=other,
                 sourceDatacenter=env.dc, destName=dst,
                 destDatacenter=env.dc, force=False)
    assert 'FileAlreadyExists' in fault_name(e.value)
    env.task('MoveVirtualDisk_Task', env.vdm, sourceName=other,
             sourceDatacenter=env.dc, destName=dst, destDatacenter=env.dc,
             force=True)
    assert vmdk.read_descriptor(moved).capacity == 256 * MiB
    assert vmdk.read(moved, 12345, len(data)) == bytes(len(data))
    assert env.figures('ds b ü') == (fb2 + GiB, ub2)
    assert sorted(os.listdir(env.local('ds b ü', 'm'))) == [
        'moved-flat.vmdk', 'moved.vmdk']


def test_uuid_query_and_set(env):
    env.mkdir('ds-a', 'u')
    name = env.create('ds-a', 'u/u.vmdk', MiB)
    uuid = env.session.invoke_api(env.vim, 'QueryVirtualDiskUuid', env.vdm,
                                  name=name, datacenter=env.dc)
    assert uuid == vmdk.read_descriptor(env.local('ds-a', 'u/u.vmdk')).uuid
    new = '60 00 C2 91 23 45 67 89-ab cd ef 01 23 45 67 89'
    env.session.invoke_api(env.vim, 'SetVirtualDiskUuid', env.vdm,
                           name=name, datacenter=env.dc, uuid=new)
    assert env.session.invoke_api(env.vim, 'QueryVirtualDiskUuid', env.vdm,
                                  name=name, datacenter=env.dc) == new
    assert vmdk.read_descriptor(env.local('ds-a', 'u/u.vmdk')).uuid == new
    with pytest.raises(vexc.VimException):
        env.session.invoke_api(env.vim, 'SetVirtualDiskUuid', env.vdm,
                               name=name, datacenter=env.dc, uuid='nope')


def test_file_manager_folder_delete_refunds(env):
    env.mkdir('ds-a', 'f/sub')
    before = env.figures('ds-a')
    env.create('ds-a', 'f/sub/one.vmdk', GiB, 'preallocated')
    env.create('ds-a', 'f/two.vmdk', GiB, 'thin')
    env.task('DeleteDatastoreFile_Task', env.fm, name='[ds-a] f',
             datacenter=env.dc)
    assert not os.path.exists(env.local('ds-a', 'f'))
    assert env.figures('ds-a') == before
    with pytest.raises(vexc.VimException):
        env.task('DeleteDatastoreFile_Task', env.fm,
                 name='[ds-a] ../outside', datacenter=env.dc)
    with pytest.raises(vexc.VimException):
        env.task('DeleteDatastoreFile_Task', env.fm, name='[ds-a]',
                 datacenter=env.dc)
    assert os.path.isdir(env.local('ds-a', 'vm-1'))


# -- ReconfigVM_Task ---------------------------------------------------------

def _vm_disks(env, vm):
    devices = env.prop(vm, 'config.hardware.device').VirtualDevice
    return [d for d in devices if d.__class__.__name__ == 'VirtualDisk']


def _disk_spec(env, operation, disk, file_operation=None):
    cf = env.vim.client.factory
    spec = cf.create('ns0:VirtualDeviceConfigSpec')
    spec.operation = operation
    if file_operation:
        spec.fileOperation = file_operation
    spec.device = disk
    return spec


def _reconfig(env, vm, *device_specs):
    cf = env.vim.client.factory
    spec = cf.create('ns0:VirtualMachineConfigSpec')
    spec.deviceChange = list(device_specs)
    env.task('ReconfigVM_Task', vm, spec=spec)


def _new_disk(env, controller_key, unit, file_name, size, thin):
    cf = env.vim.client.factory
    disk = cf.create('ns0:VirtualDisk')
    disk.key = -101
    disk.controllerKey = controller_key
    disk.unitNumber = unit
    disk.capacityInKB = size // 1024
    backing = cf.create('ns0:VirtualDiskFlatVer2BackingInfo')
    backing.fileName = file_name
    backing.diskMode = 'persistent'
    backing.thinProvisioned = thin
    disk.backing = backing
    return disk


def test_reconfig_add_edit_remove_disks(env):
    vm = env.find('VirtualMachine', 'vm-1')
    (existing,) = _vm_disks(env, vm)
    ctrl = existing.controllerKey
    fa, ua = env.figures('ds-a')
    fb, ub = env.figures('ds b ü')

    # Add a new thick disk on another datastore (fileOperation=create).
    new = _new_disk(env, ctrl, 1, '[ds b ü] vm-1/data.vmdk', GiB, False)
    _reconfig(env, vm, _disk_spec(env, 'add', new, 'create'))
    local = env.local('ds b ü', 'vm-1/data.vmdk')
    assert vmdk.read_descriptor(local).capacity == GiB
    assert env.figures('ds b ü') == (fb - GiB, ub)
    disks = _vm_disks(env, vm)
    assert len(disks) == 2
    added = [d for d in disks if d.backing.fileName.endswith('data.vmdk')][0]
    assert added.capacityInBytes == GiB
    assert len({d.key for d in disks}) == 2
    assert len({d.unitNumber for d in disks}) == 2
    assert added.backing.uuid.replace('-', '') == vmdk.read_descriptor(
        local).uuid.replace(' ', '').replace('-', '').lower()

    # NoDiskSpace: nothing created, nothing attached.
    big = _new_disk(env, ctrl, 2, '[ds b ü] vm-1/big.vmdk', 40 * GiB,
                    False)
    with pytest.raises(vexc.VimException) as e:
        _reconfig(env, vm, _disk_spec(env, 'add', big, 'create'))
    assert 'NoDiskSpace' in fault_name(e.value)
    assert not os.path.exists(env.local('ds b ü', 'vm-1/big.vmdk'))
    assert len(_vm_disks(env, vm)) == 2

    # Attach without fileOperation: the file must exist.
    missing = _new_disk(env, ctrl, 2, '[ds-a] vm-1/nope.vmdk', GiB, True)
    with pytest.raises(vexc.VimException) as e:
        _reconfig(env, vm, _disk_spec(env, 'add', missing))
    assert 'FileNotFound' in fault_name(e.value)

    # Edit: grow the thick disk and set storage IO allocation.
    added.capacityInKB = 2 * GiB // 1024
    added.capacityInBytes = 2 * GiB
    cf = env.vim.client.factory
    io = cf.create('ns0:StorageIOAllocationInfo')
    io.limit = 500
    io.reservation = 10
    shares = cf.create('ns0:SharesInfo')
    shares.level = 'custom'
    shares.shares = 1234
    io.shares = shares
    added.storageIOAllocation = io
    _reconfig(env, vm, _disk_spec(env, 'edit', added))
    assert vmdk.read_descriptor(local).capacity == 2 * GiB
    assert os.path.getsize(vmdk.read_descriptor(local).data_path) == 2 * GiB
    assert env.figures('ds b ü') == (fb - 2 * GiB, ub)
    edited = [d for d in _vm_disks(env, vm) if d.key == added.key][0]
    assert edited.capacityInBytes == 2 * GiB
    assert edited.storageIOAllocation.limit == 500
    assert edited.storageIOAllocation.reservation == 10
    assert edited.storageIOAllocation.shares.shares == 1234
    assert len(_vm_disks(env, vm)) == 2

    # Shrinking is refused.
    edited.capacityInKB = GiB // 1024
    edited.capacityInBytes = GiB
    with pytest.raises(vexc.VimException):
        _reconfig(env, vm, _disk_spec(env, 'edit', edited))
    assert vmdk.read_descriptor(local).capacity == 2 * GiB

    # Remove without fileOperation keeps the files; re-attach, then destroy.
    _reconfig(env, vm, _disk_spec(env, 'remove', edited))
    assert os.path.exists(local)
    assert env.figures('ds b ü') == (fb - 2 * GiB, ub)
    again = _new_disk(env, ctrl, 3, '[ds b ü] vm-1/data.vmdk', 0, False)
    _reconfig(env, vm, _disk_spec(env, 'add', again))
    attached = [d for d in _vm_disks(env, vm)
                if d.backing.fileName.endswith('data.vmdk')][0]
    assert attached.capacityInBytes == 2 * GiB
    _reconfig(env, vm, _disk_spec(env, 'remove', attached, 'destroy'))
    assert not os.path.exists(local)
    assert not os.path.exists(env.local('ds b ü', 'vm-1/data-flat.vmdk'))
    assert env.figures('ds b ü') == (fb, ub)
    assert env.figures('ds-a') == (fa, ua)


def test_reconfig_thin_add_and_destroy_vm(env):
    vm = env.find('VirtualMachine', 'vm-2')
    (existing,) = _vm_disks(env, vm)
    fa, ua = env.figures('ds-a')
    new = _new_disk(env, existing.controllerKey, 1, '[ds-a] vm-2/thin.vmdk',
                    4 * GiB, True)
    _reconfig(env, vm, _disk_spec(env, 'add', new, 'create'))
    assert env.figures('ds-a') == (fa, ua + 4 * GiB)
    # Thin extents count what they occupy; uncommitted is what may grow.
    vmdk.write(env.local('ds-a', 'vm-2/thin.vmdk'), 0, b'x' * 65536)
    env.session.invoke_api(env.vim, 'RefreshStorageInfo', vm)
    layout = env.prop(vm, 'layoutEx').file
    disk_files = [f for f in layout if f.type in ('diskDescriptor',
                                                  'diskExtent')]
    assert {f.name for f in disk_files} == {
        '[ds-a] vm-2/%s' % n for n in ('vm-2.vmdk', 'vm-2-flat.vmdk',
                                       'thin.vmdk', 'thin-flat.vmdk')}
    thin_flat = [f for f in disk_files if f.name.endswith('thin-flat.vmdk')]
    assert thin_flat[0].size == vmdk.allocated_bytes(
        env.local('ds-a', 'vm-2/thin.vmdk'))
    assert 65536 <= thin_flat[0].size < MiB
    (usage,) = env.prop(vm, 'storage').perDatastoreUsage
    assert usage.uncommitted == 5 * GiB - sum(f.size for f in disk_files)
    # An outside disk attached to the VM goes with it, as on vCenter.
    env.mkdir('ds-a', 'volumes')
    env.create('ds-a', 'volumes/vol.vmdk', GiB, 'preallocated')
    vol = _new_disk(env, existing.controllerKey, 2,
                    '[ds-a] volumes/vol.vmdk', 0, False)
    _reconfig(env, vm, _disk_spec(env, 'add', vol))
    fa2, ua2 = env.figures('ds-a')

    env.task('Destroy_Task', vm)
    # vm-2's own 1 GiB thin disk, the new thin one and the outside one.
    assert not os.path.exists(env.local('ds-a', 'vm-2/thin.vmdk'))
    assert not os.path.exists(env.local('ds-a', 'vm-2/vm-2.vmdk'))
    assert not os.path.exists(env.local('ds-a', 'volumes/vol.vmdk'))
    assert not os.path.exists(env.local('ds-a', 'volumes/vol-flat.vmdk'))
    assert env.figures('ds-a') == (fa2 + GiB, ua2 - 5 * GiB)


def test_create_vm_with_new_disk_like_cinder(env):
    """Create a VM with a new disk as Cinder does.

    CreateVM_Task as cinder's backing creation sends it: the disk spec
    comes before its new controller, the disk has no file name.
    """
    cf = env.vim.client.factory
    host = env.find('HostSystem', 'esx-01')
    pool = env.prop(env.prop(host, 'parent'), 'resourcePool')
    folder = env.prop(env.dc, 'vmFolder')
    fa, ua = env.figures('ds-a')

    ctrl = cf.create('ns0:VirtualLsiLogicController')
    ctrl.key = -100
    ctrl.busNumber = 0
    ctrl.sharedBus = 'noSharing'
    ctrl_spec = cf.create('ns0:VirtualDeviceConfigSpec')
    ctrl_spec.operation = 'add'
    ctrl_spec.device = ctrl
    disk = _new_disk(env, -100, 0, '', 2 * GiB, False)
    disk.key = -101
    disk_spec = _disk_spec(env, 'add', disk, 'create')
    files = cf.create('ns0:VirtualMachineFileInfo')
    files.vmPathName = '[ds-a]'
    spec = cf.create('ns0:VirtualMachineConfigSpec')
    spec.name = 'volume-1'
    spec.guestId = 'otherGuest'
    spec.numCPUs = 1
    spec.memoryMB = 128
    spec.version = 'vmx-08'
    spec.files = files
    spec.deviceChange = [disk_spec, ctrl_spec]
    info = env.task('CreateVM_Task', folder, config=spec, pool=pool,
                    host=host)
    vm = info.result

    (d,) = _vm_disks(env, vm)
    assert d.backing.fileName == '[ds-a] volume-1/volume-1.vmdk'
    assert d.capacityInBytes == 2 * GiB
    assert d.backing.thinProvisioned is False
    controllers = [c for c in env.prop(vm, 'config.hardware.device')
                   .VirtualDevice if c.key == d.controllerKey]
    assert controllers[0].__class__.__name__ == 'VirtualLsiLogicController'
    local = env.local('ds-a', 'volume-1/volume-1.vmdk')
    assert vmdk.read_descriptor(local).capacity == 2 * GiB
    assert env.figures('ds-a') == (fa - 2 * GiB, ua)
    names = {f.name for f in env.prop(vm, 'layoutEx').file}
    assert '[ds-a] volume-1/volume-1.vmdk' in names
    assert '[ds-a] volume-1/volume-1-flat.vmdk' in names
    sizes = {f.name: f.size for f in env.prop(vm, 'layoutEx').file}
    assert sizes['[ds-a] volume-1/volume-1-flat.vmdk'] == 2 * GiB  # thick
    (usage,) = env.prop(vm, 'storage').perDatastoreUsage
    assert usage.datastore.value == env.ds['ds-a'].value
    assert usage.committed == sum(sizes.values())
    assert (getattr(usage, 'uncommitted', 0) or 0) == 0

    env.task('Destroy_Task', vm)
    assert not os.path.exists(env.local('ds-a', 'volume-1'))
    assert env.figures('ds-a') == (fa, ua)


def test_failed_reconfig_rolls_back_disk_files(env):
    vm = env.find('VirtualMachine', 'vm-1')
    ctrl = _vm_disks(env, vm)[0].controllerKey
    before_disks = len(_vm_disks(env, vm))
    fb = env.figures('ds b ü')
    ok = _new_disk(env, ctrl, 5, '[ds b ü] rollback/ok.vmdk', GiB, False)
    too_big = _new_disk(env, ctrl, 6, '[ds b ü] rollback/big.vmdk', 40 * GiB,
                        False)
    too_big.key = -102
    with pytest.raises(vexc.VimException) as e:
        _reconfig(env, vm, _disk_spec(env, 'add', ok, 'create'),
                  _disk_spec(env, 'add', too_big, 'create'))
    assert 'NoDiskSpace' in fault_name(e.value)
    assert not os.path.exists(env.local('ds b ü', 'rollback/ok.vmdk'))
    assert not os.path.exists(env.local('ds b ü', 'rollback/ok-flat.vmdk'))
    assert env.figures('ds b ü') == fb
    assert len(_vm_disks(env, vm)) == before_disks
    assert env.prop(vm, 'summary.config.numVirtualDisks') == before_disks


def test_failed_reconfig_rolls_back_an_extend(env):
    vm = env.find('VirtualMachine', 'vm-1')
    (disk,) = [d for d in _vm_disks(env, vm)
               if d.backing.fileName == '[ds-a] vm-1/vm-1.vmdk']
    local = env.local('ds-a', 'vm-1/vm-1.vmdk')
    cap0 = vmdk.read_descriptor(local).capacity
    fa = env.figures('ds-a')
    disk.capacityInKB = (cap0 + GiB) // 1024
    disk.capacityInBytes = cap0 + GiB
    too_big = _new_disk(env, disk.controllerKey, 7,
                        '[ds-a] vm-1/huge.vmdk', 500 * GiB, False)
    with pytest.raises(vexc.VimException):
        _reconfig(env, vm, _disk_spec(env, 'edit', disk),
                  _disk_spec(env, 'add', too_big, 'create'))
    d = vmdk.read_descriptor(local)
    assert d.capacity == cap0
    assert os.path.getsize(d.data_path) == cap0
    assert env.figures('ds-a') == fa
    (after,) = [d for d in _vm_disks(env, vm) if d.key == disk.key]
    assert after.capacityInBytes == cap0

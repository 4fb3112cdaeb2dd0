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
"""The simulator refuses what vCenter refuses, where leniency hid defects.

Destroy_Task deletes every attached disk no other VM uses; removing an
absent device, attaching a disk file twice to one VM, or to a powered-on VM
while another powered-on VM has it, are refused; CreateVM and
CloneVM to a used name are DuplicateName and a failed CreateVM leaves no
files; MakeDirectory/CopyVirtualDisk onto an existing path and deletes of
a missing one fail; descriptor extents never leave their datastore. And a
lost answer's retry meets these refusals by itself.
"""

import os

from oslo_service import loopingcall
from oslo_vmware import exceptions
from oslo_vmware import vim_util
import pytest

MiB = 1 << 20
GiB = 1 << 30

TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [{"name": "gold", "hosts": [{"name": "esx-01"}]}],
    "datastores": [{
        "name": "ds-a", "type": "VMFS", "capacity_gb": 100, "free_gb": 20,
        "mounts": [{"host": "esx-01"}]}],
    "vms": [{"name": "anchor", "host": "esx-01", "power_state": "poweredOff",
             "disks": [{"datastore": "ds-a", "path": "anchor/anchor.vmdk",
                        "capacity_gb": 64 * MiB / GiB, "thin": True}]}],
}]}


@pytest.fixture
def fast_retries(monkeypatch):
    """oslo.vmware waits 10 s before retrying a call; make that 50 ms."""
    original = loopingcall.RetryDecorator

    class Fast(original):
        def __init__(self, max_retry_count=-1, inc_sleep_time=10,
                     max_sleep_time=60, exceptions=()):
            super().__init__(max_retry_count, 0.05, 0.1, exceptions)

    monkeypatch.setattr(loopingcall, 'RetryDecorator', Fast)


class Env(object):
    def __init__(self, sim):
        self.sim = sim
        self.session = sim.session()
        self.vim = self.session.vim
        self.cf = self.vim.client.factory
        self.dc = self.find('Datacenter', 'DC1')
        self.anchor = self.find('VirtualMachine', 'anchor')
        self.folder = self.prop(self.anchor, 'parent')
        self.pool = self.prop(self.anchor, 'resourcePool')
        self.names = ('n%d' % i for i in range(1000))

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

    def local(self, ds_path):
        ds, path = ds_path[1:].split('] ', 1)
        return self.sim.datastore_path(ds, path)

    def tree(self):
        """Every path under the datastores, to compare before and after."""
        out = set()
        for top, dirs, files in os.walk(self.sim.datastore_root):
            for name in dirs + files:
                out.add(os.path.relpath(os.path.join(top, name),
                                        self.sim.datastore_root))
        return out

    def vm_spec(self, name, devices=()):
        spec = self.cf.create('ns0:VirtualMachineConfigSpec')
        spec.name = name
        spec.guestId = 'otherGuest'
        files = self.cf.create('ns0:VirtualMachineFileInfo')
        files.vmPathName = '[ds-a]'
        spec.files = files
        spec.deviceChange = list(devices)
        return spec

    def controller(self):
        ctl = self.cf.create('ns0:VirtualLsiLogicController')
        ctl.key = -100
        ctl.busNumber = 0
        ctl.sharedBus = 'noSharing'
        spec = self.cf.create('ns0:VirtualDeviceConfigSpec')
        spec.operation = 'add'
        spec.device = ctl
        return spec

    def disk_spec(self, file_name, operation='add', file_operation=None,
                  size=4 * MiB, sharing=None, key=-101, controller=-100):
        disk = self.cf.create('ns0:VirtualDisk')
        disk.key = key
        disk.controllerKey = controller
        disk.unitNumber = 0
        disk.capacityInKB = size // 1024
        backing = self.cf.create('ns0:VirtualDiskFlatVer2BackingInfo')
        backing.fileName = file_name
        backing.diskMode = 'persistent'
        backing.thinProvisioned = False
        if sharing:
            backing.sharing = sharing
        disk.backing = backing
        spec = self.cf.create('ns0:VirtualDeviceConfigSpec')
        spec.operation = operation
        if file_operation:
            spec.fileOperation = file_operation
        spec.device = disk
        return spec

    def create_vm(self, name=None, devices=()):
        name = name or next(self.names)
        return self.task('CreateVM_Task', self.folder,
                         config=self.vm_spec(name, devices), pool=self.pool)

    def vm_with_controller(self):
        return self.create_vm(devices=[self.controller()])

    def controller_key(self, vm):
        for d in self.devices(vm):
            if type(d).__name__ == 'VirtualLsiLogicController':
                return d.key
        raise AssertionError('no controller')

    def devices(self, vm):
        return self.prop(vm, 'config.hardware.device').VirtualDevice

    def disks(self, vm):
        return [d for d in self.devices(vm)
                if type(d).__name__ == 'VirtualDisk']

    def reconfig(self, vm, *device_specs):
        spec = self.cf.create('ns0:VirtualMachineConfigSpec')
        spec.deviceChange = list(device_specs)
        self.task('ReconfigVM_Task', vm, spec=spec)

    def attach(self, vm, file_name, unit=0, sharing=None):
        spec = self.disk_spec(file_name, key=-200 - unit,
                              controller=self.controller_key(vm),
                              sharing=sharing)
        spec.device.unitNumber = unit
        self.reconfig(vm, spec)

    def loose_disk(self, ds_path, size=4 * MiB):
        spec = self.cf.create('ns0:FileBackedVirtualDiskSpec')
        spec.diskType = 'preallocated'
        spec.adapterType = 'lsiLogic'
        spec.capacityKb = size // 1024
        self.task('CreateVirtualDisk_Task',
                  self.vim.service_content.virtualDiskManager,
                  name=ds_path, datacenter=self.dc, spec=spec)
        return ds_path

    def free(self):
        return self.prop(self.find('Datastore', 'ds-a'),
                         'summary').freeSpace


@pytest.fixture(scope='module')
def env(sim):
    return Env(sim)


@pytest.fixture(autouse=True)
def clean_rules(sim):
    yield
    sim.admin('reset', {})


def fault_of(info):
    return getattr(info.value, 'fault_list', None) or [
        type(info.value).__name__]


# -- Destroy_Task -------------------------------------------------------------

def test_destroy_deletes_an_attached_disk_from_another_folder(env):
    disk = env.loose_disk('[ds-a] loose-1.vmdk')
    free = env.free()
    vm = env.vm_with_controller()
    env.attach(vm, disk)
    env.task('Destroy_Task', vm)
    assert not os.path.exists(env.local(disk))
    assert not os.path.exists(env.local('[ds-a] loose-1-flat.vmdk'))
    assert env.free() == free + 4 * MiB


def test_destroy_keeps_a_disk_another_vm_shares(env):
    disk = env.loose_disk('[ds-a] shared-1.vmdk')
    one, two = env.vm_with_controller(), env.vm_with_controller()
    env.attach(one, disk, sharing='sharingMultiWriter')
    env.attach(two, disk, sharing='sharingMultiWriter')
    env.task('Destroy_Task', one)
    assert os.path.exists(env.local(disk))
    assert [d.backing.fileName for d in env.disks(two)] == [disk]
    env.task('Destroy_Task', two)
    assert not os.path.exists(env.local(disk))


# -- ReconfigVM_Task ----------------------------------------------------------

def remove_spec(env, device):
    spec = env.cf.create('ns0:VirtualDeviceConfigSpec')
    spec.operation = 'remove'
    spec.device = device
    return spec


def test_removing_an_absent_device_is_refused(env):
    vm = env.vm_with_controller()
    disk = env.loose_disk('[ds-a] removed-1.vmdk')
    env.attach(vm, disk)
    [device] = env.disks(vm)
    env.reconfig(vm, remove_spec(env, device))
    assert env.disks(vm) == []
    assert os.path.exists(env.local(disk))       # detached, not deleted
    with pytest.raises(exceptions.VimFaultException) as info:
        env.reconfig(vm, remove_spec(env, device))
    assert fault_of(info) == ['InvalidDeviceSpec']
    env.task('Destroy_Task', vm)
    assert os.path.exists(env.local(disk))


def test_attaching_a_disk_twice_is_refused(env):
    disk = env.loose_disk('[ds-a] twice-1.vmdk')
    one, two = env.vm_with_controller(), env.vm_with_controller()
    env.attach(one, disk)
    with pytest.raises(exceptions.VimFaultException) as info:
        env.attach(one, disk, unit=1)
    assert fault_of(info) == ['InvalidDeviceSpec']
    assert len(env.disks(one)) == 1
    # Both powered on, the disk is locked; powered off, a disk may be
    # attached to a second VM, as Nova attaches a volume's disk to its
    # instance while the volume's backing VM keeps it.
    env.task('PowerOnVM_Task', one)
    env.task('PowerOnVM_Task', two)
    with pytest.raises(exceptions.FileLockedException):
        env.attach(two, disk)
    assert env.disks(two) == []
    env.task('PowerOffVM_Task', two)
    env.attach(two, disk)
    assert [d.backing.fileName for d in env.disks(two)] == [disk]
    env.task('PowerOffVM_Task', one)
    env.task('Destroy_Task', two)      # another VM has it: kept
    assert os.path.exists(env.local(disk))
    env.task('Destroy_Task', one)
    assert not os.path.exists(env.local(disk))


# -- CreateVM_Task / CloneVM_Task ---------------------------------------------

def test_create_vm_with_a_used_name_is_duplicate_name(env):
    vm = env.create_vm('dup-1')
    before = env.tree()
    with pytest.raises(exceptions.DuplicateName):
        env.create_vm('dup-1')
    assert env.tree() == before
    assert env.find('VirtualMachine', 'dup-1').value == vm.value
    env.task('Destroy_Task', vm)


def test_failed_create_vm_leaves_no_folder_or_file(env):
    before, free = env.tree(), env.free()
    too_big = env.disk_spec('[ds-a]', file_operation='create',
                            size=40 * GiB)
    with pytest.raises(exceptions.NoDiskSpaceException):
        env.create_vm('too-big', [env.controller(), too_big])
    assert env.tree() == before
    assert env.free() == free
    with pytest.raises(LookupError):
        env.find('VirtualMachine', 'too-big')


def test_clone_to_a_used_name_is_duplicate_name(env):
    src = env.create_vm('clone-src')
    spec = env.cf.create('ns0:VirtualMachineCloneSpec')
    spec.location = env.cf.create('ns0:VirtualMachineRelocateSpec')
    spec.powerOn = False
    spec.template = False
    before = env.tree()
    with pytest.raises(exceptions.DuplicateName):
        env.task('CloneVM_Task', src, folder=env.folder, name='anchor',
                 spec=spec)
    assert env.tree() == before
    env.task('Destroy_Task', src)


def test_same_name_snapshots_are_allowed(env):
    vm = env.create_vm()
    env.task('CreateSnapshot_Task', vm, name='s', memory=False,
             quiesce=False)
    env.task('CreateSnapshot_Task', vm, name='s', memory=False,
             quiesce=False)
    tree = env.prop(vm, 'snapshot').rootSnapshotList
    assert [n.name for n in tree] == ['s']
    assert [n.name for n in tree[0].childSnapshotList] == ['s']
    env.task('Destroy_Task', vm)


# -- FileManager / VirtualDiskManager -----------------------------------------

def test_file_calls_refuse_existing_and_missing_paths(env):
    fm = env.vim.service_content.fileManager
    vdm = env.vim.service_content.virtualDiskManager
    env.session.invoke_api(env.vim, 'MakeDirectory', fm, name='[ds-a] dir-1',
                           datacenter=env.dc, createParentDirectories=True)
    for parents in (True, False):
        with pytest.raises(exceptions.FileAlreadyExistsException):
            env.session.invoke_api(env.vim, 'MakeDirectory', fm,
                                   name='[ds-a] dir-1', datacenter=env.dc,
                                   createParentDirectories=parents)
    src = env.loose_disk('[ds-a] dir-1/src.vmdk')
    dst = env.loose_disk('[ds-a] dir-1/dst.vmdk')
    with pytest.raises(exceptions.FileAlreadyExistsException):
        env.task('CopyVirtualDisk_Task', vdm, sourceName=src,
                 sourceDatacenter=env.dc, destName=dst)
    with pytest.raises(exceptions.FileNotFoundException):
        env.task('DeleteVirtualDisk_Task', vdm, name='[ds-a] dir-1/no.vmdk',
                 datacenter=env.dc)
    with pytest.raises(exceptions.FileNotFoundException):
        env.task('DeleteDatastoreFile_Task', fm, name='[ds-a] dir-1/no',
                 datacenter=env.dc)
    for bad in ('[ds-a] ../outside', '[ds-a] /etc'):
        with pytest.raises(exceptions.VimFaultException) as info:
            env.task('DeleteDatastoreFile_Task', fm, name=bad,
                     datacenter=env.dc)
        assert fault_of(info) == ['InvalidDatastorePath']
    env.task('DeleteDatastoreFile_Task', fm, name='[ds-a] dir-1',
             datacenter=env.dc)


# -- descriptors --------------------------------------------------------------

DESCRIPTOR = """# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="vmfs"

RW 8192 VMFS "%s"

ddb.adapterType = "lsilogic"
ddb.uuid = "60 00 C2 9a 1b 2c 3d 4e-5f 60 71 82 93 a4 b5 c6"
"""


@pytest.mark.parametrize('extent', ['OUTSIDE', '../../OUTSIDE'])
def test_extents_never_leave_the_datastore(env, tmp_path, extent):
    """Check that a descriptor's extents stay on its datastore.

    A descriptor naming a file outside its datastore (absolute, or
    ``../`` up past the root) is refused when attached or copied, and
    deleting it removes only the descriptor.
    """
    outside = tmp_path / 'outside-flat.vmdk'
    outside.write_bytes(b'not yours' * 1000)
    extent = extent.replace('OUTSIDE', str(outside) if extent == 'OUTSIDE'
                            else os.path.relpath(
                                str(outside),
                                env.sim.datastore_path('ds-a', 'evil')))
    os.makedirs(env.sim.datastore_path('ds-a', 'evil'), exist_ok=True)
    desc = env.sim.datastore_path('ds-a', 'evil/evil.vmdk')
    with open(desc, 'w') as f:
        f.write(DESCRIPTOR % extent)
    vdm = env.vim.service_content.virtualDiskManager
    vm = env.vm_with_controller()
    with pytest.raises(exceptions.FileFaultException):
        env.attach(vm, '[ds-a] evil/evil.vmdk')
    assert env.disks(vm) == []
    with pytest.raises(exceptions.FileFaultException):
        env.task('CopyVirtualDisk_Task', vdm,
                 sourceName='[ds-a] evil/evil.vmdk', sourceDatacenter=env.dc,
                 destName='[ds-a] evil/copy.vmdk')
    assert not os.path.exists(env.sim.datastore_path('ds-a',
                                                     'evil/copy.vmdk'))
    env.task('DeleteVirtualDisk_Task', vdm, name='[ds-a] evil/evil.vmdk',
             datacenter=env.dc)
    assert not os.path.exists(desc)
    assert outside.read_bytes() == b'not yours' * 1000
    env.task('Destroy_Task', vm)


# -- a lost answer's retry meets the refusals by itself -----------------------

def test_retry_of_an_applied_delete_is_file_not_found(env, sim, fast_retries):
    vdm = env.vim.service_content.virtualDiskManager
    disk = env.loose_disk('[ds-a] retried-1.vmdk')
    sim.inject_fault('DeleteVirtualDisk_Task', applied=True,
                     drop_connection=True, count=1)
    with pytest.raises(exceptions.FileNotFoundException):
        env.task('DeleteVirtualDisk_Task', vdm, name=disk, datacenter=env.dc)
    assert not os.path.exists(env.local(disk))


def test_retry_of_an_applied_detach_is_invalid_device_spec(env, sim,
                                                           fast_retries):
    vm = env.vm_with_controller()
    disk = env.loose_disk('[ds-a] retried-2.vmdk')
    env.attach(vm, disk)
    [device] = env.disks(vm)
    sim.inject_fault('ReconfigVM_Task', applied=True, drop_connection=True,
                     count=1)
    with pytest.raises(exceptions.VimFaultException) as info:
        env.reconfig(vm, remove_spec(env, device))
    assert fault_of(info) == ['InvalidDeviceSpec']
    assert env.disks(vm) == []
    assert os.path.exists(env.local(disk))
    env.task('Destroy_Task', vm)


def test_retry_of_an_applied_create_vm_is_duplicate_name(env, sim,
                                                         fast_retries):
    before = env.tree()
    sim.inject_fault('CreateVM_Task', applied=True, drop_connection=True,
                     count=1)
    with pytest.raises(exceptions.DuplicateName):
        env.create_vm('retried-3')
    vm = env.find('VirtualMachine', 'retried-3')
    assert len(env.tree() - before) >= 1      # the first call's VM folder
    env.task('Destroy_Task', vm)
    assert env.tree() == before

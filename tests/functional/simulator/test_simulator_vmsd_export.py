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
"""Snapshot persistence (.vmsd) and disk export (streamOptimized VMDK).

Export: ExportVm and ExportSnapshot leases serve each disk as vCenter does,
a streamOptimized VMDK, decoded here by tests/simulator.py's own reader and
compared with the disk's bytes; upstream Cinder's copy_volume_to_image and
the os-brick VMDK connector that backup uses read it through oslo.vmware.
Import: a streamOptimized upload to an ImportVApp lease (upstream's
copy_image_to_volume) is inflated into the new disk, whose capacity comes
from the stream's header.

.vmsd: the simulator keeps each VM's snapshot tree in VMware's .vmsd format
beside its .vmx; a VM unregistered and registered again gets its snapshot
tree and delta chains back, and the restored snapshots still revert and
consolidate with their bytes.
"""

import os

import pytest

from tests.functional import driver_fixtures as fx
from tests import simulator as vcsim

TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'standalone_hosts': [{'name': 'esx-01'}],
    # For the driver (pools are clusters).
    'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-02'}]}],
    'datastores': [
        {'name': 'gold-ds', 'mounts': [{'host': 'esx-02'}]},
        {'name': 'ds1', 'mounts': [{'host': 'esx-01'}]},
        {'name': 'ds2', 'type': 'NFS', 'mounts': [{'host': 'esx-01'}]}],
    'vms': [
        {'name': 'snappy', 'host': 'esx-01',
         'disks': [{'datastore': 'ds1', 'capacity_gb': 0.01},
                   {'datastore': 'ds2', 'path': 'data/d.vmdk',
                    'capacity_gb': 0.01}],
         'snapshots': [{'name': 'first', 'description': 'one'},
                       {'name': 'second'}]},
        {'name': 'plain', 'host': 'esx-01',
         'disks': [{'datastore': 'ds1', 'capacity_gb': 0.01}]}],
}]}


def read_vmsd(sim, vm_dir='snappy'):
    path = sim.datastore_path('ds1', '%s/%s.vmsd' % (vm_dir, vm_dir))
    values = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(' = ')
            values[key.strip()] = value.strip().strip('"')
    return values


def snapshot_tree(inv, vm):
    """[(name, description, id, parent name, disk chains)] and current."""
    info = inv.prop(vm, 'snapshot')
    out = []

    def walk(trees, parent):
        for t in trees or []:
            devices = fx.array(inv.prop(t.snapshot, 'config.hardware.device'),
                               'VirtualDevice')
            chains = sorted(backing_chain(d.backing) for d in devices
                            if d.__class__.__name__ == 'VirtualDisk')
            out.append((t.name, getattr(t, 'description', ''), t.id, parent,
                        chains))
            walk(getattr(t, 'childSnapshotList', None), t.name)
    walk(info.rootSnapshotList, None)
    current = [t for t in out
               if _ref_of(info, t[0]) == info.currentSnapshot.value]
    return out, current[0][0]


def _ref_of(info, name):
    def find(trees):
        for t in trees or []:
            if t.name == name:
                return t.snapshot.value
            found = find(getattr(t, 'childSnapshotList', None))
            if found:
                return found
    return find(info.rootSnapshotList)


def backing_chain(backing):
    chain = []
    while backing is not None:
        chain.append(backing.fileName)
        backing = getattr(backing, 'parent', None)
    return tuple(chain)


def running_chains(inv, vm):
    return sorted(backing_chain(d.backing) for d in inv.disks(vm))


BASE = '[ds1] snappy/snappy.vmdk'


def chain_of(chains, base):
    """The chain (top first) that ends on base."""
    [chain] = [c for c in chains if c[-1] == base]
    return chain


def wait(inv, task):
    return inv.session.wait_for_task(task)


def test_vmsd_is_written_in_vmware_format(sim, inv):
    v = read_vmsd(sim)
    assert v['.encoding'] == 'UTF-8'
    assert v['snapshot.numSnapshots'] == '2'
    assert v['snapshot0.displayName'] == 'first'
    assert v['snapshot0.description'] == 'one'
    assert 'snapshot0.parent' not in v
    assert v['snapshot1.displayName'] == 'second'
    assert v['snapshot1.parent'] == v['snapshot0.uid']
    assert v['snapshot.current'] == v['snapshot1.uid']
    assert int(v['snapshot.lastUID']) >= int(v['snapshot1.uid'])
    # Each snapshot names the disk files it froze, by node; a disk beside
    # the .vmx is relative, another datastore's is an ESXi path.
    assert v['snapshot0.numDisks'] == '2'
    disks0 = {v['snapshot0.disk%d.node' % i]:
              v['snapshot0.disk%d.fileName' % i]
              for i in range(2)}
    assert disks0 == {'scsi0:0': 'snappy.vmdk',
                      'scsi0:1': '/vmfs/volumes/ds2/data/d.vmdk'}
    disks1 = {v['snapshot1.disk%d.node' % i]:
              v['snapshot1.disk%d.fileName' % i]
              for i in range(2)}
    assert disks1['scsi0:0'] == 'snappy-000001.vmdk'
    assert os.path.isfile(sim.datastore_path(
        'ds1', 'snappy/' + v['snapshot0.filename']))
    # The creation time survives the split into 32-bit halves.
    us = (int(v['snapshot0.createTimeHigh']) << 32) | (
        int(v['snapshot0.createTimeLow']) & 0xffffffff)
    tree = inv.prop(inv.vm('snappy'), 'snapshot').rootSnapshotList[0]
    assert abs(us / 1e6 - tree.createTime.timestamp()) < 1
    # A VM that never had a snapshot has no .vmsd.
    assert not os.path.exists(sim.datastore_path('ds1', 'plain/plain.vmsd'))


def test_vmsd_follows_create_rename_and_remove(sim, inv):
    vm = inv.vm('plain')
    task = inv.session.invoke_api(inv.session.vim, 'CreateSnapshot_Task', vm,
                                  name='tmp', memory=False, quiesce=False)
    snap = wait(inv, task).result
    assert read_vmsd(sim, 'plain')['snapshot0.displayName'] == 'tmp'
    inv.session.invoke_api(inv.session.vim, 'RenameSnapshot', snap,
                           name='renamed', description='new words')
    v = read_vmsd(sim, 'plain')
    assert (v['snapshot0.displayName'], v['snapshot0.description']) == (
        'renamed', 'new words')
    wait(inv, inv.session.invoke_api(inv.session.vim, 'RemoveSnapshot_Task',
                                     snap, removeChildren=False))
    v = read_vmsd(sim, 'plain')
    assert v['snapshot.numSnapshots'] == '0'
    assert 'snapshot0.uid' not in v


def test_register_restores_snapshot_tree_and_delta_chains(sim, inv):
    vm = inv.vm('snappy')
    props = inv.props(vm, 'parent', 'resourcePool', 'runtime.host',
                      'config.files.vmPathName')
    tree_before, current_before = snapshot_tree(inv, vm)
    chains_before = running_chains(inv, vm)
    top = inv.local_path(chain_of(chains_before, BASE)[0])
    written = fx.pattern('after-second', 4096)
    fx.write_data(top, 0, written)

    inv.session.invoke_api(inv.session.vim, 'UnregisterVM', vm)
    assert inv.vm('snappy') is None
    task = inv.session.invoke_api(
        inv.session.vim, 'RegisterVM_Task', props['parent'],
        path=props['config.files.vmPathName'], asTemplate=False,
        pool=props['resourcePool'], host=props['runtime.host'])
    vm = wait(inv, task).result

    tree_after, current_after = snapshot_tree(inv, vm)
    assert tree_after == tree_before
    assert current_after == current_before == 'second'
    assert running_chains(inv, vm) == chains_before
    assert fx.read_data(top, sim.datastore_root, 0, 4096) == written

    # The restored snapshots work: revert to "first" reads the bytes of then.
    first = inv.prop(vm, 'snapshot').rootSnapshotList[0].snapshot
    base = inv.local_path(chain_of(tree_before[0][4], BASE)[0])
    at_first = fx.read_data(base, sim.datastore_root, 0, 4096)
    assert at_first != written
    wait(inv, inv.session.invoke_api(inv.session.vim, 'RevertToSnapshot_Task',
                                     first))
    new_top = inv.local_path(chain_of(running_chains(inv, vm), BASE)[0])
    assert fx.read_data(new_top, sim.datastore_root, 0, 4096) == at_first
    assert (read_vmsd(sim)['snapshot.current']
            == read_vmsd(sim)['snapshot0.uid'])

    # ... and consolidate: removing "second" leaves one snapshot in the file.
    second = inv.prop(vm, 'snapshot').rootSnapshotList[0] \
        .childSnapshotList[0].snapshot
    wait(inv, inv.session.invoke_api(inv.session.vim, 'RemoveSnapshot_Task',
                                     second, removeChildren=False))
    v = read_vmsd(sim)
    assert v['snapshot.numSnapshots'] == '1'
    assert v['snapshot0.displayName'] == 'first'
    assert inv.snapshot_names(vm) == ['first']
    # New snapshots get fresh ids after the restored ones.
    task = inv.session.invoke_api(inv.session.vim, 'CreateSnapshot_Task', vm,
                                  name='third', memory=False, quiesce=False)
    wait(inv, task)
    ids = [t[2] for t in snapshot_tree(inv, vm)[0]]
    assert len(set(ids)) == len(ids) == 2
    assert max(ids) > max(t[2] for t in tree_before)


# --- export leases serve streamOptimized VMDKs ---------------------------

def _download(sim, inv, lease):
    import ssl
    import urllib.request
    info = inv.prop(lease, 'info')
    url = [u for u in info.deviceUrl if u.disk][0]  # disk-0: scsi0:0
    url = url.url.replace('*', '%s:%s' % (sim.host, sim.port))
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    with urllib.request.urlopen(url, context=ctx) as resp:
        served = resp.read()
    inv.session.invoke_api(inv.session.vim, 'HttpNfcLeaseComplete', lease)
    return served, info


def logical_bytes(sim, descriptor, length):
    """The disk's bytes through its delta chain, 64 KiB at a time."""
    out = bytearray()
    step = 64 * 1024
    for offset in range(0, length, step):
        out += fx.read_data(descriptor, sim.datastore_root, offset,
                            min(step, length - offset))
    return bytes(out)


def test_export_vm_serves_a_stream_optimized_vmdk(sim, inv):
    vm = inv.vm('plain')
    [disk] = inv.disks(vm)
    local = inv.local_path(disk.backing.fileName)
    # Data in the first grain, one in the middle and the very last sector.
    capacity = disk.capacityInBytes
    fx.write_data(local, 70000, fx.pattern('middle', 100000))
    fx.write_data(local, capacity - 512, b'L' * 512)
    lease = inv.session.invoke_api(inv.session.vim, 'ExportVm', vm)
    inv.session.wait_for_lease_ready(lease)
    served, info = _download(sim, inv, lease)
    data, descriptor = vcsim.read_stream_optimized(served)
    assert 'createType="streamOptimized"' in descriptor
    assert data == logical_bytes(sim, local, capacity)
    assert data[-512:] == b'L' * 512
    # Compressed and sparse: far smaller than the disk.
    assert len(served) < capacity / 4
    assert info.totalDiskCapacityInKB == capacity // 1024


def test_export_snapshot_serves_the_snapshot_state(sim, inv):
    vm = inv.vm('snappy')
    first = inv.prop(vm, 'snapshot').rootSnapshotList[0].snapshot
    devices = fx.array(inv.prop(first, 'config.hardware.device'),
                       'VirtualDevice')
    [frozen] = [d.backing.fileName for d in devices
                if d.__class__.__name__ == 'VirtualDisk'
                and d.backing.fileName == BASE]
    lease = inv.session.invoke_api(inv.session.vim, 'ExportSnapshot', first)
    served, _ = _download(sim, inv, lease)
    data, _ = vcsim.read_stream_optimized(served)
    local = inv.local_path(frozen)
    assert data == logical_bytes(sim, local, len(data))
    assert data[:512] != b'\0' * 512  # the topology's pattern


def test_export_of_a_powered_on_vm_is_refused(sim, inv):
    from oslo_vmware import exceptions as vexc
    vm = inv.vm('plain')
    inv.session.wait_for_task(inv.session.invoke_api(
        inv.session.vim, 'PowerOnVM_Task', vm))
    try:
        with pytest.raises(vexc.InvalidPowerStateException):
            inv.session.invoke_api(inv.session.vim, 'ExportVm', vm)
    finally:
        inv.session.wait_for_task(inv.session.invoke_api(
            inv.session.vim, 'PowerOffVM_Task', vm))


# --- upstream flows that read export leases --------------------------------

class ImageService(object):
    """Glance's side of upstream's upload: keeps what it is sent."""

    def __init__(self):
        self.images = {}

    def update(self, context, image_id, metadata, data=None, **kwargs):
        chunks = []
        while True:
            chunk = data.read(256 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
        self.images[image_id] = (metadata, b''.join(chunks))

    def show(self, context, image_id):
        metadata, data = self.images[image_id]
        return dict(metadata, id=image_id, size=len(data), status='active')

    def download(self, context, image_id):
        data = self.images[image_id][1]
        return iter([data[i:i + 65536] for i in range(0, len(data), 65536)])


@pytest.fixture(scope='module')
def driver(sim, tmp_path_factory):
    state = str(tmp_path_factory.mktemp('cinder'))
    fx.init_cinder(state)
    # Eager create (vmware_lazy_create=False): these tests read or write
    # the backing right after create_volume.
    drv = fx.make_driver(sim, vmware_cluster_name=['gold'],
                         vmware_tmp_dir=os.path.join(state, 'tmp'),
                         vmware_lazy_create=False)
    yield drv
    fx.close_driver(drv)


WRITES = [(0, fx.pattern('head', 4096)),
          (300 * 1024 * 1024 + 12345, fx.pattern('middle', 200000)),
          (1024 ** 3 - 512, b'T' * 512)]


@pytest.fixture(scope='module')
def volume(driver, inv):
    ctx = fx.admin_context()
    vol = fx.new_volume(ctx, size=1, host='functional@vmware#gold')
    driver.create_volume(vol)
    local = inv.local_path(inv.disk(inv.vm(vol.name)).backing.fileName)
    for offset, data in WRITES:
        fx.write_data(local, offset, data)
    yield vol, local
    driver.delete_volume(vol)


def assert_same_disk(sim, served, local):
    """The served VMDK holds exactly the disk's data grains."""
    capacity, size, grains, desc = vcsim.stream_optimized_grains(served)
    assert 'createType="streamOptimized"' in desc
    assert capacity == fx.capacity_bytes(local)
    expected = set()
    for offset, data in WRITES:
        expected.update(range(offset // size, (offset + len(data) - 1) // size
                              + 1))
    assert set(grains) == expected
    for index, grain in grains.items():
        assert grain == fx.read_data(local, sim.datastore_root, index * size,
                                     size)


def test_upstream_copy_volume_to_image_uploads_stream_optimized(
        sim, driver, volume):
    vol, local = volume
    images = ImageService()
    driver.copy_volume_to_image(fx.admin_context(), vol, images,
                                {'id': 'image-1', 'name': 'from-volume',
                                 'disk_format': 'vmdk'})
    metadata, served = images.images['image-1']
    assert metadata['properties']['vmware_disktype'] == 'streamOptimized'
    assert_same_disk(sim, served, local)


def test_upstream_image_round_trip_keeps_the_bytes(sim, driver, volume, inv):
    vol, local = volume
    images = ImageService()
    ctx = fx.admin_context()
    driver.copy_volume_to_image(ctx, vol, images,
                                {'id': 'image-2', 'name': 'round-trip',
                                 'disk_format': 'vmdk'})
    new = fx.new_volume(ctx, size=1, host='functional@vmware#gold')
    # Upstream imports a 0-byte disk and lets the stream give its size.
    driver.copy_image_to_volume(ctx, new, images, 'image-2')
    try:
        disk = inv.disk(inv.vm(new.name))
        new_local = inv.local_path(disk.backing.fileName)
        assert (disk.capacityInBytes == fx.capacity_bytes(new_local)
                == 1024 ** 3)
        for offset, data in WRITES:
            assert fx.read_data(new_local, sim.datastore_root, offset,
                                len(data)) == data
        # Zero grains stay holes.
        flat = fx.data_file(new_local)
        assert os.stat(flat).st_blocks * 512 < 2 * 1024 * 1024
    finally:
        driver.delete_volume(new)


def test_backup_connector_downloads_the_volume(sim, driver, volume):
    # What cinder-backup does to read a VMDK volume: os-brick's connector
    # on the driver's connection info.
    from os_brick.initiator.connectors import vmware as brick_vmware
    vol, local = volume
    info = driver.initialize_connection(
        vol, {'platform': 'x86_64', 'os_type': 'linux'})
    connector = brick_vmware.VmdkConnector(root_helper=None)
    device = connector.connect_volume(info['data'])
    try:
        with open(device['path'], 'rb') as f:
            assert_same_disk(sim, f.read(), local)
    finally:
        os.remove(device['path'])

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
"""Cinder backup and restore of VMware volumes, as cinder-backup does them.

cinder-backup reads and writes a ``vmdk`` volume through os-brick's
``VmdkConnector`` on the driver's connection info:

* backup: ``connect_volume`` downloads the disk through an ExportVm lease
  (a streamOptimized VMDK) into a local file the backup service reads;
  ``disconnect_volume`` finds the file unchanged and only removes it.
* restore: ``connect_volume`` downloads the target volume the same way,
  the backup service overwrites that file with the backup's bytes (a
  streamOptimized VMDK again), and ``disconnect_volume`` sees it modified:
  MakeDirectory ``[ds] cinder_temp``, HTTP PUT of the file through
  ``/folder``, ReconfigVM removing the volume's disk with
  fileOperation=destroy, CopyVirtualDisk_Task from the upload onto the
  volume's vmdk path (vCenter inflates the stream into a normal disk; no
  destSpec, so the copy is preallocated), ReconfigVM adding the disk back,
  DeleteDatastoreFile_Task of the upload.

os-brick destroys the disk of the VM it is given before its copy, so the
driver gives it a staging VM (``restore-<volume id>``, an empty thin disk
in the volume's folder: extensions/restore.py) and swaps the restored disk
into the backing in terminate_connection, which cinder-backup calls only
when disconnect_volume succeeded.  A restore whose copy fails (a corrupted
backup) leaves the volume with its own disk and bytes; its staging VM and
os-brick's upload in cinder_temp go at the next restore or the volume's
deletion.  The restored disk is thick whatever the volume's type (the
copy has no destSpec).  A restore into a larger volume gives a disk of the
backup's size; our driver grows it back to the volume's size in
terminate_connection.  Upstream Cinder's VMware driver has no
restore_backup of its own any more (os-brick took the job), so that path
is the only one.
"""

import os

from cinder import exception
from oslo_utils import units
from oslo_vmware import exceptions as vexc
import pytest

from tests.functional import cinder_backup as cb
from tests.functional import driver_fixtures as fx
from tests import simulator as vcsim

GiB = units.Gi
HOST = 'functional@vmware#gold'
DS = 'gold-ds'
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'}]}],
    'datastores': [{'name': DS, 'type': 'VMFS', 'capacity_gb': 100,
                    'free_gb': 80, 'mounts': [{'host': 'esx-01'}]}],
}]}
# Data in volume A: first grain, one in the middle, the very last sector.
WRITES = [(0, fx.pattern('head', 4096)),
          (300 * units.Mi + 12345, fx.pattern('middle', 200000)),
          (GiB - 512, b'T' * 512)]


# --- fixtures ----------------------------------------------------------------

@pytest.fixture(scope='module')
def brick_tmp(tmp_path_factory):
    return str(tmp_path_factory.mktemp('brick'))


@pytest.fixture(scope='module')
def driver(sim, cinder_db, brick_tmp):
    # Lazy create, the default: new_volume attaches each volume once (its
    # backing is made there), as a host's first attach does.
    drv = fx.make_driver(sim, vmware_cluster_name=['gold'],
                         vmware_tmp_dir=brick_tmp)
    yield drv
    fx.close_driver(drv)


def new_volume(driver, inv, size=1, writes=()):
    vol = fx.new_volume(fx.admin_context(), size=size, host=HOST)
    driver.create_volume(vol)
    assert inv.vm(vol.name) is None  # lazy: no backing yet
    fx.first_attach(driver, vol)
    disk = inv.disk(inv.vm(vol.name))
    for offset, data in writes:
        fx.write_data(inv.local_path(disk.backing.fileName), offset, data)
    return vol, disk


@pytest.fixture(scope='module')
def source(driver, inv):
    """Volume A with WRITES, and its backup."""
    vol, disk = new_volume(driver, inv, writes=WRITES)
    data = cb.backup(driver, vol)
    yield vol, inv.local_path(disk.backing.fileName), data
    driver.delete_volume(vol)


# --- helpers -----------------------------------------------------------------

def data_extents(path):
    """[(offset, length)] of a sparse file's data (SEEK_DATA/SEEK_HOLE)."""
    out = []
    with open(path, 'rb') as f:
        fd, off = f.fileno(), 0
        end = os.fstat(fd).st_size
        while off < end:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole after off
                break
            stop = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, stop - start))
            off = stop
    return out


def assert_same_disk(a, b, length=None):
    """Assert that two disks hold the same bytes.

    Two disks (descriptors) hold the same bytes: compared over both data
    files' data regions; everywhere else both are holes (zeros).  With
    ``length``, only their first ``length`` bytes are compared.
    """
    fa, fb = fx.data_file(a), fx.data_file(b)
    if length is None:
        assert os.path.getsize(fa) == os.path.getsize(fb)
    regions = sorted(set(data_extents(fa)) | set(data_extents(fb)))
    if length is not None:
        regions = [(off, min(n, length - off)) for off, n in regions
                   if off < length]
    assert regions, 'no data at all'
    with open(fa, 'rb') as xa, open(fb, 'rb') as xb:
        for offset, length in regions:
            for at in range(offset, offset + length, 4 * units.Mi):
                n = min(4 * units.Mi, offset + length - at)
                xa.seek(at)
                xb.seek(at)
                assert xa.read(n) == xb.read(n), 'differ at %d' % at


def leftovers(sim, brick_tmp):
    """List the files a transfer left behind.

    Files left by a transfer: os-brick's local temporaries and the
    simulator's export lease files.
    """
    exports = os.path.join(sim.info['state_dir'], 'exports')
    return (os.listdir(brick_tmp),
            os.listdir(exports) if os.path.isdir(exports) else [])


def restored_disk(inv, disk, old_path):
    """The local path of a restored disk, checked: beside ``old_path``."""
    path = disk.backing.fileName
    assert path != old_path and '-restore-' in path
    assert path.rsplit('/', 1)[0] == old_path.rsplit('/', 1)[0]
    return inv.local_path(path)


def figures(inv):
    s = inv.summary(DS)
    return s.freeSpace, s.uncommitted


def corrupt_grain(data):
    """The first grain's compressed bytes overwritten."""
    at = 128 * 512 + 40  # after the overhead: grain marker, zlib stream
    return data[:at] + b'garbage!' * 4 + data[at + 32:]


# --- tests -------------------------------------------------------------------

def test_backup_is_the_stream_vcenter_serves(sim, source, brick_tmp):
    vol, local, data = source
    capacity, size, grains, desc = vcsim.stream_optimized_grains(data)
    assert 'createType="streamOptimized"' in desc
    assert capacity == fx.capacity_bytes(local) == GiB
    expected = set()
    for offset, chunk in WRITES:
        expected.update(range(offset // size,
                              (offset + len(chunk) - 1) // size + 1))
    assert set(grains) == expected
    for index, grain in grains.items():
        assert grain == fx.read_data(local, sim.datastore_root, index * size,
                                     size)
    # Nothing left: os-brick removed its file, the lease's file went with
    # the lease (HttpNfcLeaseComplete).
    assert leftovers(sim, brick_tmp) == ([], [])


def test_restore_into_another_volume(sim, driver, inv, source, brick_tmp):
    vol_a, local_a, data = source
    old = [(5 * units.Mi, fx.pattern('old-b', 8192))]  # where A has zeros
    vol_b, disk_b = new_volume(driver, inv, writes=old)
    try:
        path_b = disk_b.backing.fileName
        local_b = inv.local_path(path_b)
        free0, unc0 = figures(inv)
        uploaded = []
        cb.restore(driver, vol_b, data, uploaded)

        disk = inv.disk(inv.vm(vol_b.name))
        # The staging disk, holding the backup, took the old disk's place
        # (same folder, same slot); the old disk is gone.
        local = restored_disk(inv, disk, path_b)
        assert (disk.controllerKey, disk.unitNumber) == (
            disk_b.controllerKey, disk_b.unitNumber)
        assert not os.path.exists(local_b)
        assert disk.capacityInBytes == fx.capacity_bytes(local) == GiB
        assert_same_disk(local_a, local)
        assert fx.read_data(local, sim.datastore_root, 5 * units.Mi,
                            8192) == b'\0' * 8192
        # A new base disk: CopyVirtualDisk without destSpec is preallocated,
        # so the thin volume comes back thick, charged as such.
        desc = fx.read_descriptor(local)
        assert desc['createType'] == 'vmfs'
        assert 'ddb.thinProvisioned' not in desc
        assert disk.backing.thinProvisioned is False
        assert figures(inv) == (free0 - GiB, unc0 - GiB)
        # The upload and the staging VM were deleted; nothing else is left.
        assert os.listdir(sim.datastore_path(DS, 'cinder_temp')) == []
        assert inv.vm('restore-%s' % vol_b.id) is None
        assert uploaded and leftovers(sim, brick_tmp) == ([], [])
    finally:
        driver.delete_volume(vol_b)


def test_restore_into_a_larger_volume(sim, driver, inv, source):
    vol_a, local_a, data = source
    vol_c, disk_c = new_volume(driver, inv, size=2)
    try:
        free0, unc0 = figures(inv)
        cb.restore(driver, vol_c, data)
        disk = inv.disk(inv.vm(vol_c.name))
        local_c = restored_disk(inv, disk, disk_c.backing.fileName)
        # CopyVirtualDisk makes the disk the backup's size (1 GiB);
        # terminate_connection grew it back to the volume's 2 GiB.
        assert disk.capacityInBytes == fx.capacity_bytes(local_c) == 2 * GiB
        assert_same_disk(local_a, local_c, GiB)
        assert [e for e in data_extents(fx.data_file(local_c))
                if e[0] + e[1] > GiB] == []
        assert figures(inv) == (free0 - 2 * GiB, unc0 - 2 * GiB)
    finally:
        driver.delete_volume(vol_c)


# Each case costs two oslo.vmware sessions (os-brick makes one for connect
# and one for disconnect); the simulator's Go tests cover more damage.
# After the failure: the next restore into the volume, or its deletion,
# removes what the failed one left.
@pytest.mark.parametrize('damage, reason, then', [
    (corrupt_grain, 'grain at sector 128 (LBA 0)', 'restore'),
    (lambda d: d[:len(d) - 3 * 512], 'no end-of-stream marker', 'delete'),
], ids=['corrupt-grain', 'truncated'])
def test_restore_of_a_damaged_backup_fails(sim, driver, inv, source,
                                           brick_tmp, damage, reason, then):
    vol_a, local_a, data = source
    vol_d, disk_d = new_volume(driver, inv,
                               writes=[(0, fx.pattern('old-d', 4096))])
    staging = 'restore-%s' % vol_d.id
    deleted = False
    try:
        path_d = disk_d.backing.fileName
        local_d = inv.local_path(path_d)
        free0, unc0 = figures(inv)
        uploaded = []
        damaged = damage(data)
        with pytest.raises(vexc.FileFaultException) as e:
            cb.restore(driver, vol_d, damaged, uploaded)
        upload = '[%s] cinder_temp/%s' % (DS, uploaded[0])
        assert reason in str(e.value) and upload in str(e.value)
        assert vol_d.status == 'error_restoring'
        # os-brick destroyed the staging VM's disk, not the volume's: the
        # volume keeps its disk and bytes, charged as before.
        assert inv.disk(inv.vm(vol_d.name)).backing.fileName == path_d
        assert fx.read_data(local_d, sim.datastore_root, 0,
                            4096) == fx.pattern('old-d', 4096)
        assert figures(inv) == (free0, unc0)
        assert inv.disks(inv.vm(staging)) == []
        # os-brick leaves its upload in cinder_temp, byte for byte what was
        # PUT through /folder; its local file is gone.
        with open(inv.local_path(upload), 'rb') as f:
            assert f.read() == damaged
        assert leftovers(sim, brick_tmp) == ([], [])
        if then == 'restore':
            cb.restore(driver, vol_d, data)
            disk = inv.disk(inv.vm(vol_d.name))
            assert_same_disk(local_a, restored_disk(inv, disk, path_d))
        else:
            driver.delete_volume(vol_d)
            deleted = True
            assert inv.vm(vol_d.name) is None
        # Either way the staging VM and the upload are gone.
        assert inv.vm(staging) is None
        assert os.listdir(sim.datastore_path(DS, 'cinder_temp')) == []
    finally:
        if not deleted:
            driver.delete_volume(vol_d)


def test_restore_into_a_volume_with_snapshots_is_refused(
        driver, inv, source):
    vol_a, local_a, data = source
    vol_e, disk_e = new_volume(driver, inv,
                               writes=[(0, fx.pattern('keep-e', 4096))])
    ctx = fx.admin_context()
    snap = fx.new_snapshot(ctx, vol_e)
    driver.create_snapshot(snap)
    try:
        before = inv.disk(inv.vm(vol_e.name)).backing.fileName
        with pytest.raises(exception.InvalidVolume,
                           match='contains one or more snapshots'):
            cb.restore(driver, vol_e, data)
        assert vol_e.status == 'error_restoring'
        assert inv.vm('restore-%s' % vol_e.id) is None
        disk = inv.disk(inv.vm(vol_e.name))
        assert disk.backing.fileName == before
        assert fx.read_data(inv.local_path(before), inv.sim.datastore_root,
                            0, 4096) == fx.pattern('keep-e', 4096)
    finally:
        driver.delete_snapshot(snap)
        driver.delete_volume(vol_e)

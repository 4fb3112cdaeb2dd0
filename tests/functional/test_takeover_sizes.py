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
"""A taken-over disk that is not a whole number of GiB, in upstream's flows.

A 0.25 GiB disk is managed as a 1 GiB volume (the disk is not grown). Its
bytes must come out whole and exact through upload to image (oslo.vmware's
VMDK read handle over the export lease, a streamOptimized VMDK), backup
(os-brick's vmdk connector, as the backup manager attaches a volume), clone and
create-from-snapshot (grown to the new volume's size), and extend.
Checked against the simulator's files and an independent session.
"""

import hashlib
import os
import platform
import sys

import pytest

pytest.importorskip('tests.functional.driver_fixtures')

from oslo_utils import units  # noqa: E402

from cinder_vmware_ext.takeover import adopt  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402
from tests import simulator as vcsim  # noqa: E402

HOSTS = [{'host': 'esx-01'}, {'host': 'esx-02'}]
QUARTER = 0.25
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'},
                                            {'name': 'esx-02'}]}],
    'datastores': [{'name': 'ds-gold', 'type': 'VMFS', 'capacity_gb': 500,
                    'free_gb': 400, 'mounts': HOSTS}],
    'files': [
        {'datastore': 'ds-gold', 'path': 'frac/kept.vmdk',
         'capacity_gb': QUARTER, 'thin': True},
        {'datastore': 'ds-gold', 'path': 'frac/grown.vmdk',
         'capacity_gb': QUARTER, 'thin': True},
    ],
}]}
HOST = 'functional@vmware#gold'
DISK_BYTES = int(QUARTER * units.Gi)
# Where data is written: the start, the middle, the last 64 KiB.
OFFSETS = (0, DISK_BYTES // 2, DISK_BYTES - 64 * units.Ki)


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('sizes')
    sim = vcsim.Simulator.start(TOPOLOGY, workdir=str(tmp))
    fx.init_cinder(str(tmp))
    inv = fx.Inventory(sim)
    drv = None
    try:
        drv = fx.make_driver(sim, vmware_tmp_dir=str(tmp / 'brick'))
        yield sim, drv, inv
    finally:
        if drv is not None:
            fx.close_driver(drv)
        inv.close()
        sim.stop()


def _write_patterns(inv, ds_path):
    local = inv.local_path(ds_path)
    for number, offset in enumerate(OFFSETS):
        fx.write_data(local, offset, fx.pattern(number))


def _sha256_of_file(path, length):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        while length > 0:
            chunk = f.read(min(length, units.Mi))
            if not chunk:
                break
            digest.update(chunk)
            length -= len(chunk)
    return digest.hexdigest()


def _disk_digest(inv, ds_path):
    return _sha256_of_file(fx.data_file(inv.local_path(ds_path)),
                           DISK_BYTES)


def _volume(size=1, **specs):
    ctx = fx.admin_context()
    type_id = fx.volume_type(ctx, **specs) if specs else None
    return fx.new_volume(ctx, size=size, host=HOST, type_id=type_id)


@pytest.fixture(scope='module')
def managed(env):
    """frac/kept.vmdk (0.25 GiB, patterned) managed as a 1 GiB volume."""
    _sim, drv, inv = env
    path = '[ds-gold] frac/kept.vmdk'
    _write_patterns(inv, path)
    ref = {'source-name': path}
    assert drv.manage_existing_get_size(_volume(), ref) == 1
    vol = _volume(size=1)
    drv.manage_existing(vol, ref)
    shadow = inv.vm(vol.name)
    assert inv.disk(shadow).capacityInKB * units.Ki == DISK_BYTES
    assert inv.extra_config(shadow)[adopt.DISK_BYTES_KEY] == str(DISK_BYTES)
    return vol, path, _disk_digest(inv, path)


class FakeImageService(object):
    """Keep the image data as Glance's ``update`` would.

    Glance's ``update`` as copy_volume_to_image calls it: the data is
    read to the end and kept.
    """

    def __init__(self):
        self.images = {}

    def update(self, context, image_id, image_meta, data=None, **kwargs):
        chunks = []
        while True:
            chunk = data.read(units.Mi)
            if not chunk:
                break
            chunks.append(chunk)
        self.images[image_id] = (image_meta, b''.join(chunks))


def _served_disk(stream):
    """Return the bytes and SHA-256 of a served VMDK.

    (disk bytes, SHA-256) of a streamOptimized VMDK as vCenter serves
    an export (the simulator too).
    """
    disk, descriptor = vcsim.read_stream_optimized(stream)
    assert 'createType="streamOptimized"' in descriptor
    return len(disk), hashlib.sha256(disk).hexdigest()


def test_upload_to_image_sends_the_true_size(env, managed):
    _sim, drv, _inv = env
    vol, _path, digest = managed
    images = FakeImageService()
    meta = {'id': 'image-1', 'name': 'from-takeover', 'disk_format': 'vmdk'}
    drv.copy_volume_to_image(fx.admin_context(), vol, images, meta)
    image_meta, stream = images.images['image-1']
    assert _served_disk(stream) == (DISK_BYTES, digest)
    assert image_meta['properties']['vmware_disktype'] == 'streamOptimized'


def test_backup_reads_the_true_size(env, managed):
    """Check that a backup reads the disk's true size.

    What the backup manager does for an available volume (no temp
    snapshot): initialize_connection for its connector, os-brick's vmdk
    connector downloads the disk to a file, the backup driver reads it.
    """
    from cinder.volume import volume_utils
    _sim, drv, _inv = env
    vol, _path, digest = managed
    assert not drv.backup_use_temp_snapshot()
    properties = {'platform': platform.machine(), 'os_type': sys.platform,
                  'ip': '127.0.0.1', 'host': 'backup-host'}
    conn = drv.initialize_connection(vol, properties)
    assert conn['data']['vmdk_size'] == DISK_BYTES
    connector = volume_utils.brick_get_connector(
        conn['driver_volume_type'], conn=conn, expect_raw_disk=True)
    device = connector.connect_volume(conn['data'])
    try:
        with open(device['path'], 'rb') as f:
            assert _served_disk(f.read()) == (DISK_BYTES, digest)
    finally:
        connector.disconnect_volume(conn['data'], device)
        drv.terminate_connection(vol, properties)
    assert not os.path.exists(device['path'])


def _check_grown_copy(inv, vol, source_path):
    """Check a new volume made from the managed one.

    A new volume from the managed one: its own disk, the volume's size,
    the source's bytes, and none of the takeover's markers.
    """
    vm = inv.vm(vol.name)
    assert vm is not None
    disk = inv.disk(vm)
    assert disk.capacityInKB * units.Ki == vol.size * units.Gi
    assert disk.backing.fileName != source_path
    assert not getattr(disk.backing, 'parent', None)   # full, not linked
    local = inv.local_path(disk.backing.fileName)
    for number, offset in enumerate(OFFSETS):
        assert fx.read_data(local, inv.sim.datastore_root, offset,
                            64 * units.Ki) == fx.pattern(number)
    config = inv.extra_config(vm)
    assert not config.get(adopt.ORIGIN_KEY)
    assert not config.get(adopt.DISK_BYTES_KEY)
    assert config['cinder.volume.id'] == vol.id


@pytest.mark.parametrize('clone_type', ['full', 'linked'])
def test_clone_grows_to_the_volume_size(env, managed, clone_type):
    _sim, drv, inv = env
    source, path, digest = managed
    clone = _volume(size=1, clone_type=clone_type)
    drv.create_cloned_volume(clone, source)
    _check_grown_copy(inv, clone, path)
    assert _disk_digest(inv, path) == digest

    # Unmanaging the clone leaves the source's disk where it is.
    drv.unmanage(clone)
    assert inv.disk(inv.vm(source.name)).backing.fileName == path
    assert inv.vm(clone.name) is not None


def test_volume_from_snapshot_grows_to_the_volume_size(env, managed):
    _sim, drv, inv = env
    source, path, _digest = managed
    snap = fx.new_snapshot(fx.admin_context(), source)
    drv.create_snapshot(snap)
    try:
        vol = _volume(size=1)
        drv.create_volume_from_snapshot(vol, snap)
        _check_grown_copy(inv, vol, path)
        drv.delete_volume(vol)
    finally:
        drv.delete_snapshot(snap)
    assert inv.snapshot_names(inv.vm(source.name)) == []


def test_extend_makes_the_disk_whole(env):
    _sim, drv, inv = env
    path = '[ds-gold] frac/grown.vmdk'
    _write_patterns(inv, path)
    vol = _volume(size=1)
    drv.manage_existing(vol, {'source-name': path})
    drv.extend_volume(vol, 2)
    shadow = inv.vm(vol.name)
    disk = inv.disk(shadow)
    assert disk.backing.fileName == path
    assert disk.capacityInKB * units.Ki == 2 * units.Gi
    assert fx.capacity_bytes(inv.local_path(path)) == 2 * units.Gi
    assert not inv.extra_config(shadow).get(adopt.DISK_BYTES_KEY)
    for number, offset in enumerate(OFFSETS):
        assert fx.read_data(inv.local_path(path), inv.sim.datastore_root,
                            offset, 64 * units.Ki) == fx.pattern(number)
    # Given back, the disk keeps the size it was extended to.
    drv.unmanage(vol)
    assert inv.vm(vol.name) is None
    entry = [e for e in drv.get_manageable_volumes(
        [], None, 100, 0, ['size'], ['asc'])
        if e['reference'] == {'source-name': path}]
    assert entry and entry[0]['size'] == 2 and entry[0]['safe_to_manage']

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
"""Image-volume cache (extensions/image_cache.py) on the simulator.

A Glance double that counts downloads serves a streamOptimized image made
by upstream's copy_volume_to_image from a written volume; volumes are made
the way Cinder's create-from-image flow does (clone_image, and
copy_image_to_volume only if clone_image did not clone), on a driver with
vmware_lazy_create (the default) and the cache enabled.  Checked: the
downloads counted, the disk chains in the simulator's files, the bytes
every volume reads against the image's grains, eviction and what files
remain.
"""

import os

from oslo_config import cfg
import pytest

from tests.functional import driver_fixtures as df
from tests import simulator as vcsim

from cinder_vmware_ext.extensions import image_cache

TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [
        {"name": "gold", "hosts": [{"name": "esx-01"}]},
        {"name": "silver", "hosts": [{"name": "esx-11"}]},
    ],
    "datastores": [
        {"name": "gold-ds", "type": "VMFS", "capacity_gb": 100,
         "free_gb": 90, "mounts": [{"host": "esx-01"}]},
        {"name": "silver-ds", "type": "VMFS", "capacity_gb": 100,
         "free_gb": 90, "mounts": [{"host": "esx-11"}]},
    ],
}]}
GOLD = 'functional@vmware#gold'
SILVER = 'functional@vmware#silver'
WRITES = [(0, df.pattern('head', 4096)),
          (300 * 1024 * 1024 + 12345, df.pattern('middle', 200000)),
          (1024 ** 3 - 512, b'T' * 512)]

CONNECTOR = {'platform': 'x86_64', 'os_type': 'linux'}


class CountingImageService(object):
    """Glance's side of upstream's upload and download; counts reads."""

    def __init__(self):
        self.images = {}
        self.downloads = 0
        self.bytes_served = 0

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
        self.downloads += 1
        data = self.images[image_id][1]
        self.bytes_served += len(data)
        return iter([data[i:i + 65536] for i in range(0, len(data), 65536)])


@pytest.fixture(scope='module')
def backends(sim, cinder_db):
    with df.backends(sim, vmware_cluster_name=['gold', 'silver'],
                     vmware_lazy_create=True,
                     vmware_image_cache_enabled=True) as get:
        yield get


def datastore_files(sim):
    found = set()
    for ds in ('gold-ds', 'silver-ds'):
        root = sim.datastore_path(ds)
        for top, _dirs, files in os.walk(root):
            for name in files:
                found.add(os.path.relpath(os.path.join(top, name), root))
    return found


@pytest.fixture(scope='module')
def images(backends, sim, inv, cinder_db):
    """Write two images from a volume.

    Two images (ids 'img-a', 'img-b') written from a volume, whose
    backing is gone again; the files on the datastores before.
    """
    drv = backends()
    ctx = df.admin_context()
    service = CountingImageService()
    before = datastore_files(sim)
    for image_id in ('img-a', 'img-b'):
        src = df.new_volume(ctx, size=1, host=GOLD)
        drv.create_volume(src)
        # Lazy create: the first attachment makes the backing.
        drv.initialize_connection(src, CONNECTOR)
        local = inv.local_path(inv.disk(inv.vm(src.name)).backing.fileName)
        for offset, data in WRITES:
            df.write_data(local, offset, data + image_id.encode())
        drv.copy_volume_to_image(ctx, src, service,
                                 {'id': image_id, 'name': image_id,
                                  'disk_format': 'vmdk'})
        drv.delete_volume(src)
    return service, before


def from_image(drv, service, image_id, host, clone_type=None):
    """Cinder's create-from-image: clone_image, else copy_image_to_volume."""
    ctx = df.admin_context()
    type_id = (df.volume_type(ctx, clone_type=clone_type) if clone_type
               else None)
    vol = df.new_volume(ctx, size=1, host=host, type_id=type_id)
    meta = service.show(ctx, image_id)
    _update, cloned = drv.clone_image(ctx, vol, None, meta, service)
    if not cloned:
        drv.copy_image_to_volume(ctx, vol, service, image_id)
    return vol


def assert_holds_image(sim, inv, vol, service, image_id):
    disk = inv.disk(inv.vm(vol.name))
    local = inv.local_path(disk.backing.fileName)
    capacity, size, grains, _desc = vcsim.stream_optimized_grains(
        service.images[image_id][1])
    assert disk.capacityInBytes == capacity == 1024 ** 3
    assert grains
    for index, grain in grains.items():
        assert df.read_data(local, sim.datastore_root, index * size,
                            size) == grain
    # Somewhere no grain was written reads zeros.
    assert df.read_data(local, sim.datastore_root, 700 * 1024 * 1024,
                        4096) == b'\0' * 4096


def chain_of(sim, inv, vol):
    local = inv.local_path(inv.disk(inv.vm(vol.name)).backing.fileName)
    return [os.path.basename(p)
            for p in df.disk_chain(local, sim.datastore_root)]


def cache_vms(inv):
    return sorted(n for n in inv.vm_names() if image_cache.is_cache_name(n))


def test_twenty_volumes_one_download_nineteen_clones(backends, images, sim,
                                                     inv):
    drv = backends()
    service, _before = images
    start = service.downloads
    vols = [from_image(drv, service, 'img-a', GOLD,
                       clone_type='linked' if i % 2 else None)
            for i in range(20)]
    try:
        assert service.downloads - start == 1
        assert cache_vms(inv) == [image_cache.cache_name('img-a', 'gold')]
        cached = inv.vm(image_cache.cache_name('img-a', 'gold'))
        assert inv.snapshot_names(cached) == [image_cache.BASE_SNAPSHOT]
        base = os.path.basename(
            inv.disk(cached).backing.parent.fileName)
        linked = [v for i, v in enumerate(vols) if i % 2 and i > 0]
        full = [v for i, v in enumerate(vols) if not i % 2 and i > 0]
        # The first volume is the download (one flat disk); the 19 others
        # clones of the cached backing: linked ones over its base disk.
        assert len(chain_of(sim, inv, vols[0])) == 1
        for vol in linked:
            chain = chain_of(sim, inv, vol)
            assert len(chain) == 2 and chain[-1] == base
        for vol in full:
            assert len(chain_of(sim, inv, vol)) == 1
        for vol in vols:
            assert_holds_image(sim, inv, vol, service, 'img-a')
        # A cached backing linked clones read is not evicted.
        evicted, kept = drv.evict_image_cache(pool='gold')
        assert evicted == [] and kept == cache_vms(inv)
    finally:
        for vol in vols:
            drv.delete_volume(vol)
    assert service.downloads - start == 1


def test_one_download_per_pool(backends, images, sim, inv):
    drv = backends()
    service, _before = images
    start = service.downloads
    vols = [from_image(drv, service, 'img-a', host, clone_type='linked')
            for host in (GOLD, SILVER, GOLD, SILVER, SILVER)]
    try:
        # gold's cached backing is there from the test before (or made
        # now): at most one download for gold, exactly one for silver.
        assert service.downloads - start in (1, 2)
        names = cache_vms(inv)
        assert image_cache.cache_name('img-a', 'silver') in names
        silver_ds = inv.prop(
            inv.vm(image_cache.cache_name('img-a', 'silver')), 'datastore')
        assert [inv.name_of(d) for d in df.array(
            silver_ds, 'ManagedObjectReference')] == ['silver-ds']
        for vol in vols:
            assert_holds_image(sim, inv, vol, service, 'img-a')
        again = service.downloads
        more = [from_image(drv, service, 'img-a', h) for h in (GOLD, SILVER)]
        vols.extend(more)
        assert service.downloads == again
    finally:
        for vol in vols:
            drv.delete_volume(vol)


def test_lru_eviction_keeps_what_linked_clones_need(backends, images, inv):
    drv = backends(vmware_image_cache_max_count=1)
    service, _before = images
    drv.evict_image_cache()
    assert cache_vms(inv) == []
    first = from_image(drv, service, 'img-a', GOLD, clone_type='linked')
    a_name = image_cache.cache_name('img-a', 'gold')
    b_name = image_cache.cache_name('img-b', 'gold')
    # A linked clone of img-a's cached backing, then img-b: over the count
    # but img-a is kept (its base disk is read by the linked clone).
    linked = from_image(drv, service, 'img-a', GOLD, clone_type='linked')
    second = from_image(drv, service, 'img-b', GOLD)
    assert cache_vms(inv) == sorted([a_name, b_name])
    drv.delete_volume(linked)
    # Now img-a is the least recently used and free: the next create
    # (a hit on img-b) evicts it, not img-b.
    from_b = from_image(drv, service, 'img-b', GOLD)
    assert cache_vms(inv) == [b_name]
    # Pools are apart: img-a in silver evicts nothing in gold.
    third = from_image(drv, service, 'img-a', SILVER)
    assert cache_vms(inv) == sorted(
        [b_name, image_cache.cache_name('img-a', 'silver')])
    # img-a again in gold: a miss (one download), img-b is evicted (its
    # volumes are full clones, which need nothing of it).
    downloads = service.downloads
    again = from_image(drv, service, 'img-a', GOLD)
    assert service.downloads == downloads + 1
    assert cache_vms(inv) == sorted(
        [a_name, image_cache.cache_name('img-a', 'silver')])
    for vol in (first, second, from_b, third, again):
        drv.delete_volume(vol)


def test_deleting_volumes_and_evicting_leaves_no_file(backends, images, sim,
                                                      inv):
    drv = backends()
    service, before = images
    vols = [from_image(drv, service, 'img-b', host, clone_type='linked')
            for host in (GOLD, GOLD, SILVER)]
    assert cache_vms(inv)
    for vol in vols:
        drv.delete_volume(vol)
    evicted, kept = drv.evict_image_cache()
    assert evicted and kept == []
    assert cache_vms(inv) == []
    assert datastore_files(sim) - before == set()


def test_the_cache_counts_in_the_pool_figures(backends, images, inv):
    # A thick volume from an image: its cached backing (a full clone of
    # it) is a second thick disk on the pool's datastore, which vCenter
    # and so the pool's free figure count; evicting it gives it back.
    drv = backends()
    service, _before = images
    drv.evict_image_cache()
    ctx = df.admin_context()

    def gold_free_gb():
        stats = drv.get_volume_stats(refresh=True)
        return [p for p in stats['pools']
                if p['pool_name'] == 'gold'][0]['free_capacity_gb']
    before = gold_free_gb()
    vol = df.new_volume(ctx, size=1, host=GOLD,
                        type_id=df.volume_type(ctx, vmdk_type='thick'))
    _update, cloned = drv.clone_image(ctx, vol, None,
                                      service.show(ctx, 'img-a'), service)
    if not cloned:
        drv.copy_image_to_volume(ctx, vol, service, 'img-a')
    assert cache_vms(inv) == [image_cache.cache_name('img-a', 'gold')]
    assert before - gold_free_gb() == pytest.approx(2.0)
    drv.delete_volume(vol)
    assert before - gold_free_gb() == pytest.approx(1.0)
    evicted, _kept = drv.evict_image_cache()
    assert evicted and cache_vms(inv) == []
    assert gold_free_gb() == pytest.approx(before)


def test_every_service_evicts_by_the_same_last_use(backends, images, inv,
                                                   monkeypatch):
    # Two services (two drivers, each its own memory of use): the last use
    # lives on the cached backing, so B does not evict what A just used.
    monkeypatch.setattr(image_cache, 'TOUCH_EVERY', 0.0)
    service, _before = images
    service.images.setdefault('img-c', service.images['img-a'])
    a = backends(vmware_image_cache_max_count=2)
    b = backends(vmware_image_cache_max_count=2,
                 vmware_image_cache_max_size_gb=0)
    a.evict_image_cache()
    made = [(a, from_image(a, service, 'img-a', GOLD)),
            (b, from_image(b, service, 'img-b', GOLD))]
    made.append((a, from_image(a, service, 'img-a', GOLD)))   # a hit
    made.append((b, from_image(b, service, 'img-c', GOLD)))   # evicts one
    names = {i: image_cache.cache_name(i, 'gold')
             for i in ('img-a', 'img-b', 'img-c')}
    assert cache_vms(inv) == sorted([names['img-a'], names['img-c']])
    for drv, vol in made:
        drv.delete_volume(vol)
    a.evict_image_cache()


def test_eviction_reads_the_pool_cache_in_two_round_trips(backends, images,
                                                          inv, sim):
    # The eviction pass before a create reads every entry of the pool at
    # once (names, then the entries' last use and size), not one entry at
    # a time: its requests do not grow with the number of entries.
    service, _before = images
    service.images.setdefault('img-c', service.images['img-a'])
    drv = backends(vmware_image_cache_max_count=10)
    drv.evict_image_cache()
    made = [from_image(drv, service, i, GOLD)
            for i in ('img-a', 'img-b', 'img-c')]
    assert len(cache_vms(inv)) == 3
    sim.reset_stats()

    assert drv._evict_image_cache('gold') == []

    counts = sim.request_counts()
    assert counts.get('RetrievePropertiesEx', 0) <= 2, counts
    assert not counts.get('FindByUuid') and not counts.get(
        'RetrieveProperties'), counts
    # Over the limit, the least recently used entry goes.
    cfg.CONF.set_override('vmware_image_cache_max_count', 2,
                          group=drv.conf_group)
    assert drv._evict_image_cache('gold') == [
        image_cache.cache_name('img-a', 'gold')]
    for vol in made:
        drv.delete_volume(vol)
    drv.evict_image_cache()

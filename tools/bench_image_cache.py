#!/usr/bin/env python3
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
"""Benchmark: 20 volumes from one 1 GiB image, image cache off vs on.

Starts the simulator (one cluster, one datastore), a Cinder database and
the driver (vmware_lazy_create, the default), makes a streamOptimized
image of a 1 GiB volume holding --data-mib MiB of random data (upstream's
copy_volume_to_image into a Glance double that counts what it serves),
then, once with vmware_image_cache_enabled off and once on, creates
--count volumes from it the way Cinder does (clone_image, then
copy_image_to_volume if it did not clone), half of them of a linked
clone type.  Prints per run: wall time, Glance downloads and bytes served,
and the bytes the new disks take on the datastore (allocated blocks of
the files; a cached backing counted with the "on" run).  Not a test:
figures only.

Usage: .venv/bin/python -m tools.bench_image_cache [--count N]
       [--data-mib N]
"""

import argparse
import os
import random
import tempfile
import time


TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [{"name": "gold", "hosts": [{"name": "esx-01"}]}],
    "datastores": [{"name": "gold-ds", "type": "VMFS", "capacity_gb": 500,
                    "free_gb": 450, "mounts": [{"host": "esx-01"}]}],
}]}
HOST = 'bench@vmware#gold'


class ImageService(object):
    def __init__(self):
        self.images = {}
        self.downloads = 0
        self.bytes_served = 0

    def update(self, context, image_id, metadata, data=None, **kwargs):
        chunks = []
        while True:
            chunk = data.read(1024 * 1024)
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
        return iter([data[i:i + 1048576]
                     for i in range(0, len(data), 1048576)])


def allocated(root):
    total = 0
    for top, _dirs, files in os.walk(root):
        for name in files:
            total += os.stat(os.path.join(top, name)).st_blocks * 512
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=20)
    parser.add_argument('--data-mib', type=int, default=256)
    args = parser.parse_args()

    from tests.functional import driver_fixtures as df
    from tests import simulator as vcsim

    work = tempfile.mkdtemp(prefix='bench-image-cache-')
    os.makedirs(os.path.join(work, 'sim'))
    sim = vcsim.Simulator.start(TOPOLOGY, workdir=os.path.join(work, 'sim'))
    try:
        os.makedirs(os.path.join(work, 'cinder'))
        df.init_cinder(os.path.join(work, 'cinder'))
        ctx = df.admin_context()
        common = dict(vmware_lazy_create=True,
                      vmware_tmp_dir=os.path.join(work, 'tmp'))
        drivers = {
            'off': df.make_driver(sim, vmware_image_cache_enabled=False,
                                  **common),
            'on': df.make_driver(sim, vmware_image_cache_enabled=True,
                                 **common)}
        inv = df.Inventory(sim)
        images = ImageService()
        src = df.new_volume(ctx, size=1, host=HOST)
        drv = drivers['off']
        drv.initialize_connection(src, {'platform': 'x86_64',
                                        'os_type': 'linux'})
        local = inv.local_path(inv.disk(inv.vm(src.name)).backing.fileName)
        rnd = random.Random(17)
        for i in range(args.data_mib):
            df.write_data(local, i * 4 * 1024 * 1024 % (1024 ** 3 - 2 ** 20),
                          rnd.randbytes(1024 * 1024))
        drv.copy_volume_to_image(ctx, src, images,
                                 {'id': 'bench-image', 'name': 'bench',
                                  'disk_format': 'vmdk'})
        drv.delete_volume(src)
        print('image: 1 GiB capacity, %d MiB written, stream %.1f MiB'
              % (args.data_mib, len(images.images['bench-image'][1]) /
                 2 ** 20))
        linked = df.volume_type(ctx, clone_type='linked')
        root = sim.datastore_path('gold-ds')
        for mode in ('off', 'on'):
            drv = drivers[mode]
            images.downloads = images.bytes_served = 0
            before = allocated(root)
            vols = []
            start = time.monotonic()
            for i in range(args.count):
                vol = df.new_volume(ctx, size=1, host=HOST,
                                    type_id=linked if i % 2 else None)
                meta = images.show(ctx, 'bench-image')
                _update, cloned = drv.clone_image(ctx, vol, None, meta,
                                                  images)
                if not cloned:
                    drv.copy_image_to_volume(ctx, vol, images,
                                             'bench-image')
                vols.append(vol)
            elapsed = time.monotonic() - start
            used = allocated(root) - before
            print('cache %-3s: %d creates in %.1f s, %d downloads, '
                  '%.1f MiB served by Glance, %.1f MiB allocated on the '
                  'datastore' % (mode, args.count, elapsed, images.downloads,
                                 images.bytes_served / 2 ** 20,
                                 used / 2 ** 20))
            for vol in vols:
                drv.delete_volume(vol)
        drivers['on'].evict_image_cache()
        inv.close()
        for d in drivers.values():
            df.close_driver(d)
    finally:
        sim.stop()


if __name__ == '__main__':
    main()

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
"""Takeover at estate scale: prints a table, times nothing in CI.

For each estate size (``--files``, loose disks; a tenth as many VMs):
the simulator's start-up time and disk use (generate.py, short test
pattern), then the driver's ``get_manageable_volumes`` over every pool:
a cold listing of everything (its SOAP requests, and the floor: the
simulator's own time serving the datastore searches, from its request
statistics), a later page of 1,000 (served from the listing cache) and
the peak RSS of this process. Import and release through real Cinder are not measured
here yet (issue 15, part 3).

    .venv/bin/python tools/bench_takeover.py [--files 1000 10000]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests import simulator as vcsim  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402

GENERATE = os.path.join(REPO, 'tools', 'vcsim', 'topologies', 'generate.py')


def disk_use(path):
    out = subprocess.check_output(['du', '-sk', path], text=True)
    return int(out.split()[0]) * 1024


def measure(files, work, pattern_bytes):
    vms = max(1, files // 10)
    topology = json.loads(subprocess.check_output(
        [sys.executable, GENERATE, '--clusters', '2', '--hosts', '8',
         '--datastores', '100', '--vms', str(vms), '--files', str(files)]))
    clusters = [c['name'] for c in topology['datacenters'][0]['clusters']]
    started = time.monotonic()
    sim = vcsim.Simulator.start(
        topology, workdir=work,
        env={'VCSIM_PATTERN_BYTES': str(pattern_bytes),
             'VCSIM_START_WAIT': '600'})
    row = {'disks': files + vms, 'start_s': time.monotonic() - started}
    try:
        row['disk_mb'] = disk_use(sim.datastore_root) / 1e6
        drv = fx.make_driver(sim, vmware_cluster_name=clusters)
        try:
            drv._pools.current()     # the driver's start-up inventory
            sim.reset_stats()
            t = time.monotonic()
            listed = drv.get_manageable_volumes([], None, 100000, 0,
                                                ['reference'], ['asc'])
            row['cold_s'] = time.monotonic() - t
            row['split'] = dict(drv.takeover_listing().seconds)
            row['listed'] = len(listed)
            stats = sim.request_stats(reset=True)['methods']
            row['requests'] = sum(m['calls'] for m in stats.values())
            searches = stats.get('SearchDatastoreSubFolders_Task', {})
            row['searches'] = searches.get('calls', 0)
            # The floor: the simulator's own time serving the searches
            # (summed; run concurrently, the wall floor is below it).
            row['floor_s'] = searches.get('seconds', 0.0)
            t = time.monotonic()
            drv.get_manageable_volumes([], None, 1000, 1000,
                                       ['reference'], ['asc'])
            row['page_s'] = time.monotonic() - t
            stats = sim.request_stats(reset=True)['methods']
            row['page_requests'] = sum(m['calls'] for m in stats.values())
        finally:
            fx.close_driver(drv)
    finally:
        sim.stop()
    row['rss_mb'] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--files', type=int, nargs='+', default=[1000])
    parser.add_argument('--pattern-bytes', type=int, default=16384)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        fx.init_cinder(work)
        rows = [measure(n, work, args.pattern_bytes) for n in args.files]
    print('%7s %7s %8s %8s %7s %8s %9s %7s %7s %7s %7s' % (
        'disks', 'listed', 'start s', 'disk MB', 'cold s', 'floor s',
        'requests', 'search', 'page s', 'page rq', 'RSS MB'))
    for r in rows:
        print('%7d %7d %8.1f %8.0f %7.2f %8.2f %9d %7d %7.3f %7d %7.0f' % (
            r['disks'], r['listed'], r['start_s'], r['disk_mb'], r['cold_s'],
            r['floor_s'], r['requests'], r['searches'], r['page_s'],
            r['page_requests'], r['rss_mb']))
    for r in rows:
        print('%d disks, the cold listing: %s' % (r['disks'], ', '.join(
            '%s %.2f s' % kv for kv in r['split'].items())))


if __name__ == '__main__':
    main()

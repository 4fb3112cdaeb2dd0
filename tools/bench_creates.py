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
"""Benchmark: volume create throughput through real Cinder.

For each configuration (lazy create on and off, one cinder-volume service
and two in one Cinder cluster), starts the simulator and a fresh stack
(tools/stack/cinder_stack.py: cinder-api, cinder-scheduler, RabbitMQ, and
for two services etcd and MariaDB), then sends --creates concurrent
``cinder create`` requests through cinderclient (--workers threads) and
times them until every volume is ``available`` (or ``error``).  With lazy
create off each create makes its backing on vCenter; with lazy on it
promises the space and makes none.  The single-service stack uses SQLite
as the e2e session stack does; --database mariadb uses MariaDB for it too.

Prints one row per configuration: volumes per minute, the slowest
create's latency, how many ended in error, and the stack's start-up time.
Not a test: figures only (other work on the machine inflates them).

Usage: .venv/bin/python -m tools.bench_creates [--creates 100]
       [--workers 20] [--configs lazy-1,lazy-2,eager-1,eager-2]
       [--database sqlite|mariadb] [--keep DIR]
"""

import argparse
import concurrent.futures
import os
import shutil
import tempfile
import time

from tests import simulator
from tools.stack import cinder_stack


# Room for every create of every configuration, on two pools.
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [
        {'name': 'bench-a', 'hosts': [{'name': 'esx-a1'}, {'name': 'esx-a2'}]},
        {'name': 'bench-b', 'hosts': [{'name': 'esx-b1'}]},
    ],
    'datastores': [
        {'name': 'bench-a-%d' % n, 'type': 'VMFS', 'capacity_gb': 4096,
         'free_gb': 4000, 'uncommitted_gb': 0,
         'mounts': [{'host': 'esx-a1'}, {'host': 'esx-a2'}]}
        for n in range(1, 4)] + [
        {'name': 'bench-b-1', 'type': 'NFS', 'capacity_gb': 4096,
         'free_gb': 4000, 'uncommitted_gb': 0,
         'mounts': [{'host': 'esx-b1'}]}],
}]}
CONFIGS = {
    'lazy-1': (True, 1),
    'lazy-2': (True, 2),
    'eager-1': (False, 1),
    'eager-2': (False, 2),
}


def run(config, args, workdir):
    lazy, services = CONFIGS[config]
    os.makedirs(os.path.join(workdir, config, 'vcsim'), exist_ok=True)
    sim = simulator.Simulator.start(
        TOPOLOGY, workdir=os.path.join(workdir, config, 'vcsim'))
    stack = None
    try:
        database = 'mariadb' if services > 1 else args.database
        stack = cinder_stack.CinderStack(
            os.path.join(workdir, config, 'stack'), sim.info,
            ['bench-a', 'bench-b'],
            backend_options={'vmware_lazy_create': str(lazy).lower()},
            volume_services=services, database=database)
        started = time.monotonic()
        stack.start()
        boot = time.monotonic() - started
        client = stack.client()
        vtype = client.volume_types.create('bench-thin')
        vtype.set_keys({'volume_backend_name': 'vmware',
                        'vmware:vmdk_type': 'thin'})
        return dict(measure(stack, vtype, args), boot_s=boot,
                    database=database)
    finally:
        if stack is not None:
            stack.stop()
        sim.stop()


def send_and_settle(stack, vtype, creates, workers, timeout):
    """Send ``creates`` 1 GiB creates at once, ``workers`` at a time.

    Polls the volume list until none is creating: (started, {volume id:
    time sent}, {volume id: (final status, time seen)}).
    """
    def create(index):
        client = stack.client()
        sent = time.monotonic()
        volume = client.volumes.create(1, volume_type=vtype.id,
                                       name='bench-%03d' % index)
        return volume.id, sent

    client = stack.client()
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        sent = dict(pool.map(create, range(creates)))
    done = {}
    deadline = started + timeout
    while len(done) < len(sent) and time.monotonic() < deadline:
        now = time.monotonic()
        for volume in client.volumes.list(search_opts={'all_tenants': 1}):
            if (volume.id in sent and volume.id not in done and
                    volume.status in ('available', 'error')):
                done[volume.id] = (volume.status, now)
        time.sleep(0.2)
    return started, sent, done


def measure(stack, vtype, args):
    """Send the creates at once; poll the list until none is creating."""
    started, sent, done = send_and_settle(stack, vtype, args.creates,
                                          args.workers, args.timeout)
    elapsed = (max(t for _s, t in done.values()) - started
               if done else float('nan'))
    return {
        'done': len(done),
        'errors': sum(1 for s, _t in done.values() if s == 'error'),
        'per_minute': 60.0 * len(done) / elapsed if done else 0.0,
        'elapsed_s': elapsed,
        'slowest_s': max((t - sent[v] for v, (_s, t) in done.items()),
                         default=float('nan')),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--creates', type=int, default=100)
    parser.add_argument('--workers', type=int, default=20,
                        help='threads sending the creates')
    parser.add_argument('--configs', default=','.join(CONFIGS))
    parser.add_argument('--database', default='sqlite',
                        choices=['sqlite', 'mariadb'],
                        help='database of the one-service stacks')
    parser.add_argument('--timeout', type=float, default=600)
    parser.add_argument('--keep', help='keep stacks and logs in this '
                                       'directory')
    args = parser.parse_args()
    workdir = args.keep or tempfile.mkdtemp(prefix='bench-creates-')
    print('%d creates of 1 GiB thin volumes, %d at a time; logs under %s'
          % (args.creates, args.workers, workdir), flush=True)
    print('%-8s %-5s %-8s %8s %10s %9s %10s %8s %7s' % (
        'config', 'lazy', 'database', 'services', 'vol/min', 'elapsed',
        'slowest', 'errors', 'boot'), flush=True)
    try:
        for config in args.configs.split(','):
            lazy, services = CONFIGS[config]
            r = run(config, args, workdir)
            print('%-8s %-5s %-8s %8d %10.1f %8.1fs %9.1fs %5d/%-3d %6.0fs'
                  % (config, 'on' if lazy else 'off', r['database'],
                     services, r['per_minute'], r['elapsed_s'],
                     r['slowest_s'], r['errors'], r['done'], r['boot_s']),
                  flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()

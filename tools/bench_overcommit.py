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
"""Benchmark: a burst of creates against a pool with little room.

For each configuration (this driver with lazy create on and off, and
upstream's ``VMwareVcVmdkDriver`` with the same options), starts the
simulator with one pool whose one datastore has --free-gb GiB free and a
fresh stack with one cinder-volume service (tools/stack/cinder_stack.py),
then sends --creates concurrent creates of 1 GiB thick volumes through
cinderclient and waits until every volume is ``available`` or ``error``.
With lazy create the volumes that became available are then used once
(an attachment made and removed: the first use makes the backing), as a
consumer would.

Prints per configuration: available and refused volumes; how many
CreateVM_Task calls reached vCenter; over-committed GiB (thick backings
beyond the datastore's free space: vCenter's NoDiskSpace the only
backstop) and the datastore's free space after; orphans (backing VMs of
no available volume, or datastore folders of no VM); refusals that name
neither the pool nor the size in any service log line about the volume;
create latency (request to settled state) p50, p95 and the slowest.
Not a test: figures only (other work on the machine inflates them).

Usage: .venv/bin/python -m tools.bench_overcommit [--creates 50]
       [--free-gb 10] [--configs ext-lazy,ext-eager,upstream-eager]
       [--keep DIR]
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import tempfile
import time

from tests.e2e import consumer
from tests.functional import driver_fixtures as df
from tests import simulator
from tools import bench_creates
from tools.stack import cinder_conf
from tools.stack import cinder_stack

GIB = 1024 ** 3
POOL, DATASTORE = 'tight', 'tight-ds'
UPSTREAM = 'cinder.volume.drivers.vmware.vmdk.VMwareVcVmdkDriver'
# name: (driver, lazy create)
CONFIGS = {
    'ext-lazy': (cinder_conf.DRIVER, True),
    'ext-eager': (cinder_conf.DRIVER, False),
    'upstream-eager': (UPSTREAM, False),
}
# Stats every few seconds, as an operator tuning for bursts would; the
# scheduler's own accounting covers what comes between two reports.
VOLUME_DEFAULTS = {'periodic_interval': '3', 'periodic_fuzzy_delay': '0',
                   'backend_stats_polling_interval': '3'}


def topology(free_gb):
    return {'datacenters': [{
        'name': 'DC1',
        'clusters': [{'name': POOL, 'hosts': [{'name': 'esx-t1'}]}],
        'datastores': [{'name': DATASTORE, 'type': 'VMFS',
                        'capacity_gb': 100, 'free_gb': free_gb,
                        'uncommitted_gb': 0,
                        'mounts': [{'host': 'esx-t1'}]}],
    }]}


def run(config, args, workdir):
    driver, lazy = CONFIGS[config]
    base = os.path.join(workdir, config)
    os.makedirs(os.path.join(base, 'vcsim'), exist_ok=True)
    sim = simulator.Simulator.start(topology(args.free_gb),
                                    workdir=os.path.join(base, 'vcsim'))
    stack = None
    try:
        stack = cinder_stack.CinderStack(
            os.path.join(base, 'stack'), sim.info, [POOL],
            backend_options={
                'vmware_lazy_create': str(lazy).lower(),
                # Upstream reports 'unknown' capacity without it.
                'vmware_enable_volume_stats': 'true'},
            conf_overrides={cinder_conf.BACKEND: {'volume_driver': driver}},
            volume_defaults=VOLUME_DEFAULTS)
        stack.start()
        client = stack.client()
        vtype = client.volume_types.create('burst-thick')
        vtype.set_keys({'volume_backend_name': cinder_conf.BACKEND,
                        'vmware:vmdk_type': 'thick'})
        time.sleep(4)   # one stats report after the type exists
        sim.reset_stats()
        result = burst(stack, vtype, args)
        available = [v for v, (s, _t) in result['settled'].items()
                     if s == 'available']
        if lazy:
            first = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(8) as workers:
                list(workers.map(
                    lambda v: consumer.first_use(
                        stack.client(), client.volumes.get(v)),
                    available))
            result['first_use_s'] = time.monotonic() - first
        result.update(judge(sim, stack, result['settled'], args))
        return result
    finally:
        if stack is not None:
            stack.stop()
        sim.stop()


def burst(stack, vtype, args):
    """Send the creates at once; wait until none is creating."""
    _started, sent, settled = bench_creates.send_and_settle(
        stack, vtype, args.creates, args.creates, args.timeout)
    latencies = sorted(t - sent[v] for v, (_s, t) in settled.items())
    return {'sent': len(sent), 'settled': settled, 'latencies': latencies}


def judge(sim, stack, settled, args):
    counts = sim.request_counts()
    session = sim.session()
    try:
        inventory = df.Inventory(session=session)
        vms = {p['name']: p for p in inventory.objects(
            'VirtualMachine', 'name').values()}
        free = [p['summary.freeSpace'] for p in inventory.objects(
            'Datastore', 'name', 'summary.freeSpace').values()
            if p['name'] == DATASTORE][0] / GIB
    finally:
        session.logout()
    available = {v for v, (s, _t) in settled.items() if s == 'available'}
    refused = sorted(set(settled) - available)
    backings = {n for n in vms if n.startswith('volume-')}
    orphan_vms = sorted(n for n in backings
                        if n[len('volume-'):] not in available)
    root = sim.datastore_path(DATASTORE)
    folders = {d for d in os.listdir(root)
               if os.path.isdir(os.path.join(root, d)) and
               d.startswith('volume-')}
    orphan_dirs = sorted(folders - backings)
    # Thick 1 GiB backings beyond what the datastore had free.
    over = max(0, len(backings) - int(args.free_gb))
    return {
        'available': len(available), 'refused': len(refused),
        'unsettled': args.creates - len(settled),
        'create_vm_calls': counts.get('CreateVM_Task', 0),
        'backings': len(backings), 'over_gb': over, 'free_after_gb': free,
        'orphans': len(orphan_vms) + len(orphan_dirs),
        'unnamed': unnamed_refusals(stack.log_dir, refused),
    }


def unnamed_refusals(log_dir, refused):
    """Count refused volumes whose refusal names neither pool nor size.

    A refusal is named when a log line of the volume's own request (the
    request ids of the lines naming the volume) names the pool and the
    size: the driver's "pool tight ... 1.00 GiB", or the scheduler's
    "Insufficient free space ... #tight (requested / avail): 1/...".
    """
    lines = []
    for name in sorted(os.listdir(log_dir)):
        if name.endswith('.log'):
            with open(os.path.join(log_dir, name), errors='replace') as f:
                lines += f.read().splitlines()
    request = re.compile(r'\b(req-[0-9a-f]{8}-[0-9a-f-]{27})')
    named = re.compile(r'pool %s\b.*\b1(\.0+)? GiB|Insufficient free space'
                       r'.*#%s \(requested / avail\): 1/' % (POOL, POOL))
    by_request = {}
    for line in lines:
        found = request.search(line)
        if found:
            by_request.setdefault(found.group(1), []).append(line)
    missing = 0
    for volume_id in refused:
        requests = {m.group(1) for m in map(request.search, lines)
                    if m and volume_id in m.string}
        if not any(named.search(line) for req in requests
                   for line in by_request[req]):
            missing += 1
    return missing


def percentile(values, fraction):
    if not values:
        return float('nan')
    index = min(len(values) - 1, int(round(fraction * (len(values) - 1))))
    return values[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--creates', type=int, default=50)
    parser.add_argument('--free-gb', type=float, default=10)
    parser.add_argument('--configs', default=','.join(CONFIGS))
    parser.add_argument('--timeout', type=float, default=300)
    parser.add_argument('--keep', help='keep stacks and logs in this '
                                       'directory')
    args = parser.parse_args()
    workdir = args.keep or tempfile.mkdtemp(prefix='bench-overcommit-')
    print('%d concurrent creates of 1 GiB thick volumes, one service, pool '
          '%s with %.1f GiB free; logs under %s'
          % (args.creates, POOL, args.free_gb, workdir), flush=True)
    header = ('config', 'avail', 'refused', 'CreateVM', 'over GiB',
              'free after', 'orphans', 'unnamed', 'p50', 'p95', 'max')
    print('%-15s %5s %7s %8s %8s %10s %7s %7s %6s %6s %6s' % header,
          flush=True)
    try:
        for config in args.configs.split(','):
            r = run(config, args, workdir)
            lat = r['latencies']
            print('%-15s %5d %7d %8d %8d %9.1fG %7d %7d %5.1fs %5.1fs '
                  '%5.1fs' % (
                      config, r['available'], r['refused'],
                      r['create_vm_calls'], r['over_gb'],
                      r['free_after_gb'], r['orphans'], r['unnamed'],
                      percentile(lat, 0.5), percentile(lat, 0.95),
                      lat[-1] if lat else float('nan')), flush=True)
            if r['unsettled']:
                print('  %d creates not settled in %.0f s'
                      % (r['unsettled'], args.timeout), flush=True)
            if 'first_use_s' in r:
                print('  first use of the %d available volumes: %.1f s'
                      % (r['available'], r['first_use_s']), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()

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
the peak RSS of this process.

With ``--import-disks N``: the sample topology with N more loose disks,
a real Cinder stack (tools/stack) in front of it, and for each
``--concurrency``, ``cinder-vmware takeover import`` of the N disks and
their ``release``: disks per minute, whether every disk was managed and
released (the tool's summary) and every result line written.

    .venv/bin/python -m tools.bench_takeover [--files 1000 10000]
    .venv/bin/python -m tools.bench_takeover --import-disks 100 \
        --concurrency 1 4 8 16
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

from tests.functional import driver_fixtures as fx
from tests import simulator as vcsim

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


SAMPLE = os.path.join(REPO, 'tools', 'vcsim', 'topologies', 'sample.json')


def _tool(stack, *args):
    from tools.stack import cinder_stack
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('OS_', 'CINDER_'))}
    env.update(PYTHONPATH=REPO, PYTHONWARNINGS='ignore')
    done = subprocess.run(
        [sys.executable, '-m', 'cinder_vmware_ext.cmd.main',
         '--config-file', stack.conf_file, '--backend', 'vmware',
         '--os-auth-type', 'noauth', '--user-id', cinder_stack.USER_ID,
         '--project-id', cinder_stack.PROJECT_ID,
         '--endpoint', stack.endpoint] + list(args),
        capture_output=True, text=True, cwd=REPO, env=env, timeout=7200)
    if done.returncode not in (0, 1):
        raise SystemExit('cinder-vmware %s failed: %s'
                         % (' '.join(args[:2]), done.stderr[-2000:]))
    return done.stdout


def _count(out, word):
    return int(out.split(word + ': ')[1].split(',')[0].split()[0])


_LOGS = ('cinder-api', 'cinder-scheduler', 'cinder-volume')
# A log line's time, logger and request id (the second of two, as the
# services log a request's context).
_STAMP = (r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) \d+ \w+ (\S+) '
          r'\[(?:req-\S+ )?(req-[0-9a-f-]+)')
_DRIVER = {'size': r'Takeover size check of .*: \d+ GiB in ([\d.]+) s',
           'manage': r'Takeover manage of volume \S+: ([\d.]+) s'}


def _log_sizes(log_dir):
    return {name: os.path.getsize(os.path.join(log_dir, name + '.log'))
            for name in _LOGS}


def _log_lines(log_dir, since):
    """(service, time, logger, request id, line) of each new log line."""
    import datetime
    import re
    stamp = re.compile(_STAMP)
    for name in _LOGS:
        with open(os.path.join(log_dir, name + '.log'),
                  errors='replace') as f:
            f.seek(since[name])
            for line in f:
                match = stamp.match(line)
                if match:
                    at = datetime.datetime.strptime(
                        match.group(1), '%Y-%m-%d %H:%M:%S.%f').timestamp()
                    yield name, at, match.group(2), match.group(3), line


def _manage_breakdown(log_dir, since):
    """Mean seconds per manage in each service, from the services' logs.

    api: cinder-api's handling of the manage request; to volume: from its
    answer to cinder-volume's first line of that request (the scheduler
    and both RPC hops); volume: cinder-volume's manage flow, start to
    end; in it, the driver's size check and manage.
    """
    import re
    seen = {}
    for service, at, logger, req, line in _log_lines(log_dir, since):
        one = seen.setdefault(req, {})
        if service == 'cinder-api' and 'os-volume-manage' in line and \
                'status: ' in line:
            one['api'] = float(line.rsplit('time: ', 1)[1].split()[0])
            one['api_end'] = at
        elif service == 'cinder-scheduler':
            one.setdefault('scheduler_start', at)
            one['scheduler_end'] = at
        elif service == 'cinder-volume':
            one.setdefault('volume_start', at)
            if "'volume_manage_existing_manager'" in line and \
                    "state 'SUCCESS'" in line:
                one['volume_end'] = at
            for key, pattern in _DRIVER.items():
                found = re.search(pattern, line) if 'Takeover' in line \
                    else None
                if found:
                    one[key] = float(found.group(1))
    done = [r for r in seen.values() if 'api' in r and 'volume_end' in r]
    if not done:
        return {}

    def mean(values):
        values = list(values)
        return sum(values) / len(values) if values else float('nan')
    return {
        'manages': len(done),
        'api': mean(r['api'] for r in done),
        'scheduler': mean(r['scheduler_end'] - r['scheduler_start']
                          for r in done if 'scheduler_start' in r),
        'to volume': mean(r['volume_start'] - r['api_end'] for r in done),
        'volume': mean(r['volume_end'] - r['volume_start'] for r in done),
        'driver size': mean(r['size'] for r in done if 'size' in r),
        'driver manage': mean(r['manage'] for r in done if 'manage' in r),
    }


def measure_import(count, concurrencies, work, pattern_bytes):
    from tools.stack import cinder_stack
    with open(SAMPLE) as f:
        topology = json.load(f)
    dc = topology['datacenters'][0]
    paths = ['bench/disk-%04d.vmdk' % i for i in range(count)]
    dc.setdefault('files', []).extend(
        {'datastore': 'vmfs-gold-01', 'path': p, 'capacity_gb': 1,
         'thin': True} for p in paths)
    clusters = [c['name'] for d in topology['datacenters']
                for c in d.get('clusters', [])]
    os.makedirs(os.path.join(work, 'vcsim'))
    os.makedirs(os.path.join(work, 'stack'))
    sim = vcsim.Simulator.start(
        topology, workdir=os.path.join(work, 'vcsim'),
        env={'VCSIM_PATTERN_BYTES': str(pattern_bytes),
             'VCSIM_START_WAIT': '600'})
    rows = []
    try:
        stack = cinder_stack.CinderStack(os.path.join(work, 'stack'),
                                         sim.info, clusters)
        stack.start()
        try:
            inventory = os.path.join(work, 'inventory.json')
            _tool(stack, 'takeover', 'export', inventory)
            with open(inventory) as f:
                document = json.load(f)
            wanted = {'[vmfs-gold-01] ' + p for p in paths}
            keys = sorted(d['key'] for d in document['disks']
                          if '[%s] %s' % (d['datastore'], d['path'])
                          in wanted)
            selection = [a for k in keys for a in ('--key', k)]
            t = time.monotonic()
            _tool(stack, 'takeover', 'import', inventory, '--dry-run',
                  *selection)
            fixed = time.monotonic() - t
            for n in concurrencies:
                row = {'disks': len(keys), 'concurrency': n,
                       'tool_s': fixed}
                for verb, word in (('import', 'managed'),
                                   ('release', 'released')):
                    results = os.path.join(work, '%s-%d.jsonl' % (verb, n))
                    since = _log_sizes(stack.log_dir)
                    sim.reset_stats()
                    t = time.monotonic()
                    out = _tool(stack, 'takeover', verb, inventory,
                                '--results', results,
                                '--concurrency', str(n), *selection)
                    spent = time.monotonic() - t
                    methods = sim.request_stats()['methods']
                    with open(results) as f:
                        lines = sum(1 for line in f if line.strip())
                    row[verb] = dict(
                        seconds=spent, done=_count(out, word),
                        failed=_count(out, 'failed'), lines=lines,
                        per_min=_count(out, word) * 60.0 / spent,
                        requests={m: v['calls'] for m, v in methods.items()})
                    if verb == 'import':
                        row['breakdown'] = _manage_breakdown(stack.log_dir,
                                                             since)
                rows.append(row)
                print('concurrency %d done' % n, file=sys.stderr)
        finally:
            stack.stop()
    finally:
        sim.stop()
    print('%6s %5s %9s %9s %8s %6s %9s %9s %8s %6s' % (
        'disks', 'conc', 'import s', 'disks/min', 'managed', 'lines',
        'release s', 'disks/min', 'released', 'lines'))
    for r in rows:
        i, x = r['import'], r['release']
        print('%6d %5d %9.1f %9.1f %8d %6d %9.1f %9.1f %8d %6d' % (
            r['disks'], r['concurrency'], i['seconds'], i['per_min'],
            i['done'], i['lines'], x['seconds'], x['per_min'], x['done'],
            x['lines']))
    if rows:
        print('tool start-up and planning (a dry run): %.1f s'
              % rows[0]['tool_s'])
    keys = ('api', 'scheduler', 'to volume', 'volume', 'driver size',
            'driver manage')
    print('\nmean seconds per manage, from the services\' logs:')
    print('%5s %8s' % ('conc', 'manages') +
          ''.join(' %13s' % k for k in keys))
    for r in rows:
        b = r.get('breakdown') or {}
        print('%5d %8d' % (r['concurrency'], b.get('manages', 0)) +
              ''.join(' %13.3f' % b.get(k, float('nan')) for k in keys))
    print('\nSOAP requests per disk (simulator statistics; the service\'s '
          'periodic tasks included):')
    for r in rows:
        for verb in ('import', 'release'):
            calls = r[verb]['requests']
            done = max(1, r[verb]['done'])
            top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
            print('  concurrency %d %s: %.1f per disk (%s)' % (
                r['concurrency'], verb, sum(calls.values()) / done,
                ', '.join('%s %.1f' % (m, c / done) for m, c in top)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--files', type=int, nargs='+', default=[1000])
    parser.add_argument('--pattern-bytes', type=int, default=16384)
    parser.add_argument('--import-disks', type=int, metavar='N')
    parser.add_argument('--concurrency', type=int, nargs='+',
                        default=[1, 4, 8, 16])
    args = parser.parse_args()
    if args.import_disks:
        with tempfile.TemporaryDirectory() as work:
            measure_import(args.import_disks, args.concurrency, work,
                           args.pattern_bytes)
        return
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

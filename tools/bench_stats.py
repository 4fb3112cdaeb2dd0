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
"""Benchmark: pool stats and placement, upstream's driver against ours.

Starts the simulator with generated inventories of growing size and, for
each, runs upstream ``VMwareVcVmdkDriver`` (``vmware_enable_volume_stats =
True``) and ``VMwareVcVmdkExtDriver`` in fresh child processes, with one
cluster configured and with all clusters.  Each child reports:

* cold stats: the first ``get_volume_stats(refresh=True)`` after do_setup
  (ours with its inventory cache emptied first, so it reads everything)
* warm stats: the next one (nothing changed in between)
* SOAP requests and bytes received during each (counted on the HTTP
  adapter, so suds and raw requests alike)
* ours only: the median of --warm-repeat more warm refreshes, and the
  simulator's own time serving the WaitForUpdatesEx calls of a warm refresh
  (admin request statistics): what a refresh costs the vCenter
* time to choose a datastore for a 1 GiB volume (``_select_datastore``)
* the child's peak RSS (ru_maxrss) and its RSS after imports and set-up
* the machine's 1-minute load average when the child started and ended
  (other work on the machine inflates every time)

Usage: .venv/bin/python -m tools.bench_stats [--sizes tiny,medium,...]
       [--timeout S] [--upstream-timeout S] [--warm-repeat N]
Prints a table with the ratios upstream/ours.  Not a test: figures only.
An upstream run past --upstream-timeout is reported as such.
"""

import argparse
import json
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GiB = 1024 ** 3

# name: (datacenters, clusters per DC, hosts per cluster, datastores per DC)
SIZES = {
    'tiny': (1, 1, 3, 4),
    'medium': (1, 4, 8, 50),
    'large': (1, 8, 16, 200),
    'huge': (2, 8, 32, 500),
}


def rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return 0.0


class Counter(object):
    """Counts HTTP requests and response bytes of this process."""

    def __init__(self):
        import requests.adapters
        self.requests = 0
        self.bytes = 0
        original = requests.adapters.HTTPAdapter.send
        counter = self

        def send(adapter, request, *args, **kwargs):
            response = original(adapter, request, *args, **kwargs)
            counter.requests += 1
            # Count the body as it is read, so that streamed replies
            # stay streamed (reading .content here would buffer them).
            stream = response.raw.stream

            def counted(*a, **kw):
                for data in stream(*a, **kw):
                    counter.bytes += len(data)
                    yield data
            response.raw.stream = counted
            return response
        requests.adapters.HTTPAdapter.send = send

    def mark(self):
        return self.requests, self.bytes

    def since(self, mark):
        return self.requests - mark[0], self.bytes - mark[1]


def server_stats(sim, reset=False):
    """The simulator's per-method request statistics (admin API)."""
    req = urllib.request.Request(
        sim['admin_url'].rstrip('/') + '/stats',
        method='POST' if reset else 'GET')
    ctx = ssl.create_default_context(cafile=sim['ca_file'])
    with urllib.request.urlopen(req, context=ctx) as resp:
        return json.load(resp)['methods']


def child(args):
    """Runs one driver against a running simulator; prints a JSON line."""
    import logging
    logging.disable(logging.CRITICAL)
    load_start = os.getloadavg()[0]
    counter = Counter()
    from cinder import context
    from cinder.volume import configuration
    from cinder.volume import driver as base_driver
    from cinder.volume.drivers.vmware import vmdk
    from cinder_vmware_ext import driver as ext_driver
    from cinder_vmware_ext import opts as ext_opts
    from oslo_config import cfg
    sim = json.loads(args.sim)
    cfg.CONF([], project='cinder', default_config_files=[],
             default_config_dirs=[])
    group = 'bench'
    config = configuration.Configuration(
        base_driver.volume_opts + vmdk.vmdk_opts + ext_opts.vmware_ext_opts,
        config_group=group)
    options = dict(
        volume_backend_name='bench', vmware_host_ip=sim['host'],
        vmware_host_port=sim['port'], vmware_host_username=sim['username'],
        vmware_host_password=sim['password'], vmware_ca_file=sim['ca_file'],
        vmware_insecure=False, vmware_task_poll_interval=0.05,
        vmware_api_retry_count=2, vmware_enable_volume_stats=True,
        vmware_cluster_name=args.clusters or [])
    for name, value in options.items():
        cfg.CONF.set_override(name, value, group=group)
    cls = (vmdk.VMwareVcVmdkDriver if args.driver == 'upstream'
           else ext_driver.VMwareVcVmdkExtDriver)
    drv = cls(configuration=config, db=None, host='bench@vmware')
    mark = counter.mark()
    start = time.perf_counter()
    drv.do_setup(context.get_admin_context())
    setup = time.perf_counter() - start, counter.since(mark)
    rss_setup = rss_mb()
    result = {'driver': args.driver, 'setup_s': setup[0],
              'setup_requests': setup[1][0]}
    if args.driver == 'ours':
        # do_setup already read the inventory (to check cluster names):
        # drop it so that "cold" pays for the whole first read.
        drv._pools._cache.close()
    for phase in ('cold', 'warm'):
        mark = counter.mark()
        start = time.perf_counter()
        stats = drv.get_volume_stats(refresh=True)
        result[phase + '_s'] = time.perf_counter() - start
        result[phase + '_requests'], result[phase + '_bytes'] = \
            counter.since(mark)
    if args.driver == 'ours':
        times, server = [], []
        for _ in range(args.warm_repeat):
            server_stats(sim, reset=True)
            start = time.perf_counter()
            drv.get_volume_stats(refresh=True)
            times.append(time.perf_counter() - start)
            wfu = server_stats(sim).get('WaitForUpdatesEx') or {}
            server.append(wfu.get('seconds', 0.0))
        result['warm_median_s'] = statistics.median(times)
        result['warm_server_s'] = statistics.median(server)
    pools = stats.get('pools') or [stats]
    result['pools'] = len(pools)
    result['free_gb'] = sum(p.get('free_capacity_gb') or 0 for p in pools)
    from cinder.volume.drivers.vmware import datastore as hub
    req = {hub.DatastoreSelector.SIZE_BYTES: GiB}
    mark = counter.mark()
    start = time.perf_counter()
    if args.driver == 'upstream':
        choice = drv._select_datastore(req)
    else:
        pool = pools[0]['pool_name']
        with drv._pool_context('bench@vmware#%s' % pool):
            choice = drv._select_datastore(req)
    result['select_s'] = time.perf_counter() - start
    result['select_requests'], result['select_bytes'] = counter.since(mark)
    result['selected'] = choice[2].name
    result['rss_setup_mb'] = rss_setup
    result['peak_rss_mb'] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result['load'] = (load_start, os.getloadavg()[0])
    print(json.dumps(result))


def generate(size, workdir):
    dcs, clusters, hosts, datastores = SIZES[size]
    path = os.path.join(workdir, 'bench-%s.json' % size)
    with open(path, 'w') as f:
        subprocess.run(
            [sys.executable,
             os.path.join(REPO, 'tools', 'vcsim', 'topologies', 'generate.py'),
             '--datacenters', str(dcs), '--clusters', str(clusters),
             '--hosts', str(clusters * hosts), '--datastores', str(datastores),
             '--seed', '1'], check=True, stdout=f)
    return path


def run_child(driver, sim, clusters, timeout, warm_repeat):
    cmd = [sys.executable, os.path.abspath(__file__), '--child',
           '--driver', driver, '--sim', json.dumps(sim)]
    for c in clusters:
        cmd += ['--cluster', c]
    cmd += ['--warm-repeat', str(warm_repeat)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {'driver': driver,
                'error': 'did not finish within %d s (timeout)' % timeout}
    if out.returncode != 0:
        return {'driver': driver, 'error': out.stderr.strip()[-600:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt(value, unit=''):
    if value is None:
        return '-'
    if unit == 'MB':
        return '%.1f' % value
    if unit == 'B':
        return '%.2f MB' % (value / 1e6)
    if isinstance(value, float):
        return '%.3f' % value
    return str(value)


def ratio(a, b):
    if not a or not b:
        return '-'
    return '%.1fx' % (a / b)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--child', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--driver', choices=('upstream', 'ours'))
    parser.add_argument('--sim', help=argparse.SUPPRESS)
    parser.add_argument('--cluster', dest='clusters', action='append')
    parser.add_argument('--sizes', default=','.join(SIZES),
                        help='comma-separated among: %s' % ', '.join(SIZES))
    parser.add_argument('--timeout', type=int, default=1800,
                        help='seconds per child run')
    parser.add_argument('--upstream-timeout', type=int,
                        help='seconds per upstream child run '
                             '(default: --timeout)')
    parser.add_argument('--drivers', default='upstream,ours',
                        help='comma-separated among: upstream, ours')
    parser.add_argument('--warm-repeat', type=int, default=5,
                        help='more warm refreshes of ours, for the median')
    args = parser.parse_args()
    if args.child:
        return child(args)

    from tests import simulator
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for size in args.sizes.split(','):
            topo_file = generate(size, workdir)
            with open(topo_file) as f:
                topology = json.load(f)
            first_cluster = topology['datacenters'][0]['clusters'][0]['name']
            start = time.perf_counter()
            sim = simulator.Simulator.start(topology, workdir=workdir)
            boot = time.perf_counter() - start
            print('# %s: simulator started in %.1f s' % (size, boot),
                  flush=True)
            try:
                for scope, clusters in (('one cluster', [first_cluster]),
                                        ('all clusters', [])):
                    results = {}
                    for d in args.drivers.split(','):
                        timeout = args.timeout
                        if d == 'upstream' and args.upstream_timeout:
                            timeout = args.upstream_timeout
                        results[d] = run_child(d, sim.info, clusters,
                                               timeout, args.warm_repeat)
                    rows.append((size, scope, results))
                    print_row(size, scope, results, boot)
            finally:
                sim.stop()
    return 0


HEADER = ('%-7s %-12s %-9s %9s %9s %9s %8s %5s %5s %11s %11s %9s %8s %9s '
          '%-9s %s'
          % ('size', 'scope', 'driver', 'cold s', 'warm s', 'warmMed s',
             'srvW ms', 'reqC', 'reqW', 'bytes cold', 'bytes warm',
             'select s', 'peak MB', 'setup MB', 'load', 'pools/free GB'))
_printed_header = []


def print_row(size, scope, results, boot):
    if not _printed_header:
        print(HEADER)
        _printed_header.append(True)
    for name, r in results.items():
        if 'error' in r:
            print('%-7s %-12s %-9s ERROR %s' % (size, scope, name, r['error']))
            continue
        server = r.get('warm_server_s')
        print('%-7s %-12s %-9s %9s %9s %9s %8s %5s %5s %11s %11s %9s %8s %9s '
              '%-9s %s/%.2f'
              % (size, scope, name, fmt(r['cold_s']), fmt(r['warm_s']),
                 fmt(r.get('warm_median_s')),
                 '-' if server is None else '%.1f' % (server * 1000),
                 r['cold_requests'], r['warm_requests'],
                 fmt(r['cold_bytes'], 'B'), fmt(r['warm_bytes'], 'B'),
                 fmt(r['select_s']), fmt(r['peak_rss_mb'], 'MB'),
                 fmt(r['rss_setup_mb'], 'MB'),
                 '%.1f-%.1f' % tuple(r['load']), r['pools'], r['free_gb']))
    up, ours = results.get('upstream'), results.get('ours')
    if up and ours and 'error' not in up and 'error' not in ours:
        print('%-7s %-12s %-9s %9s %9s %9s %8s %5s %5s %11s %11s %9s %8s'
              % (size, scope, 'ratio', ratio(up['cold_s'], ours['cold_s']),
                 ratio(up['warm_s'], ours['warm_s']), '', '', '', '',
                 ratio(up['cold_bytes'], ours['cold_bytes']),
                 ratio(up['warm_bytes'], ours['warm_bytes']),
                 ratio(up['select_s'], ours['select_s']),
                 ratio(up['peak_rss_mb'], ours['peak_rss_mb'])))
    sys.stdout.flush()


if __name__ == '__main__':
    sys.exit(main())

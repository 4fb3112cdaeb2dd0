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
"""The demo: a simulated vCenter (sample topology) with a real Cinder
control plane in front of it, a short tour through the cinder client, and
the stack left running for the operator's own ``cinder`` commands.

    demo.py [start] [--cluster]   start, tour, wait; Ctrl-C stops everything
    demo.py stop                  stop a demo running elsewhere (by the PIDs
                                  it saved)

``--cluster`` runs two cinder-volume services in one Cinder cluster
(active-active), with ``[coordination]`` on a private etcd and Cinder's
database on a private MariaDB.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from tools.stack import cinder_conf
from tools.stack import cinder_stack
from tools.stack import procs

REPO = cinder_stack.REPO
TOPOLOGY = os.path.join(REPO, 'tools', 'vcsim', 'topologies', 'sample.json')
WORKDIR = os.environ.get('DEMO_DIR', '/tmp/cinder-vmware-ext-demo')
STATE = os.path.join(WORKDIR, 'demo.json')
# Stats reports every few seconds (Cinder's default is a minute), so that
# the tour shows what changed.
STATS_INTERVAL_S = 5
VOLUME_DEFAULTS = {'periodic_interval': str(STATS_INTERVAL_S),
                   'backend_stats_polling_interval': str(STATS_INTERVAL_S),
                   'periodic_fuzzy_delay': '0'}


def say(text=''):
    print(text, flush=True)


def start_simulator():
    env = dict(os.environ, VCSIM_PYTHON=sys.executable,
               VCSIM_STATE_DIR=os.path.join(WORKDIR, 'vcsim'))
    out = subprocess.run([os.path.join(REPO, 'tools', 'vcsim', 'vcsim-up'),
                          TOPOLOGY], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise procs.StackError('vcsim-up failed: %s' % out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def clusters_of(topology_file):
    with open(topology_file) as f:
        topology = json.load(f)
    return [c['name'] for dc in topology['datacenters']
            for c in dc.get('clusters', [])]


def wait_status(client, volume, wanted, timeout=120, manager=None):
    """Poll a volume or snapshot until it reaches a status.

    Poll a volume (or, with ``manager``, a snapshot) until it reaches
    ``wanted`` or error.
    """
    manager = manager or client.volumes
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        volume = manager.get(volume.id)
        if volume.status in (wanted, 'error'):
            return volume
        time.sleep(0.5)
    return volume


# A connector naming no instance: initialize_connection makes a lazily
# created volume's backing and connects nothing.
CONNECTOR = {'host': 'demo-client', 'ip': '127.0.0.1',
             'platform': 'x86_64', 'os_type': 'linux'}


def first_use(client, volume):
    """What a consumer's first attach does: the backing is made now."""
    attachment = client.attachments.create(volume.id, CONNECTOR)
    client.attachments.delete(attachment['id'])
    return wait_status(client, volume, 'available')


def show_pools(client):
    for pool in sorted(client.pools.list(detailed=True),
                       key=lambda p: p.name):
        say('  %-36s total %8.2f GiB  free %8.2f GiB  largest free '
            'datastore %8.2f GiB  promised %6.2f GiB  (%d datastores)' % (
                pool.name, pool.total_capacity_gb, pool.free_capacity_gb,
                pool.largest_datastore_free_gb,
                getattr(pool, 'promised_capacity_gb', 0) or 0,
                pool.datastore_count))


def cluster_tour(client, stack):
    say('\n== Active-active: %d cinder-volume services in cluster %s@%s' % (
        len(stack.volume_hosts), stack.cluster, cinder_conf.BACKEND))
    for service in sorted(client.services.list(binary='cinder-volume'),
                          key=lambda s: s.host):
        name = [n for n, h in stack.volume_hosts.items()
                if service.host.startswith(h + '@')]
        say('  %-24s cluster %-24s %-4s PID %s' % (
            service.host, service.cluster, service.state,
            stack.services[name[0]].pid if name else '?'))
    say('  [coordination] backend_url = %s (tooz locks shared by the '
        'services)' % stack.etcd.backend_url)
    say('  [database] on MariaDB, port %d; `kill -9 PID` one service, then '
        '`cinder --os-volume-api-version 3.24 work-cleanup --host HOST` '
        'hands its work to the other.' % stack.mariadb.port)


def tour(client, clusters):
    say('\n== Pools: one per vCenter cluster, figures from its datastores')
    show_pools(client)

    pool = clusters[0]
    say('\n== A volume type pinned to pool %r (thin disks)' % pool)
    vtype = client.volume_types.create('demo-%s' % pool)
    vtype.set_keys({'volume_backend_name': 'vmware', 'pool_name': pool,
                    'vmware:vmdk_type': 'thin'})
    say('  $ cinder type-create demo-%s; cinder type-key demo-%s set '
        'pool_name=%s vmware:vmdk_type=thin' % (pool, pool, pool))

    say('\n== A volume lifecycle')
    volume = client.volumes.create(1, name='demo-volume',
                                   volume_type=vtype.id)
    volume = wait_status(client, volume, 'available')
    say('  created  %s: %s, %d GiB on %s (lazy create: its space is '
        'promised, its backing made at first use)' % (
            volume.name, volume.status, volume.size,
            getattr(volume, 'os-vol-host-attr:host')))
    volume = first_use(client, volume)
    say('  attached and detached once (initialize_connection): backing '
        'made')
    client.volumes.extend(volume, 2)
    volume = wait_status(client, volume, 'available')
    say('  extended %s: %s, %d GiB' % (volume.name, volume.status,
                                       volume.size))
    client.volumes.delete(volume)
    say('  deleted  %s' % volume.name)

    say('\n== A volume larger than any datastore')
    big = client.volumes.create(100000, name='demo-too-big',
                                volume_type=vtype.id)
    big = wait_status(client, big, 'error')
    messages = [m.user_message for m in client.messages.list()
                if m.resource_uuid == big.id]
    say('  %s: %s (%s)' % (big.name, big.status,
                           messages[0] if messages else 'no message'))
    client.volumes.delete(big)


def snapshot_tour(client, pool):
    """Show a COW snapshot and a linked clone made from it.

    A COW snapshot of a volume and a linked clone made from it: the
    clone's disk is a delta on the snapshot's, nothing is copied.
    """
    say('\n== A snapshot and a linked clone in pool %r' % pool)
    vtype = client.volume_types.create('demo-linked-%s' % pool)
    vtype.set_keys({'volume_backend_name': 'vmware', 'pool_name': pool,
                    'vmware:snapshot_format': 'COW',
                    'vmware:clone_type': 'linked'})
    say('  $ cinder type-create demo-linked-%s; cinder type-key '
        'demo-linked-%s set pool_name=%s vmware:snapshot_format=COW '
        'vmware:clone_type=linked' % (pool, pool, pool))
    source = first_use(client, wait_status(client, client.volumes.create(
        1, name='demo-source', volume_type=vtype.id), 'available'))
    snapshot = wait_status(
        client, client.volume_snapshots.create(source.id,
                                               name='demo-snapshot'),
        'available', manager=client.volume_snapshots)
    say('  snapshot %s of %s: %s (a vSphere snapshot of the backing, '
        'chain depth %s)' % (snapshot.name, source.name, snapshot.status,
                             snapshot.metadata.get('vmware_chain_depth',
                                                   '?')))
    clone = wait_status(client, client.volumes.create(
        1, name='demo-linked-clone', volume_type=vtype.id,
        snapshot_id=snapshot.id), 'available')
    say('  linked clone %s: %s on %s, its disk a delta on the snapshot\'s '
        '(deleting the snapshot is refused while the clone needs it)' % (
            clone.name, clone.status,
            getattr(clone, 'os-vol-host-attr:host')))


def takeover_tour(client, backend):
    """Show the takeover of two existing disks.

    Take over two existing disks of the sample topology: what
    manageable-list offers, two loose disks managed, shown as volumes.
    """
    say('\n== Takeover of two existing disks')
    say('  $ cinder manageable-list %s' % backend)
    entries = sorted(client.volumes.list_manageable(backend, detailed=True),
                     key=lambda e: (not e.safe_to_manage,
                                    e.extra_info['datastore'],
                                    e.extra_info['path']))
    for entry in entries:
        info = entry.extra_info
        say('  %-4s %3d GiB  [%s] %s%s%s' % (
            'safe' if entry.safe_to_manage else '-', entry.size,
            info['datastore'], info['path'],
            ' (VM %s)' % info['vm'] if info.get('vm') else '',
            '' if entry.safe_to_manage else ': ' + entry.reason_not_safe))
    chosen = [e for e in entries if e.safe_to_manage and
              not e.extra_info.get('vm')][:2]
    volumes, asked = [], {}
    for entry in chosen:
        host = '%s#%s' % (backend, entry.extra_info['pool'])
        name = 'taken-over-%d' % (len(volumes) + 1)
        say("  $ cinder manage --name %s %s '%s'" % (
            name, host, entry.reference['source-name']))
        volumes.append(client.volumes.manage(host, entry.reference,
                                             name=name))
        asked[volumes[-1].id] = entry.extra_info['pool']
    for volume in volumes:
        volume = wait_status(client, volume, 'available')
        landed = getattr(volume, 'os-vol-host-attr:host')
        say('  %s: %s, %d GiB on %s (id %s)' % (
            volume.name, volume.status, volume.size, landed, volume.id))
        if not landed.endswith('#' + asked[volume.id]):
            say('    (in a Cinder cluster the manage API drops the pool; '
                "the disk's datastore is in pool %s too, so the disk stays "
                'where it is, in the pool the scheduler chose)'
                % landed.rsplit('#', 1)[-1])
    say('  The disks stay where they were, bytes and UUID unchanged; '
        '`cinder unmanage ID` gives one back.')


def promise_tour(client, pool):
    """A lazily created volume holds its space in its pool's figures."""
    say('\n== Lazy create: a 10 GiB volume with no backing yet, its space '
        'promised')
    vtype = [t for t in client.volume_types.list()
             if t.name == 'demo-%s' % pool][0]
    volume = wait_status(client, client.volumes.create(
        10, name='demo-promised', volume_type=vtype.id), 'available')
    say('  created %s: %s on %s' % (volume.name, volume.status,
                                    getattr(volume, 'os-vol-host-attr:host')))
    # The scheduler sees it at the volume services' next stats report.
    deadline = time.monotonic() + STATS_INTERVAL_S * 3
    while time.monotonic() < deadline and not any(
            (getattr(p, 'promised_capacity_gb', 0) or 0) >= 10
            for p in client.pools.list(detailed=True)):
        time.sleep(1)
    say('  $ cinder get-pools --detail   (promised_capacity_gb)')
    show_pools(client)


def stop_all(stack=None):
    try:
        with open(STATE) as f:
            state = json.load(f)
    except OSError:
        state = {}
    if stack is not None:
        stack.stop()
    elif os.path.exists(os.path.join(WORKDIR, cinder_stack.STATE_FILE)):
        cinder_stack.stop_by_state(WORKDIR)
    if state.get('vcsim_pid'):
        procs.stop_group(state['vcsim_pid'])


def start(cluster=False):
    if os.path.exists(STATE):
        say('A demo seems to run already (%s); `tools/demo stop` first.'
            % STATE)
        return 1
    # A fresh database and broker each time (the last demo's logs go too).
    shutil.rmtree(WORKDIR, ignore_errors=True)
    os.makedirs(WORKDIR)
    stack = None
    try:
        say('Starting the vCenter simulator (sample topology) ...')
        vcenter = start_simulator()
        with open(STATE, 'w') as f:
            json.dump({'demo_pid': os.getpid(),
                       'vcsim_pid': vcenter['pid']}, f)
        clusters = clusters_of(TOPOLOGY)
        if cluster:
            say('Starting Cinder: rabbitmq, etcd, MariaDB, db sync, '
                'cinder-api, cinder-scheduler, two clustered cinder-volume '
                'services ...')
        else:
            say('Starting Cinder: rabbitmq, db sync, cinder-api, '
                'cinder-scheduler, cinder-volume ...')
        # Lazy create, the default: backings are made at first use.
        stack = cinder_stack.CinderStack(
            WORKDIR, vcenter, clusters,
            volume_services=2 if cluster else 1,
            volume_defaults=VOLUME_DEFAULTS).start()
        say('Stack up in %.0f s (%s)' % (sum(stack.timings.values()),
                                         stack.timings))
        if cluster:
            cluster_tour(stack.client(), stack)
        tour(stack.client(), clusters)
        snapshot_tour(stack.client(), clusters[0])
        takeover_tour(stack.client(), stack.volume_backend())
        promise_tour(stack.client(), clusters[0])

        say('\n== The stack keeps running. To use the cinder CLI:\n')
        say(cinder_stack.export_lines(stack.endpoint).rstrip())
        say('export PATH=%s:$PATH' % stack.bin_dir)
        say('\nLogs and cinder.conf: %s\nCtrl-C here (or `tools/demo stop`) '
            'stops everything.' % WORKDIR)
        wait_for_signal()
    finally:
        say('Stopping ...')
        stop_all(stack)
        os.remove(STATE) if os.path.exists(STATE) else None
    return 0


def wait_for_signal():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def stop():
    try:
        with open(STATE) as f:
            pid = json.load(f).get('demo_pid')
        os.kill(pid, signal.SIGTERM)
        say('Asked the demo (PID %d) to stop.' % pid)
    except (OSError, TypeError, ValueError):
        stop_all()
        if os.path.exists(STATE):
            os.remove(STATE)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='tools/demo',
        description='A simulated vCenter with a real Cinder control plane '
                    'in front of it, a short tour, then left running.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='start (the default): start, tour, wait; Ctrl-C stops '
               'everything.  stop: stop a demo running elsewhere.')
    parser.add_argument('command', nargs='?', default='start',
                        choices=['start', 'stop'])
    parser.add_argument('--cluster', action='store_true',
                        help='two cinder-volume services in one Cinder '
                             'cluster (active-active) on etcd and MariaDB')
    args = parser.parse_args(argv)
    if args.command == 'stop':
        return stop()
    return start(cluster=args.cluster)


if __name__ == '__main__':
    sys.exit(main())

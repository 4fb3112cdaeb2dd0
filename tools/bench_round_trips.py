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
"""Round trips to vCenter of three flows, by method, from the simulator's
request statistics (``/admin/stats``, tools/vcsim/ADMIN.md).

(a) deleting around a volume with linked clones: the refused delete of the
    COW snapshot they read (SnapshotIsBusy), the extend of a linked clone
    (its promotion deletes the chain files no other VM reads), then the
    teardown (clones, snapshot, source);
(b) a migration whose disk chain shares files with other VMs (a linked
    clone moved to a pool that reaches its parent's datastore);
(c) a takeover listing (get_manageable_volumes) over loose files and VM
    disks on every datastore;
(d) deleting around a volume whose linked clones span 3 datastores (each
    clone's delta moved by RelocateVM to its own datastore, the parent
    shared where it is): the refused snapshot delete, then the teardown.

It prints one table per flow (and --json writes the figures).  Run it on
another checkout's code (e.g. main's, before a change) with ``--code DIR``:
the script runs again in a child Python whose only path to the project is
DIR (``PYTHONPATH=DIR``, ``-P``), so that tree's ``cinder_vmware_ext`` and
``tests`` are imported instead of this one's.  After tools/setup-env:
.venv/bin/python -m tools.bench_round_trips [--clones N] [--code DIR]
"""

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BACKEND = 'functional@vmware'
PROJECT = 'bench-project'
HOSTS = {'gold': ['g1', 'g2'], 'silver': ['s1', 's2']}
GOLD = ['gold-only', 'gold-2', 'gold-3', 'shared']
ALL = GOLD + ['silver-only']


def topology(loose_files):
    def mounts(*pools):
        return [{'host': h} for p in pools for h in HOSTS[p]]
    return {'datacenters': [{
        'name': 'DC1',
        'clusters': [{'name': p, 'hosts': [{'name': h} for h in hs]}
                     for p, hs in sorted(HOSTS.items())],
        'datastores': [
            {'name': 'gold-only', 'type': 'VMFS', 'capacity_gb': 100,
             'free_gb': 40, 'mounts': mounts('gold')},
            # Less free than gold-only: best fit places (a)'s and (d)'s
            # sources here, (b)'s 45 GiB fit on shared only.
            {'name': 'gold-2', 'type': 'VMFS', 'capacity_gb': 100,
             'free_gb': 30, 'mounts': mounts('gold')},
            {'name': 'gold-3', 'type': 'VMFS', 'capacity_gb': 100,
             'free_gb': 35, 'mounts': mounts('gold')},
            {'name': 'shared', 'type': 'NFS', 'capacity_gb': 300,
             'free_gb': 150, 'mounts': mounts('gold', 'silver')},
            {'name': 'silver-only', 'type': 'VMFS', 'capacity_gb': 100,
             'free_gb': 50, 'mounts': mounts('silver')}],
        'vms': [{'name': 'vm-%d' % i, 'host': 'g1',
                 'power_state': 'poweredOff',
                 'disks': [{'datastore': GOLD[i % len(GOLD)],
                            'path': 'vm-%d/vm-%d.vmdk' % (i, i),
                            'capacity_gb': 1, 'thin': True}]}
                for i in range(loose_files)],
        'files': [{'datastore': ALL[i % len(ALL)],
                   'path': 'loose/disk-%d.vmdk' % i,
                   'capacity_gb': 1, 'thin': True}
                  for i in range(loose_files)],
    }]}


class Counter(object):
    """Requests by method between ``start()`` and ``stop()``."""

    def __init__(self, sim):
        self.sim = sim

    def start(self):
        self.sim.reset_stats()

    def stop(self):
        stats = self.sim.request_stats()
        return {name: m['calls'] for name, m in stats['methods'].items()
                if m['calls']}


def spread_clones(drv, clones, datastores):
    """Spread the linked clones' deltas over datastores.

    Move the deltas of ``clones[1:]`` (linked clones, their parent on
    the source's datastore) to ``datastores``, one each, by RelocateVM
    (the shared parent stays); returns how many datastores the clones'
    chains then span.
    """
    from cinder_vmware_ext.vsphere import retrieve
    from oslo_vmware import vim_util
    session = drv.session
    refs = {props.get('name'): ref for ref, props in retrieve.retrieve(
        session, {'Datastore': ['name']}).values()}
    used = set()
    for i, clone in enumerate(clones):
        backing = drv.volumeops.get_backing(clone['name'], clone['id'])
        props = retrieve.several(session, backing,
                                 ['resourcePool', 'runtime.host'])
        if i:
            drv.volumeops.relocate_backing(
                backing, refs[datastores[i - 1]], props['resourcePool'],
                props['runtime.host'])
        used.update(vim_util.get_moref_value(ds) for ds in retrieve.items(
            retrieve.one(session, backing, 'datastore'),
            'ManagedObjectReference'))
    if len(used) < 3:
        raise RuntimeError('the clones span %d datastores' % len(used))
    return len(used)


def run(args):
    from cinder import coordination
    from cinder import exception
    from oslo_config import cfg
    from tests.functional import driver_fixtures as df
    from tests import simulator as vcsim

    workdir = tempfile.mkdtemp(prefix='bench-round-trips-')
    sim = vcsim.Simulator.start(topology(args.loose), workdir=workdir)
    figures = {}
    try:
        df.init_cinder(workdir)
        cfg.CONF.set_override('backend_url', 'file://' + workdir,
                              group='coordination')
        coordination.COORDINATOR.start()
        ctx = df.admin_context()
        drv = df.make_driver(sim, vmware_cluster_name=[],
                             vmware_lazy_create=True)
        connector = {'ip': '127.0.0.1', 'host': 'bench'}
        counter = Counter(sim)

        def volume(pool, size=1, first_use=True, **specs):
            vol = df.new_volume(ctx, size=size,
                                type_id=df.volume_type(ctx, **specs),
                                project_id=PROJECT,
                                host='%s#%s' % (BACKEND, pool))
            drv.create_volume(vol)
            if first_use:
                # Lazy create: the backing lands at first use.
                drv.initialize_connection(vol, connector)
            return vol

        def linked_clones(source, count, size=1):
            snap = df.new_snapshot(ctx, source)
            snap.update(drv.create_snapshot(snap) or {})
            snap.save()
            clones = []
            for _i in range(count):
                clone = df.new_volume(ctx, size=size, type_id=df.volume_type(
                    ctx, clone_type='linked'), project_id=PROJECT,
                    host='%s#gold' % BACKEND)
                update = drv.create_volume_from_snapshot(clone, snap)
                if update:
                    clone.update(update)
                    clone.save()
                clones.append(clone)
            return snap, clones

        def measure(name, call):
            counter.start()
            try:
                result = call()
            finally:
                figures[name] = counter.stop()
            return result

        # (a) deleting around a volume with linked clones
        source = volume('gold', vmdk_type='thick')
        snap, clones = linked_clones(source, args.clones)

        def refused_delete():
            try:
                drv.delete_snapshot(snap)
            except exception.SnapshotIsBusy:
                return 'refused'
            raise RuntimeError('the snapshot delete was not refused')
        measure('a1 delete snapshot read by %d linked clones (refused)'
                % args.clones, refused_delete)
        measure('a2 extend a linked clone (promotion, unused chain deleted)',
                lambda: drv.extend_volume(clones[0], 2))

        def teardown():
            for clone in clones:
                drv.delete_volume(clone)
            drv.delete_snapshot(snap)
            drv.delete_volume(source)
        measure('a3 delete %d clones, the snapshot, the source'
                % args.clones, teardown)

        # (b) migration with shared chain files: both on shared (45 GiB
        # does not fit gold-only), which silver reaches.
        source = volume('gold', size=45)
        _snap, (clone,) = linked_clones(source, 1, size=45)
        stats = drv.get_volume_stats(refresh=True)
        (caps,) = [p for p in stats['pools'] if p['pool_name'] == 'silver']
        host = {'host': '%s#silver' % BACKEND, 'cluster_name': None,
                'capabilities': dict(caps, volume_backend_name=stats[
                    'volume_backend_name'])}
        moved = measure('b  migrate a linked clone sharing its parent',
                        lambda: drv.migrate_volume(ctx, clone, host))
        if not moved[0]:
            raise RuntimeError('the migration was not done by the driver')

        # (c) a takeover listing
        listed = measure('c  takeover listing (%d VMs, %d loose files)'
                         % (args.loose, args.loose),
                         lambda: drv.get_manageable_volumes(
                             [], None, 1000, 0, ['size'], ['asc']))
        if len(listed) < args.loose:
            raise RuntimeError('the listing has %d entries' % len(listed))

        # (d) a volume whose linked clones span 3 datastores
        source = volume('gold', vmdk_type='thick')
        snap, clones = linked_clones(source, 3)
        spread = spread_clones(drv, clones, ['gold-only', 'gold-3'])
        measure('d1 delete snapshot read by 3 linked clones on %d '
                'datastores (refused)' % spread, refused_delete)

        def teardown_spread():
            for clone in clones:
                drv.delete_volume(clone)
            drv.delete_snapshot(snap)
            drv.delete_volume(source)
        measure('d2 delete 3 clones on %d datastores, the snapshot, the '
                'source' % spread, teardown_spread)
        df.close_driver(drv)
    finally:
        if coordination.COORDINATOR.started:
            coordination.COORDINATOR.stop()
        sim.stop()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--code', default=REPO,
                        help='checkout whose cinder_vmware_ext and tests '
                        'are run (default: this one)')
    parser.add_argument('--clones', type=int, default=3)
    parser.add_argument('--loose', type=int, default=5,
                        help='VMs and loose disk files for the listing')
    parser.add_argument('--json', help='write the figures to this file')
    args = parser.parse_args()
    args.code = os.path.abspath(args.code)
    if args.code != REPO and os.environ.get('PYTHONPATH') != args.code:
        # Another checkout: this file again, with that tree first on the
        # path and not this one (-P leaves out the script's directory).
        return subprocess.call(
            [sys.executable, '-P', os.path.abspath(__file__)] + sys.argv[1:],
            env=dict(os.environ, PYTHONPATH=args.code), cwd=args.code)
    logging.basicConfig(level=logging.CRITICAL)
    figures = run(args)
    print('code: %s' % args.code)
    for name, methods in figures.items():
        print('\n%s: %d requests' % (name, sum(methods.values())))
        for method, calls in sorted(methods.items()):
            print('  %-44s %4d' % (method, calls))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(figures, f, indent=1, sort_keys=True)


if __name__ == '__main__':
    sys.exit(main())

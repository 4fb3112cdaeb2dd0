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
"""One volume's life through cinder-vmware-ext's driver on the simulator.

Starts the vCenter simulator with a topology, sets the driver up the way
cinder-volume would (a backend section, do_setup, check_for_setup_error),
prints its capacity stats, then creates a volume, snapshots it, clones it,
extends it and deletes everything, printing what changed in the simulated
vCenter after each step.  Run it after tools/setup-env:
.venv/bin/python -m tools.demo_lifecycle [--topology FILE]
"""

import argparse
import json
import logging
import os
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from oslo_utils import units

from tests.functional import driver_fixtures as df
from tests import simulator as vcsim


def say(step, text):
    print('%-10s %s' % (step, text), flush=True)


def describe_disk(inv, vm):
    disk = inv.disk(vm)
    kind = 'thin' if disk.backing.thinProvisioned else 'thick'
    parent = getattr(disk.backing, 'parent', None)
    on_disk = df.capacity_bytes(inv.local_path(disk.backing.fileName))
    text = '%s (%g GiB, %s; its vmdk file: %g GiB)' % (
        disk.backing.fileName, disk.capacityInKB / units.Mi, kind,
        on_disk / units.Gi)
    if parent is not None:
        text += ', child of %s' % parent.fileName
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--topology', default=os.path.join(
        REPO, 'tools', 'vcsim', 'topologies', 'sample.json'))
    parser.add_argument('--cluster', help='compute cluster for the backend '
                        '(default: the topology\'s first cluster)')
    args = parser.parse_args()
    # The driver logs what it handles itself (e.g. DuplicateName when an
    # inventory folder exists); errors that matter raise.
    logging.basicConfig(level=logging.CRITICAL)

    with open(args.topology) as f:
        topology = json.load(f)
    cluster = args.cluster or topology['datacenters'][0]['clusters'][0]['name']

    workdir = tempfile.mkdtemp(prefix='cinder-vmware-demo-')
    sim = vcsim.Simulator.start(topology, workdir=workdir)
    inv = drv = None
    try:
        say('simulator', '%s (topology %s, CA %s)' % (
            sim.url, os.path.relpath(args.topology), sim.ca_file))
        df.init_cinder(workdir)
        ctx = df.admin_context()
        # Eager create: the demo shows the backing right after create.
        drv = df.make_driver(sim, vmware_cluster_name=[cluster],
                             volume_backend_name='vmware-demo',
                             vmware_lazy_create=False)
        inv = df.Inventory(sim)
        say('setup', '%s %s: do_setup and check_for_setup_error done '
            '(vCenter %s, cluster %s, TLS verified)' % (
                type(drv).__name__, drv.VERSION, drv._vc_version, cluster))

        stats = drv.get_volume_stats(refresh=True)
        for pool in stats.get('pools') or [stats]:
            say('stats', 'backend %s, pool %s: total %s GB, free %s GB '
                '(protocol %s)' % (
                    stats['volume_backend_name'],
                    pool.get('pool_name', '-'), pool['total_capacity_gb'],
                    pool['free_capacity_gb'], stats['storage_protocol']))

        # Cinder's scheduler names the pool in the volume's host.
        host = 'demo@vmware-demo#%s' % cluster
        vol = df.new_volume(ctx, size=1, type_id=df.volume_type(ctx),
                            project_id='demo-project', host=host)
        drv.create_volume(vol)
        vm = inv.vm(vol.name)
        say('create', '%s: backing VM %s on %s, disk %s' % (
            vol.name, inv.inventory_path(vm),
            inv.name_of(inv.prop(vm, 'runtime.host')), describe_disk(inv, vm)))

        snap = df.new_snapshot(ctx, vol)
        drv.create_snapshot(snap)
        say('snapshot', '%s: VM snapshots %s, disk now %s' % (
            snap.name, inv.snapshot_names(vm), describe_disk(inv, vm)))

        clone = df.new_volume(ctx, size=1, type_id=vol.volume_type_id,
                              project_id='demo-project', host=host)
        drv.create_volume_from_snapshot(clone, snap)
        clone_vm = inv.vm(clone.name)
        say('clone', '%s from %s (full clone): disk %s' % (
            clone.name, snap.name, describe_disk(inv, clone_vm)))

        drv.extend_volume(clone, 2)
        say('extend', '%s to 2 GB: disk %s' % (
            clone.name, describe_disk(inv, clone_vm)))

        drv.delete_volume(clone)
        drv.delete_snapshot(snap)
        say('delete', '%s and %s: VM snapshots %s, disk %s' % (
            clone.name, snap.name, inv.snapshot_names(vm),
            describe_disk(inv, vm)))
        local = inv.local_path(inv.disk(vm).backing.fileName)
        drv.delete_volume(vol)
        say('delete', '%s: backing VM gone: %s, disk files gone: %s' % (
            vol.name, inv.vm(vol.name) is None, not os.path.exists(local)))
        say('done', 'volume lifecycle completed')
    finally:
        if inv is not None:
            inv.close()
        if drv is not None:
            df.close_driver(drv)
        sim.stop()
        say('simulator', 'stopped')


if __name__ == '__main__':
    main()

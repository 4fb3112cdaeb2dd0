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
"""``cinder-vmware datastore evacuate NAME``: every Cinder volume (and
Cinder snapshot template) off a datastore, usually a drained one.

Each backing VM moves whole (home, disks and their delta chains) by
storage vMotion (RelocateVM_Task, atomic: a failed move leaves it where it
was) onto another eligible datastore of its own pool, the one with the
most free space.  In cluster pool mode the pool stays the same, so
Cinder's ``host`` stays true and vCenter is asked directly; in datastore
pool mode each datastore is a pool, so the move goes through Cinder's
migrate API (the driver's ``migrate_volume`` relocates the backing) and
Cinder's ``host`` follows.

A volume attached to an instance is skipped with the reason: its disk is
open in the instance VM, and moving the backing under it is unsafe.

Every outcome is appended at once to a results file (JSON lines), as the
takeover import does; a rerun works on what is still on the datastore and
appends to the same file.  ``--concurrency`` moves that many at once
(tasks in flight, polled from one session).
"""

import collections
import json
import logging
import os
import time

from oslo_utils import timeutils

from cinder_vmware_ext.cmd import backend
from cinder_vmware_ext.cmd import parsing
from cinder_vmware_ext.cmd import redact
from cinder_vmware_ext.cmd import toolkit
from cinder_vmware_ext.core import pools as core_pools
from cinder_vmware_ext.vsphere import datastores as vds
from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import relocate

LOG = logging.getLogger(__name__)

MOVED = 'moved'
SKIPPED = 'skipped'
FAILED = 'failed'

# Cinder's migration statuses (os-vol-mig-status-attr:migstat).
MIGRATION_DONE = ('success', 'completing')
MIGRATION_FAILED = ('error',)


Item = collections.namedtuple('Item', 'key kind vm volume_id files')


def _now():
    return timeutils.utcnow(with_timezone=True).isoformat(timespec='seconds')


def on_datastore(vm, name):
    """The VM's disk files (chains included) on datastore ``name``."""
    prefix = '[%s] ' % name
    return [str(f) for f in vm.disk_files() if str(f).startswith(prefix)]


def items_on(vms, name):
    """List the Cinder items with a file on a datastore.

    [Item] of every Cinder volume backing and Cinder snapshot template
    with a file on datastore ``name``.
    """
    found = []
    for vm in vms:
        files = on_datastore(vm, name)
        if not files:
            continue
        if vm.volume_id and not vm.template:
            found.append(Item(vm.volume_id, 'volume', vm, vm.volume_id,
                              files))
        elif toolkit.SNAPSHOT_NAME.match(vm.name):
            found.append(Item(vm.name, 'snapshot', vm, None, files))
    return sorted(found, key=lambda i: i.key)


def attached_to(item, vms):
    """Names of the other VMs (instances) that have the item's disk."""
    own = {str(d.backing.fileName) for d in item.vm.disks()}
    return sorted(vm.name for vm in vms if vm.ref.value != item.vm.ref.value
                  and own & {str(f) for f in vm.disk_files()})


def needed_bytes(vm):
    """Return the bytes a move takes on the target datastore.

    What the move takes on the target: thick disks' capacity, thin
    ones' data (unknown here: their capacity counts, as Cinder does not
    overcommit a move).
    """
    return sum(int(getattr(d, 'capacityInBytes', 0) or
                   int(getattr(d, 'capacityInKB', 0) or 0) * 1024)
               for d in vm.disks())


def previous_results(path):
    results = {}
    if os.path.exists(path):
        with open(path, encoding='utf-8') as f:
            for line in f:
                line = line.strip()
                if line:
                    entry = json.loads(line)
                    results[entry['key']] = entry
    return results


class Evacuate(parsing.Command):
    """Move every Cinder volume off a datastore within its pool.

    Move every Cinder volume off a datastore to other datastores of
    its pool (storage vMotion; Cinder's migrate API in datastore pool
    mode).
    """

    arguments = (
        parsing.DATASTORE.but(help="the datastore's name (usually drained "
                                   'first: datastore drain NAME)'),
        parsing.concurrency(2, 'volumes moved'),
        parsing.Arg('--results', metavar='RESULTS',
                    help='results file (JSON lines; default '
                         'evacuate-NAME.jsonl); a rerun appends'),
        parsing.DRY_RUN.but(help='say what would be moved where; change '
                                 'nothing'),
    )

    # -- Cinder (datastore pool mode) -----------------------------------------

    def cinder(self):
        factory = getattr(self.app, 'cinder_client_factory', None)
        if factory is not None:
            return factory()
        from cinder_vmware_ext.cmd import cinder_api
        return cinder_api.app_client(self.app)

    # -- planning -------------------------------------------------------------

    def take_action(self, args):
        from cinder_vmware_ext.cmd import datastore as ds_cmd
        if args.concurrency < 1:
            raise toolkit.ToolkitError('--concurrency %d: must be 1 or more'
                                       % args.concurrency)
        try:
            ops = ds_cmd.Ops(self.app.options)
            row, _details = ops.find(args.name)
            inventory, found = ops.pools.current()
        except backend.BackendError as err:
            raise toolkit.ToolkitError(str(err))
        session = ops.session
        try:
            return self._evacuate(args, ops, session, row, inventory, found)
        finally:
            try:
                session.logout()
            except Exception:  # a session already gone needs no logout
                pass

    def _targets(self, ops, row, inventory, found):
        """List the pools reaching the source with their target datastores.

        [(pool, [Datastore])] of the pools that reach the source, with
        their eligible datastores other than the source.
        """
        source = inventory.datastores[row['ref']]
        pools = []
        for pool in found:
            if pool.cluster is None or source.mounts.mounted.isdisjoint(
                    pool.cluster.hosts):
                continue
            others = [d for d in pool.datastores if d.ref != source.ref]
            if others:
                pools.append((pool, others))
        # In datastore pool mode each of these is a one-datastore pool of
        # the source's cluster (the source's own pool is drained away).
        return pools

    def _evacuate(self, args, ops, session, row, inventory, found):
        name = args.name
        mode = ops.section.vmware_pool_mode
        vms, _objects = toolkit.read_vms(session)
        items = items_on(vms, name)
        targets = self._targets(ops, row, inventory, found)
        if not row['drained']:
            LOG.warning('datastore %s is not drained: new volumes may be '
                        'placed there meanwhile (datastore drain %s)',
                        name, name)
        results_path = args.results or 'evacuate-%s.jsonl' % name
        previous = previous_results(results_path)
        if previous:
            LOG.info('continuing after %d earlier results in %s',
                     len(previous), results_path)
        free = {}
        for _pool, datastores in targets:
            for ds in datastores:
                free[ds.ref] = ds.free_space
        plans, outcomes = [], []
        for item in items:
            reason = self._skip_reason(item, vms, mode)
            if reason:
                outcomes.append((item, SKIPPED, reason, None))
                continue
            need = needed_bytes(item.vm)
            choice = None
            for pool, datastores in targets:
                for ds in datastores:
                    if free[ds.ref] >= need and (
                            choice is None or
                            free[ds.ref] > free[choice[1].ref]):
                        choice = (pool, ds)
            if choice is None:
                outcomes.append((item, SKIPPED, 'no other eligible datastore '
                                 'of its pool has %d GiB free' % (
                                     (need + core_pools.model.GiB - 1) //
                                     core_pools.model.GiB), None))
                continue
            free[choice[1].ref] -= need
            plans.append((item, choice[0], choice[1]))
        if args.dry_run:
            for item, pool, ds in plans:
                self.app.stdout.write('would move %s %s to %s (pool %s)\n'
                                      % (item.kind, item.key, ds.name,
                                         pool.name))
            for item, _status, reason, _to in outcomes:
                self.app.stdout.write('would skip %s %s (%s)\n'
                                      % (item.kind, item.key, reason))
            return 0
        cinder = None
        if mode == core_pools.DATASTORE_MODE and any(
                i.kind == 'volume' for i, _p, _d in plans):
            cinder = self.cinder()
        results = [self._record(results_path, item, status, reason, name, to)
                   for item, status, reason, to in outcomes]
        results += self._run(session, cinder, plans, name, results_path,
                             args.concurrency)
        return self._report(results, name)

    @staticmethod
    def _skip_reason(item, vms, mode):
        users = attached_to(item, vms)
        if users:
            return ('attached to %s: a backing is not moved under an open '
                    'disk (detach it, or move the instance)'
                    % ', '.join(users))
        if item.vm.power_state == 'poweredOn':
            return 'its VM %s is powered on' % item.vm.name
        if item.kind == 'snapshot' and mode == core_pools.DATASTORE_MODE:
            return ("a snapshot's template VM: in datastore pool mode "
                    "Cinder's records place it with its volume; left")
        return None

    # -- moving ---------------------------------------------------------------

    def _run(self, session, cinder, plans, source, results_path,
             concurrency):
        pending = collections.deque(plans)
        inflight = {}
        results = []
        progress = toolkit.Progress(len(plans), self.app.stderr)
        while pending or inflight:
            while pending and len(inflight) < concurrency:
                item, pool, ds = pending.popleft()
                try:
                    handle = self._start(session, cinder, item, pool, ds)
                except Exception as err:
                    results.append(self._record(
                        results_path, item, FAILED, toolkit.one_line(
                            '%s: %s' % (err.__class__.__name__, err)),
                        source, ds.name))
                    progress.advance()
                    continue
                inflight[item.key] = (item, pool, ds, handle)
            for key in list(inflight):
                item, pool, ds, handle = inflight[key]
                try:
                    verdict = self._poll(session, cinder, item, pool, handle)
                except Exception as err:
                    verdict = False, toolkit.one_line(
                        '%s: %s' % (err.__class__.__name__, err))
                if verdict is None:
                    continue
                del inflight[key]
                ok, reason = verdict
                if ok:
                    ok, reason = self._verify(session, item, source)
                results.append(self._record(
                    results_path, item, MOVED if ok else FAILED, reason,
                    source, ds.name))
                progress.advance()
            if inflight:
                time.sleep(0.5)
        return results

    def _start(self, session, cinder, item, pool, ds):
        if cinder is not None and item.kind == 'volume':
            volume = cinder.volumes.get(item.volume_id)
            if volume.status != 'available':
                raise toolkit.ToolkitError(
                    'volume is %s in Cinder, not available' % volume.status)
            host = getattr(volume, 'os-vol-host-attr:host')
            target = '%s#%s' % (host.split('#')[0], pool.name)
            cinder.volumes.migrate_volume(volume, target, False, True)
            return ('cinder', target)
        spec = relocate.spec(session, vds.moref(ds.ref), item.vm.disks())
        return ('task', relocate.start(session, item.vm.ref, spec))

    @staticmethod
    def _poll(session, cinder, item, pool, handle):
        kind, what = handle
        if kind == 'task':
            return relocate.poll(session, what)
        volume = cinder.volumes.get(item.volume_id)
        status = getattr(volume, 'os-vol-mig-status-attr:migstat', None)
        host = getattr(volume, 'os-vol-host-attr:host', '')
        if status in MIGRATION_FAILED:
            return False, 'Cinder migration to %s: %s' % (what, status)
        if host == what and status in MIGRATION_DONE + (None,) and \
                volume.status == 'available':
            return True, None
        return None

    @staticmethod
    def _verify(session, item, source):
        """Check that nothing of the VM is left on the source.

        Nothing of the VM left on the source (a shared chain file would
        be).
        """
        left = [f for d in relocate.disk_devices(session, item.vm.ref)
                for f in vdisks.chain(d.backing)
                if str(f).startswith('[%s] ' % source)]
        if left:
            return False, 'moved, but %s stayed on %s' % (
                ', '.join(left), source)
        return True, None

    @staticmethod
    def _record(path, item, status, reason, source, target):
        reason = redact.redact(reason) if reason else reason
        entry = {'key': item.key, 'kind': item.kind, 'vm': item.vm.name,
                 'status': status, 'reason': reason, 'from': source,
                 'to': target, 'at': _now()}
        with open(path, 'a', encoding='utf-8') as f:
            f.write(json.dumps(entry, sort_keys=True) + '\n')
            f.flush()
        return entry

    def _report(self, results, source):
        out = self.app.stdout
        counts = collections.Counter(r['status'] for r in results)
        out.write('%s: %d, %s: %d, %s: %d\n' % (
            MOVED, counts[MOVED], SKIPPED, counts[SKIPPED], FAILED,
            counts[FAILED]))
        for r in sorted(results, key=lambda r: (r['status'], r['key'])):
            if r['status'] == MOVED:
                out.write('  moved %s %s to %s\n' % (
                    r['kind'], r['key'], r['to']))
            else:
                out.write('  %s %s %s: %s\n' % (
                    r['status'], r['kind'], r['key'], r['reason']))
        return 1 if counts[FAILED] else 0


COMMANDS = {'datastore evacuate': Evacuate}

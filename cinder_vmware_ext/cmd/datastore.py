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
"""``cinder-vmware datastore``: what Cinder sees of each datastore,
drain/undrain (a mark every cinder-volume service sees), create (NFS,
VMFS), rename, remove and Storage I/O Control, refusing what would take a
datastore from under Cinder or a VM.

Figures come from the driver's own inventory cache and pool code
(``pool_service.PoolService``), promises from Cinder's database as the driver
reads them, so they equal the driver's pool stats for the same inventory.
"""

import logging
import re

from cinder_vmware_ext.cmd import backend
from cinder_vmware_ext.cmd import parsing
from cinder_vmware_ext.cmd import toolkit
from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.core import pools as core_pools
from cinder_vmware_ext.vsphere import datastores as vds
from cinder_vmware_ext.vsphere import faults as vfaults
from cinder_vmware_ext.vsphere import marks

LOG = logging.getLogger(__name__)

BACKING_NAME = re.compile(r'^volume-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-'
                          r'[0-9a-f]{4}-[0-9a-f]{12})$')

LIST_COLUMNS = ('Name', 'Type', 'Capacity (GiB)', 'Free (GiB)',
                'Provisioned (GiB)', 'Accessible', 'Maintenance', 'Drained',
                'VMs', 'Cinder volumes', 'Pools')


class Ops(object):
    """Hold the backend as an operator command sees it.

    The backend as an operator command sees it: the section, a vCenter
    session and the driver's pool service over its inventory cache.
    """

    def __init__(self, app_options):
        from cinder_vmware_ext import ledger
        from cinder_vmware_ext import pool_service
        from cinder_vmware_ext.vsphere import inventory
        self.section, self.backend_host = backend.load(
            app_options.config_file, app_options.backend, app_options.host)
        self.session = backend.session(self.section)
        about = self.session.vim.service_content.about
        vcenter_id = (getattr(about, 'instanceUuid', '') or
                      self.section.vmware_host_ip)
        if self.section.safe_get('vmware_storage_profile'):
            LOG.warning('vmware_storage_profile is set: storage profile '
                        'compliance is not evaluated by this command')
        self.pools = pool_service.PoolService(
            inventory.InventoryCache(self.session),
            mode=self.section.vmware_pool_mode,
            cluster_names=self.section.vmware_cluster_name,
            rules=pool_service.rules_from_config(self.section),
            policy=self.section.vmware_placement_policy,
            vcenter_id=vcenter_id, ledger=ledger.PromiseLedger(vcenter_id))

    def promises(self):
        """Read Cinder's promises per volume, with their per-datastore sums.

        ({volume id: (backing name, Promise)}, promises.Held); empty
        with a warning when Cinder's database cannot be read.
        """
        from cinder_vmware_ext.core import promises
        try:
            named = self.pools.ledger.promises(named=True)
            held, _own = self.pools.held()
        except Exception as err:
            LOG.warning("promises not counted: Cinder's database: %s",
                        backend.root_cause(err))
            return {}, promises.Held()
        return named, held

    def view(self):
        """Gather everything list and show print.

        Everything list/show print, one inventory refresh and one
        details pass.
        """
        named, held = self.promises()
        inventory, found = self.pools.current()
        clusters = core_pools.select_clusters(
            inventory, self.section.vmware_cluster_name)
        details = vds.details(self.session)
        rows = {}
        for ds in eligibility.reachable_datastores(clusters, inventory):
            rows[ds.ref] = describe(ds, inventory, clusters, found, held,
                                    named, details, self.pools._rules,
                                    self.section.vmware_pool_mode)
        return inventory, found, details, rows

    def find(self, name):
        inventory, found, details, rows = self.view()
        matches = [r for r in rows.values() if r['name'] == name]
        if not matches:
            raise backend.BackendError(
                'datastore %s: no such datastore reachable from the '
                'clusters of backend [%s]' % (name, self.section.config_group))
        if len(matches) > 1:
            raise backend.BackendError(
                'datastore %s: %d datastores of that name (in datacenters '
                '%s)' % (name, len(matches),
                         ', '.join(r['datacenter'] for r in matches)))
        return matches[0], details


def _pool_names(found):
    by_cluster, by_datastore = {}, {}
    for pool in found:
        if pool.cluster is not None:
            by_cluster.setdefault(pool.cluster.ref, pool.name)
        if len(pool.datastores) == 1:
            by_datastore[pool.datastores[0].ref] = pool.name
    return by_cluster, by_datastore


def pool_verdicts(ds, inventory, clusters, found, rules, mode):
    """Give each pool's verdict (eligible or why not) on a datastore.

    {pool name: 'eligible' or the reason} for the pools of this backend
    that could hold ``ds`` (same predicate as the driver's pools).
    """
    by_cluster, by_datastore = _pool_names(found)
    verdicts = {}
    for cluster in clusters:
        if ds.mounts.mounted.isdisjoint(cluster.hosts):
            continue
        reason = eligibility.cluster_ineligibility_reason(
            ds, cluster, inventory, rules)
        if mode == core_pools.DATASTORE_MODE:
            name = by_datastore.get(ds.ref, ds.name)
        else:
            name = by_cluster.get(cluster.ref, cluster.name)
        if name not in verdicts or verdicts[name] != 'eligible':
            verdicts[name] = reason or 'eligible'
    return verdicts


def describe(ds, inventory, clusters, found, held, named, details, rules,
             mode):
    """One datastore as a dict of plain values."""
    one = core_pools.Pool(ds.name, (ds,), frozenset())
    figures = core_pools.capacity(one, inventory, held)
    extra = details.datastores.get(ds.ref, {})
    vm_names = sorted(details.vm_names.get(v, v) for v in extra.get('vm', []))
    volumes = sorted({m.group(1) for m in map(BACKING_NAME.match, vm_names)
                      if m} |
                     {vid for vid, (_n, p) in named.items()
                      if p.datastore == ds.ref})
    hosts = inventory.hosts
    mounts = ['%s:%s' % (hosts[m.host].name if m.host in hosts else m.host,
                         _mount_state(m)) for m in ds.mounts]
    return {
        'ref': ds.ref, 'name': ds.name, 'datacenter': ds.datacenter or '',
        'type': ds.type, 'capacity_gb': figures.total_gb,
        'free_gb': figures.free_gb,
        'uncommitted_gb': core_pools.floor_gb(ds.uncommitted),
        'provisioned_gb': figures.provisioned_gb,
        'promised_gb': figures.promised_gb,
        'accessible': ds.accessible, 'maintenance': ds.maintenance_mode,
        'drained': ds.drained, 'url': extra.get('summary.url', ''),
        'mounts': mounts, 'vms': vm_names, 'cinder_volumes': volumes,
        'pools': pool_verdicts(ds, inventory, clusters, found, rules, mode),
        'iorm': extra.get('iormConfiguration'),
        'browser': extra.get('browser'),
        'info': extra.get('info'),
        'mount_refs': [(m.host, m.access_mode) for m in ds.mounts
                       if m.mounted],
    }


def _mount_state(mount):
    if not mount.mounted:
        return 'unmounted'
    if not mount.accessible:
        return 'inaccessible'
    return mount.access_mode


def _pools_text(pools):
    return '; '.join('%s: %s' % item for item in sorted(pools.items()))


class List(parsing.Lister):
    """Datastores of this backend's clusters, as Cinder sees them."""

    auth_required = False
    arguments = (parsing.Arg('--pool', help='only datastores that could '
                                            'serve this pool'),)

    def take_action(self, args):
        ops = Ops(self.app.options)
        _inv, found, _details, rows = ops.view()
        items = sorted(rows.values(), key=lambda r: (r['name'], r['ref']))
        if args.pool:
            if args.pool not in {p.name for p in found} and not any(
                    args.pool in r['pools'] for r in items):
                raise backend.BackendError(
                    'pool %s: not a pool of backend [%s] (pools: %s)' % (
                        args.pool, ops.section.config_group,
                        ', '.join(p.name for p in found) or 'none'))
            items = [r for r in items if args.pool in r['pools']]
        return LIST_COLUMNS, [
            (r['name'], r['type'], r['capacity_gb'], r['free_gb'],
             r['provisioned_gb'], r['accessible'], r['maintenance'],
             r['drained'], len(r['vms']), len(r['cinder_volumes']),
             _pools_text(r['pools'])) for r in items]


class Show(parsing.ShowOne):
    """Show one datastore: figures, mounts, VMs, volumes, verdicts.

    One datastore: figures, host mounts, VMs, Cinder volumes, Storage
    I/O Control and, per pool, eligible or why not.
    """

    auth_required = False
    arguments = (parsing.DATASTORE,)

    def take_action(self, args):
        row, _details = Ops(self.app.options).find(args.name)
        from cinder_vmware_ext.vsphere import storage_io
        iorm = storage_io.as_dict(row['iorm'])
        fields = [
            ('Name', row['name']), ('Datacenter', row['datacenter']),
            ('Type', row['type']), ('URL', row['url']),
            ('Capacity (GiB)', row['capacity_gb']),
            ('Free (GiB)', row['free_gb']),
            ('Uncommitted (GiB)', row['uncommitted_gb']),
            ('Provisioned (GiB)', row['provisioned_gb']),
            ('Promised (GiB)', row['promised_gb']),
            ('Accessible', row['accessible']),
            ('Maintenance', row['maintenance']),
            ('Drained', row['drained']),
            ('Host mounts', ', '.join(row['mounts'])),
            ('VMs', ', '.join(row['vms'])),
            ('Cinder volumes', ', '.join(row['cinder_volumes'])),
            ('Storage I/O Control', ', '.join(
                '%s=%s' % (k, v) for k, v in iorm.items() if v is not None)),
            ('Pools', _pools_text(row['pools'])),
        ]
        return tuple(f[0] for f in fields), tuple(f[1] for f in fields)


class _Mark(parsing.Command):

    auth_required = False
    arguments = (parsing.DATASTORE, parsing.DRY_RUN)

    def take_action(self, args):
        ops = Ops(self.app.options)
        row, _details = ops.find(args.name)
        if row['drained'] == self.drained:
            self.app.stdout.write('datastore %s is already %s\n' % (
                args.name, self.word))
            return 0
        prefix = 'would mark' if args.dry_run else 'marked'
        if not args.dry_run:
            try:
                self.mark(ops.session, vds.moref(row['ref']))
            except Exception as err:
                raise toolkit.ToolkitError(toolkit.one_line(
                    'marking datastore %s %s failed: vCenter fault %s'
                    % (args.name, self.word, vfaults.describe(err))))
        self.app.stdout.write('%s datastore %s %s (every pool of every '
                              'service sees it at its next refresh)\n'
                              % (prefix, args.name, self.word))
        return 0


class Drain(_Mark):
    """Mark a datastore drained: no pool of any service places there."""

    drained = True
    word = 'drained'

    def mark(self, session, ref):
        marks.set_drained(session, ref, 'by cinder-vmware datastore drain')


class Undrain(_Mark):
    """Remove the drain mark."""

    drained = False
    word = 'undrained'

    def mark(self, session, ref):
        marks.clear_drained(session, ref)


class Browse(parsing.Lister):
    """Files of a datastore folder (SearchDatastore_Task)."""

    auth_required = False
    arguments = (
        parsing.DATASTORE,
        parsing.Arg('path', metavar='PATH', nargs='?', default='',
                    help='folder inside the datastore (default: its '
                         'root)'),
        parsing.Arg('--pattern', help='a glob, e.g. *.vmdk'),
        parsing.flag('--recursive', 'also list the folders below PATH'),
    )

    def take_action(self, args):
        ops = Ops(self.app.options)
        row, _details = ops.find(args.name)
        path = args.path.strip('/')
        if '..' in path.split('/'):
            raise backend.BackendError('path %s: outside datastore %s'
                                       % (args.path, args.name))
        try:
            entries = vds.browse(ops.session, row['browser'],
                                 '[%s] %s' % (args.name, path),
                                 args.pattern, args.recursive)
        except Exception as err:
            raise backend.BackendError('[%s] %s: %s' % (
                args.name, path, backend.root_cause(err)))
        return (('Folder', 'Path', 'Size', 'Modified', 'Owner', 'Type'),
                [(e.folder, e.path, e.size, e.modified, e.owner, e.kind)
                 for e in sorted(entries, key=lambda e: (e.folder, e.path))])


# -- changes -------------------------------------------------------------

CINDER_FOLDER = re.compile(r'^(volume|snapshot)-[0-9a-f]{8}-[0-9a-f]{4}-'
                           r'[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
CINDER_TEMP = 'cinder_temp'


class _Change(parsing.Command):
    """A command that changes vCenter: --dry-run, and says what it did.

    Its ``arguments`` are --dry-run, then the command's own (``own``).
    """

    auth_required = False
    own = ()

    @property
    def arguments(self):
        return (parsing.DRY_RUN,) + self.own

    def say(self, args, done, would, text):
        self.app.stdout.write('%s %s\n' % (would if args.dry_run else done,
                                           text))


def _refused(what, err):
    return backend.BackendError('%s: vCenter refused: %s'
                                % (what, backend.root_cause(err)))


def _check_name(name):
    if not name or not name.strip() or len(name) > 42 or '/' in name or \
            '[' in name or ']' in name:
        raise backend.BackendError(
            'datastore name %r: must be 1-42 characters without "/", "[" '
            'or "]"' % name)


class _Create(_Change):

    own = (parsing.DATASTORE.but(help="the new datastore's name"),)

    def hosts(self, session, args, cluster=None, host_names=()):
        """[(host name, its datastore system)] the command works on."""
        from cinder_vmware_ext.vsphere import clusters as vclusters
        estate = vclusters.estate(session)
        if any(n == args.name for n, _v, _m in estate.datastores.values()):
            raise backend.BackendError('datastore %s: already exists'
                                       % args.name)
        by_name = {}
        for value, name in estate.hosts.items():
            by_name.setdefault(name, []).append(value)
        if cluster:
            found = [c for c in estate.clusters if c.name == cluster]
            if len(found) != 1:
                raise backend.BackendError(
                    'cluster %s: %s' % (cluster, 'no such cluster' if
                                        not found else
                                        '%d clusters of that name'
                                        % len(found)))
            values = sorted(estate.cluster_hosts[found[0].value],
                            key=lambda v: estate.hosts.get(v, v))
            if not values:
                raise backend.BackendError('cluster %s: has no host'
                                           % cluster)
        else:
            values = []
            for name in host_names:
                if len(by_name.get(name, [])) != 1:
                    raise backend.BackendError('host %s: %s' % (
                        name, 'no such host' if name not in by_name else
                        'several hosts of that name'))
                values.extend(by_name[name])
        systems = vds.details(session).datastore_systems
        missing = [estate.hosts.get(v, v) for v in values
                   if v not in systems]
        if missing:
            raise backend.BackendError('host %s: has no datastore system '
                                       '(not connected?)' % missing[0])
        return [(estate.hosts.get(v, v), systems[v]) for v in values]


class CreateNfs(_Create):
    """Mount an NFS export as a datastore on hosts.

    Mount an NFS export as a datastore on a cluster's hosts or the
    hosts given (CreateNasDatastore on each; undone on every host if one
    fails).
    """

    own = _Create.own + (
        parsing.Arg('--remote-host', required=True, help='the NFS server'),
        parsing.Arg('--remote-path', required=True,
                    help='the exported path, e.g. /export/cinder'),
        parsing.OneOf(
            parsing.Arg('--cluster',
                        help='mount on every host of this cluster'),
            parsing.Arg('--host', action='append', dest='hosts',
                        metavar='HOST',
                        help='mount on this host (repeatable)'),
            required=True),
        parsing.Arg('--nfs-version', choices=('3', '4.1'), default='3',
                    help='NFS 3 (default) or 4.1'),
        parsing.flag('--read-only', 'mount read-only'),
    )

    def take_action(self, args):
        _check_name(args.name)
        if not args.remote_path.startswith('/'):
            raise backend.BackendError('remote path %s: must be absolute'
                                       % args.remote_path)
        session = backend.session(backend.load(
            self.app.options.config_file, self.app.options.backend,
            self.app.options.host)[0])
        hosts = self.hosts(session, args, args.cluster, args.hosts or ())
        text = 'NFS %s datastore %s (%s:%s, %s) on hosts %s' % (
            args.nfs_version, args.name, args.remote_host, args.remote_path,
            'read-only' if args.read_only else 'read-write',
            ', '.join(h for h, _s in hosts))
        if args.dry_run:
            self.say(args, 'created', 'would create', text)
            return 0
        done, ref = [], None
        for host, system in hosts:
            try:
                ref = vds.create_nas(session, system, args.name,
                                     args.remote_host, args.remote_path,
                                     args.nfs_version, args.read_only)
            except Exception as err:
                undone = _unmount(session, done, ref)
                raise backend.BackendError(
                    'datastore %s: host %s: vCenter refused to mount it: '
                    '%s%s' % (args.name, host, backend.root_cause(err),
                              undone))
            done.append((host, system))
        self.say(args, 'created', 'would create', text)
        return 0


def _unmount(session, done, ref):
    """Undo a partial create by unmounting from the hosts done.

    Undo a partial create: unmount from the hosts done; a note of what
    could not be undone.
    """
    left = []
    for host, system in reversed(done):
        try:
            vds.remove(session, system, ref)
        except Exception as err:
            left.append('%s (%s)' % (host, backend.root_cause(err)))
    if left:
        return '; could not undo the mount on %s' % ', '.join(left)
    return '; undone on %d host(s)' % len(done) if done else ''


class CreateVmfs(_Create):
    """Format a host's free disk as a VMFS datastore.

    Format a host's free disk as a VMFS datastore
    (QueryVmfsDatastoreCreateOptions, CreateVmfsDatastore).
    """

    own = _Create.own + (
        parsing.Arg('--host', required=True, help='the ESX host'),
        parsing.Arg('--disk', required=True, metavar='DEVICE',
                    help='the disk: its canonical name (naa...., '
                         'mpx....) or device path'),
    )

    def take_action(self, args):
        _check_name(args.name)
        session = backend.session(backend.load(
            self.app.options.config_file, self.app.options.backend,
            self.app.options.host)[0])
        [(host, system)] = self.hosts(session, args, None, [args.host])
        try:
            disks = vds.vmfs_disks(session, system)
        except Exception as err:
            raise _refused('host %s' % host, err)
        found = [d for d in disks if args.disk in (
            d.canonicalName, d.devicePath, getattr(d, 'uuid', None))]
        if not found:
            raise backend.BackendError(
                'disk %s: not a disk of host %s free for VMFS (free: %s)' % (
                    args.disk, host, ', '.join(
                        d.canonicalName for d in disks) or 'none'))
        text = 'VMFS datastore %s on disk %s of host %s' % (
            args.name, found[0].canonicalName, host)
        if not args.dry_run:
            try:
                vds.create_vmfs(session, system, args.name, found[0])
            except Exception as err:
                raise _refused('datastore %s' % args.name, err)
        self.say(args, 'created', 'would create', text)
        return 0


class Rename(_Change):
    """Rename a datastore unless Cinder's pools would be affected.

    Rename a datastore (RenameDatastore), unless this backend's pools
    would change their verdict on it or Cinder's host#pool would go stale.
    """

    own = (parsing.DATASTORE,
           parsing.Arg('new_name', metavar='NEW_NAME', help='its new name'))

    def take_action(self, args):
        _check_name(args.new_name)
        ops = Ops(self.app.options)
        row, details = ops.find(args.name)
        if args.new_name == args.name:
            raise backend.BackendError('datastore %s: already has that name'
                                       % args.name)
        taken = [p.get('name') for p in details.datastores.values()
                 if p.get('name') == args.new_name]
        if taken:
            raise backend.BackendError('datastore %s: a datastore is already '
                                       'named %s' % (args.name,
                                                     args.new_name))
        regex = ops.pools._rules.name_regex
        if regex is not None and bool(regex.match(args.name)) != bool(
                regex.match(args.new_name)):
            before, after = ((args.name, args.new_name)
                             if regex.match(args.name)
                             else (args.new_name, args.name))
            raise backend.BackendError(
                'datastore %s: refused: vmware_datastore_regex %s matches '
                '%s but not %s, so the pools of backend [%s] would %s it' % (
                    args.name, regex.pattern, before, after,
                    ops.section.config_group,
                    'stop using' if before == args.name else 'start using'))
        note = ''
        if ops.section.vmware_pool_mode == core_pools.DATASTORE_MODE:
            if row['cinder_volumes']:
                raise backend.BackendError(
                    'datastore %s: refused: in datastore pool mode its pool '
                    'is named after it, and Cinder volumes %s record '
                    'host#%s (evacuate them first, or move them with '
                    "Cinder's migrate)" % (args.name, ', '.join(
                        row['cinder_volumes']), args.name))
            note = ' (its pool is now named %s)' % args.new_name
        if not args.dry_run:
            try:
                vds.rename(ops.session, vds.moref(row['ref']), args.new_name)
            except Exception as err:
                raise _refused('datastore %s' % args.name, err)
        self.say(args, 'renamed', 'would rename', 'datastore %s to %s%s' % (
            args.name, args.new_name, note))
        return 0


def cinder_files(session, row):
    """List Cinder's files on the datastore.

    Cinder's files on the datastore: VMDKs under volume-<id>/,
    snapshot-<id>/ or cinder_temp/, or named volume-<id>.vmdk.
    """
    entries = vds.browse(session, row['browser'], '[%s]' % row['name'],
                         '*.vmdk', recursive=True)
    found = []
    for e in entries:
        folder = e.folder.partition(']')[2].strip().strip('/')
        top = folder.split('/')[0] if folder else ''
        if CINDER_FOLDER.match(top) or top == CINDER_TEMP or \
                CINDER_FOLDER.match(e.path[:-len('.vmdk')]):
            found.append('%s/%s' % (e.folder.rstrip('/'), e.path))
    return sorted(found)


class Remove(_Change):
    """Unmount a datastore from every host unless Cinder uses it.

    Unmount a datastore from every host (RemoveDatastore on each),
    unless a VM, a Cinder volume or a file Cinder owns is on it.
    """

    own = (parsing.DATASTORE,)

    def take_action(self, args):
        ops = Ops(self.app.options)
        row, details = ops.find(args.name)
        if row['cinder_volumes']:
            raise backend.BackendError(
                'datastore %s: refused: Cinder volumes %s are on it '
                '(cinder-vmware datastore evacuate %s moves them)' % (
                    args.name, ', '.join(row['cinder_volumes']), args.name))
        if row['vms']:
            raise backend.BackendError(
                'datastore %s: refused: VMs %s have files on it (move them '
                'first)' % (args.name, ', '.join(row['vms'])))
        try:
            files = cinder_files(ops.session, row)
        except Exception as err:
            raise _refused('datastore %s: browse' % args.name, err)
        if files:
            raise backend.BackendError(
                'datastore %s: refused: Cinder owns files on it: %s' % (
                    args.name, ', '.join(files[:5]) + (
                        ' and %d more' % (len(files) - 5)
                        if len(files) > 5 else '')))
        hosts = ops.pools.current()[0].hosts
        mounts = sorted((hosts[h].name if h in hosts else h, h, mode)
                        for h, mode in row['mount_refs'])
        text = 'datastore %s from hosts %s (its files stay on the storage)' \
            % (args.name, ', '.join(m[0] for m in mounts))
        if args.dry_run:
            self.say(args, 'removed', 'would remove', text)
            return 0
        done = []
        ref = vds.moref(row['ref'])
        for name, host, mode in mounts:
            try:
                vds.remove(ops.session, details.datastore_systems[host], ref)
            except Exception as err:
                raise backend.BackendError(
                    'datastore %s: host %s: vCenter refused to unmount it: '
                    '%s%s' % (args.name, name, backend.root_cause(err),
                              _remount(ops.session, row, details, done)))
            done.append((name, host, mode))
        self.say(args, 'removed', 'would remove', text)
        return 0


def _remount(session, row, details, done):
    """Undo a partial NFS remove on the hosts already done; a note."""
    if not done:
        return ''
    nas = getattr(row['info'], 'nas', None)
    if nas is None:
        return '; already unmounted from %s (not NFS: mount it again ' \
            'there by hand)' % ', '.join(d[0] for d in done)
    left = []
    for name, host, mode in done:
        try:
            vds.create_nas(session, details.datastore_systems[host],
                           row['name'], nas.remoteHost, nas.remotePath,
                           '4.1' if row['type'] == 'NFS41' else '3',
                           mode == 'readOnly')
        except Exception as err:
            left.append('%s (%s)' % (name, backend.root_cause(err)))
    if left:
        return '; could not mount it again on %s' % ', '.join(left)
    return '; mounted again on %s' % ', '.join(d[0] for d in done)


class IoControlShow(parsing.ShowOne):
    """A datastore's Storage I/O Control settings (iormConfiguration)."""

    auth_required = False

    arguments = (parsing.DATASTORE,)

    def take_action(self, args):
        from cinder_vmware_ext.vsphere import storage_io
        row, _details = Ops(self.app.options).find(args.name)
        settings = storage_io.as_dict(row['iorm'])
        return (('Name',) + tuple(settings),
                (row['name'],) + tuple(settings.values()))


class IoControlSet(_Change):
    """Change a datastore's Storage I/O Control settings.

    Change a datastore's Storage I/O Control
    (ConfigureDatastoreIORM_Task); what is not given keeps its value.
    """

    own = (
        parsing.DATASTORE,
        parsing.OneOf(
            parsing.Arg('--enable', dest='enabled', action='store_true',
                        default=None, help='turn Storage I/O Control on'),
            parsing.Arg('--disable', dest='enabled', action='store_false',
                        help='turn it off'),
            required=True),
        parsing.OneOf(
            parsing.Arg('--congestion-threshold-ms', type=int, metavar='N',
                        help='manual congestion threshold, 5-100 ms'),
            parsing.Arg('--percent-of-peak', type=int, metavar='N',
                        help='automatic threshold, 50-100 %% of peak '
                             'throughput')),
        parsing.OneOf(
            parsing.Arg('--stats-collection', dest='stats',
                        action='store_true', default=None,
                        help='collect I/O statistics'),
            parsing.Arg('--no-stats-collection', dest='stats',
                        action='store_false', help='do not collect them')),
    )

    def take_action(self, args):
        from cinder_vmware_ext.vsphere import storage_io
        ms, peak = args.congestion_threshold_ms, args.percent_of_peak
        if ms is not None and not 5 <= ms <= 100:
            raise backend.BackendError('--congestion-threshold-ms %d: must '
                                       'be 5-100' % ms)
        if peak is not None and not 50 <= peak <= 100:
            raise backend.BackendError('--percent-of-peak %d: must be '
                                       '50-100' % peak)
        ops = Ops(self.app.options)
        row, _details = ops.find(args.name)
        changes = ['enabled=%s' % args.enabled]
        if ms is not None:
            changes.append('congestionThresholdMode=manual '
                           'congestionThreshold=%d' % ms)
        if peak is not None:
            changes.append('congestionThresholdMode=automatic '
                           'percentOfPeakThroughput=%d' % peak)
        if args.stats is not None:
            changes.append('statsCollectionEnabled=%s' % args.stats)
        if not args.dry_run:
            try:
                storage_io.configure(ops.session, vds.moref(row['ref']),
                                     enabled=args.enabled, threshold_ms=ms,
                                     percent_of_peak=peak,
                                     stats_collection=args.stats)
            except Exception as err:
                raise _refused('datastore %s' % args.name, err)
        self.say(args, 'set', 'would set', 'Storage I/O Control of '
                 'datastore %s: %s' % (args.name, ' '.join(changes)))
        return 0


COMMANDS = {'datastore list': List, 'datastore show': Show,
            'datastore browse': Browse, 'datastore drain': Drain,
            'datastore undrain': Undrain,
            'datastore create nfs': CreateNfs,
            'datastore create vmfs': CreateVmfs,
            'datastore rename': Rename, 'datastore remove': Remove,
            'datastore io-control show': IoControlShow,
            'datastore io-control set': IoControlSet}

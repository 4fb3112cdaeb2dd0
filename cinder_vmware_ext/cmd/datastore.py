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
"""``cinder-vmware datastore``: what Cinder sees of each datastore, and
drain/undrain (a mark every cinder-volume service sees).

Figures come from the driver's own inventory cache and pool code
(``pool_service.PoolService``), promises from Cinder's database as the driver
reads them, so they equal the driver's pool stats for the same inventory.
"""

import logging
import re

from cliff import command
from cliff import lister
from cliff import show

from cinder_vmware_ext.cmd import backend
from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.core import pools as core_pools
from cinder_vmware_ext.vsphere import datastores as vds
from cinder_vmware_ext.vsphere import marks

LOG = logging.getLogger(__name__)

BACKING_NAME = re.compile(r'^volume-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-'
                          r'[0-9a-f]{4}-[0-9a-f]{12})$')

LIST_COLUMNS = ('Name', 'Type', 'Capacity (GiB)', 'Free (GiB)',
                'Provisioned (GiB)', 'Accessible', 'Maintenance', 'Drained',
                'VMs', 'Cinder volumes', 'Pools')


class Ops(object):
    """The backend as an operator command sees it: the section, a vCenter
    session and the driver's pool service over its inventory cache."""

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
        """({volume id: (backing name, Promise)}, promises.Held); empty
        with a warning when Cinder's database cannot be read."""
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
        """Everything list/show print, one inventory refresh and one
        details pass."""
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
    """{pool name: 'eligible' or the reason} for the pools of this backend
    that could hold ``ds`` (same predicate as the driver's pools)."""
    by_cluster, by_datastore = _pool_names(found)
    verdicts = {}
    for cluster in clusters:
        if ds.mounts.mounted.isdisjoint(cluster.hosts):
            continue
        reason = eligibility.ineligibility_reason(
            ds, eligibility.usable_hosts(cluster, inventory), rules)
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
    }


def _mount_state(mount):
    if not mount.mounted:
        return 'unmounted'
    if not mount.accessible:
        return 'inaccessible'
    return mount.access_mode


def _pools_text(pools):
    return '; '.join('%s: %s' % item for item in sorted(pools.items()))


class List(lister.Lister):
    """Datastores of this backend's clusters, as Cinder sees them."""

    def get_parser(self, prog_name):
        parser = super(List, self).get_parser(prog_name)
        parser.add_argument('--pool', help='only datastores that could '
                                           'serve this pool')
        return parser

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


class Show(show.ShowOne):
    """One datastore: figures, host mounts, VMs, Cinder volumes, Storage
    I/O Control and, per pool, eligible or why not."""

    def get_parser(self, prog_name):
        parser = super(Show, self).get_parser(prog_name)
        parser.add_argument('name', metavar='NAME',
                            help='the datastore\'s name')
        return parser

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


class _Mark(command.Command):

    def get_parser(self, prog_name):
        parser = super(_Mark, self).get_parser(prog_name)
        parser.add_argument('name', metavar='NAME',
                            help='the datastore\'s name')
        parser.add_argument('--dry-run', action='store_true',
                            help='say what would be done; change nothing')
        return parser

    def take_action(self, args):
        ops = Ops(self.app.options)
        row, _details = ops.find(args.name)
        if row['drained'] == self.drained:
            self.app.stdout.write('datastore %s is already %s\n' % (
                args.name, self.word))
            return 0
        prefix = 'would mark' if args.dry_run else 'marked'
        if not args.dry_run:
            self.mark(ops.session, vds.moref(row['ref']))
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


class Browse(lister.Lister):
    """Files of a datastore folder (SearchDatastore_Task)."""

    def get_parser(self, prog_name):
        parser = super(Browse, self).get_parser(prog_name)
        parser.add_argument('name', metavar='NAME',
                            help='the datastore\'s name')
        parser.add_argument('path', metavar='PATH', nargs='?', default='',
                            help='folder inside the datastore (default: '
                                 'its root)')
        parser.add_argument('--pattern', help='a glob, e.g. *.vmdk')
        parser.add_argument('--recursive', action='store_true',
                            help='also list the folders below PATH')
        return parser

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


COMMANDS = {'datastore list': List, 'datastore show': Show,
            'datastore browse': Browse, 'datastore drain': Drain,
            'datastore undrain': Undrain}

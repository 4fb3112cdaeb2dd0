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
"""``cinder-vmware audit [--clean]``: what Cinder's estate in vCenter
leaks (core/audit.py says what counts), listed; with ``--clean`` removed,
but only what Cinder made and nothing still referenced.

Cinder's side (its volumes and snapshots, every project) comes through
python-cinderclient with the usual ``--os-*`` / clouds.yaml credentials.
"""

import logging

from oslo_vmware import vim_util

from cinder_vmware_ext.cmd import backend
from cinder_vmware_ext.cmd import cinder_api
from cinder_vmware_ext.cmd import parsing
from cinder_vmware_ext.cmd import snapshot as snapshot_cmd
from cinder_vmware_ext.cmd import toolkit
from cinder_vmware_ext.core import audit
from cinder_vmware_ext.extensions import image_cache
from cinder_vmware_ext.takeover import export_format
from cinder_vmware_ext.vsphere import backings
from cinder_vmware_ext.vsphere import disks
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import search
from cinder_vmware_ext.vsphere import snapshot_tree

LOG = logging.getLogger(__name__)

ORIGIN_KEY = 'cinder_vmware_ext.takeover.origin'
COLUMNS = ('Kind', 'Name', 'Ref', 'VM', 'Detail', 'Clean', 'Result')


def owners(backend_host):
    """Return the owner names of the audited backend's volumes.

    The names a volume of the audited backend carries: its host@backend
    and, when cinder-volume runs in a Cinder cluster, cluster@backend.
    """
    names = {backend_host}
    cluster = backend.cluster()
    if cluster:
        names.add('%s@%s' % (cluster, backend_host.partition('@')[2]))
    return names


def on_backend(volume_host, cluster_name, names):
    """Tell whether a volume is served by one of the owner names.

    Whether a volume (host@backend#pool, cluster@backend#pool) is served
    by one of ``names``.
    """
    return any((value or '').partition('#')[0] in names
               for value in (volume_host, cluster_name))


class CinderView(object):
    """Cinder's volumes and snapshots, every project, via cinderclient.

    :param backends: the names of the audited backend, see ``owners``
    """

    def __init__(self, cinder, backends):
        self._cinder = cinder
        self._backends = backends

    def volumes(self):
        found = {}
        for vol in cinder_api.every_volume(self._cinder):
            metadata = getattr(vol, 'metadata', None) or {}
            attached = bool(getattr(vol, 'attachments', None))
            found[vol.id] = audit.VolumeFacts(
                status=vol.status,
                attach_status='attached' if attached else 'detached',
                managed=export_format.SOURCE_KEY in metadata,
                ours=on_backend(getattr(vol, 'os-vol-host-attr:host', None),
                                getattr(vol, 'cluster_name', None),
                                self._backends))
        return found

    def snapshots(self):
        return {s.id for s in self._cinder.volume_snapshots.list(
            detailed=True, search_opts={'all_tenants': 1})
            if s.status != 'deleted'}


def vm_facts(vms, frozen):
    facts = []
    for vm in vms:
        snaps = tuple(
            audit.SnapshotFacts(node.name,
                                vim_util.get_moref_value(node.snapshot),
                                tuple(frozen.get(vim_util.get_moref_value(
                                    node.snapshot), ())))
            for _path, node in snapshot_cmd.walk(vm.snapshot_info))
        facts.append(audit.VmFacts(
            ref=vm.value, name=vm.name, template=vm.template,
            volume_id=vm.volume_id,
            takeover_origin=vm.extra.get(ORIGIN_KEY) or None,
            disk_files=tuple(vm.disk_files()), snapshots=snaps,
            image_cache=image_cache.is_cache_name(vm.name)))
    return facts


def temp_files(session, objects):
    """List Cinder's temporary files on the accessible datastores.

    '[ds] cinder_temp/x.vmdk' of every accessible datastore, and the
    datacenter of each datastore (to delete them).
    """
    found, datacenters = [], {}
    for value, (ref, props) in sorted(objects.items()):
        if ref._type != 'Datastore' or not props.get('browser') or \
                props.get('summary.accessible') is False:
            continue
        name = props.get('name')
        datacenters[name] = retrieve.datacenter_of(value, objects)
        files = search.folder_files(session, props['browser'], name,
                                    audit.TEMP_IMAGE_FOLDER)
        found.extend('[%s] %s/%s' % (name, audit.TEMP_IMAGE_FOLDER, f)
                     for f in files)
    return found, datacenters


class Audit(parsing.Lister):
    """List what Cinder's estate leaks in vCenter; --clean removes it."""

    arguments = (
        parsing.flag('--clean', 'remove the leftovers Cinder owns that '
                                'nothing references (default: only list)'),
        parsing.DRY_RUN.but(help='with --clean: say what would be removed'),
    )

    def cinder_view(self, backends):
        factory = getattr(self.app, 'cinder_view_factory', None)
        if factory is not None:
            return factory(backends)
        return CinderView(cinder_api.app_client(self.app), backends)

    def take_action(self, args):
        connection = toolkit.Connection(self.app.options)
        try:
            cinder = self.cinder_view(owners(connection.backend_host))
            volumes, snapshots = cinder.volumes(), cinder.snapshots()
            session = connection.session
            vms, objects = toolkit.read_vms(session)
            frozen = snapshot_tree.frozen_disks(session, [
                node.snapshot for vm in vms
                for _p, node in snapshot_cmd.walk(vm.snapshot_info)])
            files, datacenters = temp_files(session, objects)
            found = audit.findings(vm_facts(vms, frozen), volumes,
                                   snapshots, files)
            results = {}
            if args.clean:
                results = self.clean(session, found, vms, datacenters,
                                     args.dry_run)
        finally:
            connection.close()
        self.failed = any(r.startswith('failed') for r in results.values())
        rows = [(f.kind, f.name, f.ref, f.vm, f.detail,
                 f.action or 'no: %s' % f.reason,
                 results.get((f.kind, f.ref), '')) for f in found]
        return COLUMNS, rows

    def clean(self, session, found, vms, datacenters, dry_run):
        by_ref = {vm.value: vm for vm in vms}
        snapshots = {vim_util.get_moref_value(n.snapshot): n.snapshot
                     for vm in vms
                     for _p, n in snapshot_cmd.walk(vm.snapshot_info)}
        results = {}
        # Snapshots before VMs: a VM destroyed takes its snapshots along.
        order = (audit.REMOVE_SNAPSHOT, audit.DESTROY_VM, audit.DELETE_DISK)
        for finding in sorted(found, key=lambda f: order.index(f.action)
                              if f.action in order else 0):
            if finding.action is None:
                continue
            key = (finding.kind, finding.ref)
            if dry_run:
                results[key] = 'would %s' % finding.action
                continue
            try:
                if finding.action == audit.DESTROY_VM:
                    backings.destroy(session, by_ref[finding.ref].ref)
                elif finding.action == audit.REMOVE_SNAPSHOT:
                    snapshot_tree.remove(session, snapshots[finding.ref])
                elif finding.action == audit.DELETE_DISK:
                    datastore = finding.ref[1:].split(']', 1)[0]
                    disks.delete(session, datacenters[datastore],
                                 finding.ref, missing_ok=True)
                results[key] = 'removed'
                LOG.info('%s %s: removed', finding.kind, finding.name)
            except Exception as err:
                results[key] = 'failed: %s' % toolkit.one_line(err)
                LOG.warning('%s %s not removed: %s', finding.kind,
                            finding.name, toolkit.one_line(err))
        return results

    def run(self, parsed_args):
        code = super(Audit, self).run(parsed_args)
        return code or (1 if getattr(self, 'failed', False) else 0)


COMMANDS = {'audit': Audit}

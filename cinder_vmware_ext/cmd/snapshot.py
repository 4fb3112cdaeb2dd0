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
"""``cinder-vmware snapshot tree | rename | export``: a VM's snapshot tree
(by VM name or by the Cinder volume it backs), renaming a snapshot, and
downloading a snapshot's disks through ExportSnapshot's lease."""

import hashlib
import logging
import os
import time

from oslo_vmware import vim_util

from cinder_vmware_ext.cmd import parsing
from cinder_vmware_ext.cmd import toolkit
from cinder_vmware_ext.vsphere import export
from cinder_vmware_ext.vsphere import faults as vfaults
from cinder_vmware_ext.vsphere import snapshot_tree

LOG = logging.getLogger(__name__)

TREE_COLUMNS = ('Path', 'Name', 'Id', 'Description', 'Created', 'Current',
                'State', 'Disk files')
# HttpNfcLeaseProgress at least this often: vCenter drops a lease that
# hears nothing for its timeout (5 minutes).
KEEPALIVE_SECONDS = 20
SUMS_FILE = 'SHA256SUMS'


def walk(snapshot_info):
    """[(path, node)] of a VirtualMachineSnapshotInfo, depth first."""
    found = []

    def visit(nodes, prefix):
        for node in nodes or []:
            path = '%s/%s' % (prefix, node.name) if prefix else node.name
            found.append((path, node))
            visit(getattr(node, 'childSnapshotList', None), path)
    if snapshot_info is not None:
        visit(getattr(snapshot_info, 'rootSnapshotList', None), '')
    return found


def current_of(snapshot_info):
    current = getattr(snapshot_info, 'currentSnapshot', None)
    return vim_util.get_moref_value(current) if current else None


def find_snapshot(vm, wanted):
    """Find the one snapshot a name, path or moref value designates.

    (path, node) of the snapshot named, pathed ('a/b') or with the
    moref value ``wanted``; a ToolkitError when none or several match.
    """
    nodes = walk(vm.snapshot_info)
    matches = [(p, n) for p, n in nodes if p == wanted or
               vim_util.get_moref_value(n.snapshot) == wanted]
    if not matches:
        matches = [(p, n) for p, n in nodes if n.name == wanted]
    if not matches:
        raise toolkit.ToolkitError('VM %s has no snapshot %r (it has: %s)' % (
            vm.name, wanted, ', '.join(p for p, _n in nodes) or 'none'))
    if len(matches) > 1:
        raise toolkit.ToolkitError(
            'VM %s has %d snapshots named %r; give its path (%s)' % (
                vm.name, len(matches), wanted,
                ', '.join(p for p, _n in matches)))
    return matches[0]


def cinder_reason(vm, name):
    """Why Cinder relies on a snapshot name of ``vm``, or None."""
    if vm.volume_id is None:
        return None
    if toolkit.SNAPSHOT_NAME.match(name):
        return ('Cinder finds the snapshot of volume %s by this name (it '
                'is Cinder snapshot %s)' % (vm.volume_id, name[9:]))
    if toolkit.TEMP_SNAPSHOT_NAME.match(name):
        return ('it is the temporary snapshot of a linked clone (volume %s)'
                ' that Cinder removes by name' % name[14:])
    return None


SNAPSHOT = parsing.Arg('snapshot', metavar='SNAPSHOT',
                       help='name, path (a/b) or moref of the snapshot')


class _OnVm(object):
    """The read of every VM, to find the one --volume/--vm names."""

    def vm(self, connection, args):
        vms, _objects = toolkit.read_vms(connection.session)
        return toolkit.find_vm(vms, args.vm, args.volume)


class Tree(_OnVm, parsing.Lister):
    """Show a VM's snapshot tree.

    Show a VM's snapshot tree: names, descriptions, creation times, the
    current snapshot and the disk files each froze.
    """

    arguments = (parsing.VM,)

    def take_action(self, args):
        connection = toolkit.Connection(self.app.options)
        try:
            vm = self.vm(connection, args)
            nodes = walk(vm.snapshot_info)
            frozen = snapshot_tree.frozen_disks(
                connection.session, [n.snapshot for _p, n in nodes])
        finally:
            connection.close()
        current = current_of(vm.snapshot_info)
        rows = []
        for path, node in nodes:
            value = vim_util.get_moref_value(node.snapshot)
            rows.append((str(path), str(node.name), str(value),
                         str(getattr(node, 'description', '') or ''),
                         str(getattr(node, 'createTime', '') or ''),
                         value == current, str(getattr(node, 'state', '')),
                         '\n'.join(str(f) for f in frozen.get(value, []))))
        return TREE_COLUMNS, rows


class Rename(_OnVm, parsing.Command):
    """Rename a snapshot or change its description.

    Rename a snapshot (and/or change its description); refuses the
    snapshots whose names Cinder relies on.
    """

    arguments = (
        parsing.VM, SNAPSHOT,
        parsing.Arg('new_name', metavar='NEW_NAME',
                    help="the snapshot's new name"),
        parsing.Arg('--description', metavar='TEXT',
                    help="also set the snapshot's description"),
        parsing.DRY_RUN,
    )

    def take_action(self, args):
        if not args.new_name.strip():
            raise toolkit.ToolkitError('NEW_NAME is empty')
        connection = toolkit.Connection(self.app.options)
        try:
            vm = self.vm(connection, args)
            path, node = find_snapshot(vm, args.snapshot)
            refused = cinder_reason(vm, node.name)
            if refused:
                raise toolkit.ToolkitError(
                    'refusing to rename snapshot %s of %s: %s' % (
                        path, vm.name, refused))
            taken = cinder_reason(vm, args.new_name)
            if taken:
                raise toolkit.ToolkitError(
                    'refusing the name %s for a snapshot of %s: %s' % (
                        args.new_name, vm.name, taken))
            what = 'snapshot %s of %s renamed to %s%s' % (
                path, vm.name, args.new_name,
                '' if args.description is None else
                ' (description %r)' % args.description)
            if args.dry_run:
                self.app.stdout.write('would be: %s\n' % what)
                return 0
            try:
                snapshot_tree.rename(connection.session, node.snapshot,
                                     args.new_name, args.description)
            except Exception as err:
                raise toolkit.ToolkitError(toolkit.one_line(
                    'renaming snapshot %s of %s to %s failed '
                    '(RenameSnapshot): vCenter fault %s' % (
                        path, vm.name, args.new_name,
                        vfaults.describe(err))))
        finally:
            connection.close()
        self.app.stdout.write(what + '\n')
        return 0


class Export(_OnVm, parsing.Lister):
    """Download a snapshot's disks as streamOptimized VMDK files.

    Download a snapshot's disks (ExportSnapshot) as streamOptimized
    VMDK files into DIRECTORY, with their SHA-256 (also in SHA256SUMS).
    """

    arguments = (
        parsing.VM, SNAPSHOT,
        parsing.Arg('directory', metavar='DIRECTORY',
                    help='where the VMDK files go (made if missing; '
                         'existing files are never overwritten)'),
        parsing.DRY_RUN.but(help='say what would be exported; change '
                                 'nothing'),
    )

    def take_action(self, args):
        connection = toolkit.Connection(self.app.options)
        try:
            vm = self.vm(connection, args)
            path, node = find_snapshot(vm, args.snapshot)
            if args.dry_run:
                frozen = snapshot_tree.frozen_disks(connection.session,
                                                    [node.snapshot])
                files = frozen.get(vim_util.get_moref_value(node.snapshot))
                return (('Would export', 'Of'),
                        [(f, '%s@%s' % (vm.name, path)) for f in files])
            _check_directory(args.directory)
            exported = Exporter(connection, args.directory,
                                label='%s@%s' % (vm.name, path)).run(
                node.snapshot)
        finally:
            connection.close()
        return ('File', 'Bytes', 'SHA-256', 'Disk'), exported


def _check_directory(directory):
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise toolkit.ToolkitError('%s is not a directory' % directory)
    if os.path.exists(os.path.join(directory, SUMS_FILE)):
        raise toolkit.ToolkitError(
            '%s already holds an export (%s); give an empty directory'
            % (directory, SUMS_FILE))


class Exporter(object):
    """One ExportSnapshot lease, downloaded and ended on every path."""

    def __init__(self, connection, directory, label=''):
        self.session = connection.session
        self.section = connection.section
        self.directory = directory
        self.label = label
        self.written = []
        self._last_keepalive = 0.0

    def run(self, snapshot):
        lease = export.export_snapshot(self.session, snapshot)
        try:
            export.wait_ready(self.session, lease)
            info = export.lease_info(self.session, lease)
            rows = self._download_all(lease, info)
            self._write_sums(rows)
            export.complete(self.session, lease)
        except BaseException as err:
            self._abort(lease, err)
            raise
        return rows

    def _abort(self, lease, err):
        message = str(err) or err.__class__.__name__
        try:
            export.abort(self.session, lease, 'export failed: %s' % message)
        except Exception as abort_err:
            LOG.warning('Could not abort the export lease %s: %s',
                        vim_util.get_moref_value(lease), abort_err)
        for path in self.written:
            try:
                os.remove(path)
            except OSError:
                pass

    def _download_all(self, lease, info):
        urls = [u for u in getattr(info, 'deviceUrl', None) or []
                if getattr(u, 'disk', False)]
        if not urls:
            raise toolkit.ToolkitError('the export lease has no disk')
        os.makedirs(self.directory, exist_ok=True)
        total = sum(int(getattr(u, 'fileSize', 0) or 0) for u in urls) or \
            int(getattr(info, 'totalDiskCapacityInKB', 0) or 0) * 1024
        progress = toolkit.Progress(total, label=self.label, percent=True)
        done = [0]
        rows = []
        for number, url in enumerate(urls):
            name = os.path.basename(getattr(url, 'targetId', None) or
                                    'disk-%d.vmdk' % number)
            target = os.path.join(self.directory, name)
            if os.path.exists(target):
                raise toolkit.ToolkitError('%s exists; not overwritten'
                                           % target)
            digest, size = self._download(lease, url.url, target, total,
                                          done, progress)
            rows.append((target, size, digest, url.key))
            self._keepalive(lease, done[0], total, force=True)
        progress.finish()
        return rows

    def _download(self, lease, url, target, total, done, progress):
        url = export.device_url(url, self.section.vmware_host_ip,
                                self.section.vmware_host_port)
        partial = target + '.part'
        digest = hashlib.sha256()
        size = 0
        response = export.open_download(
            self.session, url, ca_file=self.section.vmware_ca_file,
            insecure=(self.section.vmware_insecure and
                      not self.section.vmware_ca_file))
        self.written.append(partial)
        try:
            with open(partial, 'xb') as out:
                while True:
                    chunk = response.read(export.CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    done[0] += len(chunk)
                    progress.update(done[0])
                    self._keepalive(lease, done[0], total)
        finally:
            response.close()
        os.rename(partial, target)
        self.written[-1] = target
        return digest.hexdigest(), size

    def _keepalive(self, lease, done, total, force=False):
        now = time.monotonic()
        if force or now - self._last_keepalive >= KEEPALIVE_SECONDS:
            export.progress(self.session, lease, 100.0 * done / max(total, 1))
            self._last_keepalive = now

    def _write_sums(self, rows):
        path = os.path.join(self.directory, SUMS_FILE)
        with open(path, 'x', encoding='utf-8') as f:
            for target, _size, digest, _key in rows:
                f.write('%s  %s\n' % (digest, os.path.basename(target)))
        self.written.append(path)


COMMANDS = {'snapshot tree': Tree, 'snapshot rename': Rename,
            'snapshot export': Export}

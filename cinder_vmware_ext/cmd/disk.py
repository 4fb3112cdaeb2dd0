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
"""``cinder-vmware disk list | show``: VMDKs with what Cinder sees of them:
path, capacity, provisioning, UUID, storageIOAllocation, the VM they are
attached to and its power state, the parent chain and the owning Cinder
volume.  Attached disks come from one read of every VM; loose ones from
one datastore-browser search of their datastore.

``disk create | copy | move | extend | delete | search``: the
VirtualDiskManager's operations, refusing any disk a VM references (its
disk or a link of its chain: a snapshot needs it), a Cinder volume or
snapshot owns, and never overwriting a file."""

import fnmatch

from cinder_vmware_ext.cmd import parsing
from cinder_vmware_ext.cmd import toolkit
from cinder_vmware_ext.takeover import discovery
from cinder_vmware_ext.vsphere import datastores as vds
from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import faults as vfaults
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import search

COLUMNS = ('Path', 'Capacity (bytes)', 'Provisioning', 'UUID',
           'IO limit', 'IO shares', 'IO reservation', 'VM', 'Power state',
           'Parents', 'Cinder volume')


def provisioning(backing):
    if getattr(backing, 'thinProvisioned', False):
        return 'thin'
    if getattr(backing, 'eagerlyScrub', False):
        return 'eagerZeroedThick'
    return 'thick'


def _parents(backing):
    chain = []
    parent = getattr(backing, 'parent', None)
    while parent is not None:
        chain.append(str(parent.fileName))
        parent = getattr(parent, 'parent', None)
    return chain


def attached_rows(vms):
    """{'[ds] path': row} of every VM disk (top files)."""
    rows = {}
    for vm in vms:
        for disk in vm.disks():
            backing = disk.backing
            io = getattr(disk, 'storageIOAllocation', None)
            shares = getattr(io, 'shares', None)
            capacity = getattr(disk, 'capacityInBytes', None) or \
                int(getattr(disk, 'capacityInKB', 0) or 0) * 1024
            # str(): suds' Text values are str subclasses yaml refuses.
            rows[str(backing.fileName)] = (
                str(backing.fileName), int(capacity), provisioning(backing),
                str(getattr(backing, 'uuid', '') or ''),
                getattr(io, 'limit', None), getattr(shares, 'shares', None)
                if shares is not None else None,
                getattr(io, 'reservation', None), str(vm.name),
                vm.power_state, '\n'.join(_parents(backing)),
                str(vm.volume_id or ''))
    return rows


def loose_rows(session, objects, datastore, used):
    """Rows of the datastore's VMDKs no VM has as its top disk file."""
    browsers = {props.get('name'): props.get('browser')
                for _v, (ref, props) in objects.items()
                if ref._type == 'Datastore'}
    if datastore not in browsers:
        raise toolkit.ToolkitError('no datastore named %r in vCenter'
                                   % datastore)
    searched, errors = search.search_datastores(
        session, {datastore: browsers[datastore]})
    if errors:
        raise toolkit.ToolkitError('datastore %s could not be searched: %s'
                                   % (datastore, errors[datastore]))
    chain_of = {}
    for path, row in used.items():
        for parent in row[9].split('\n') if row[9] else ():
            chain_of[parent] = row
    rows = []
    for found in discovery.found_files(searched):
        if not found.is_descriptor:
            continue
        path = '[%s] %s' % (found.datastore, found.path)
        if path in used:
            continue
        child = chain_of.get(path)
        owner = ''
        match = toolkit.VOLUME_NAME.match(found.path.split('/')[0])
        if match:
            owner = match.group(1)
        rows.append((path, found.capacity_bytes,
                     'thin' if found.thin else 'thick', '', None, None,
                     None, child[7] if child else '',
                     child[8] if child else '', '',
                     (child[10] if child else '') or owner))
    return rows


class List(parsing.Lister):
    """List the disks of a VM, of a Cinder volume or on a datastore."""

    arguments = (parsing.OneOf(
        parsing.Arg('--vm', metavar='VM',
                    help='the disks attached to this VM'),
        parsing.Arg('--volume', metavar='VOLUME_ID',
                    help="the disk of this Cinder volume's backing"),
        parsing.Arg('--datastore', metavar='DS',
                    help='VM disks and loose VMDKs on this datastore'),
        required=True),)

    def take_action(self, args):
        connection = toolkit.Connection(self.app.options)
        try:
            vms, objects = toolkit.read_vms(connection.session)
            if args.datastore:
                used = attached_rows(vms)
                prefix = '[%s] ' % args.datastore
                rows = [r for p, r in sorted(used.items())
                        if p.startswith(prefix)]
                rows += loose_rows(connection.session, objects,
                                   args.datastore, used)
            else:
                vm = toolkit.find_vm(vms, args.vm, args.volume)
                rows = list(attached_rows([vm]).values())
        finally:
            connection.close()
        return COLUMNS, sorted(rows)


class Show(parsing.ShowOne):
    """Show one disk by its datastore path, "[ds] folder/name.vmdk"."""

    arguments = (parsing.DISK.but(
        help='the disk, as "[datastore] folder/name.vmdk"'),)

    def take_action(self, args):
        datastore, path = discovery.split_ds_path(args.path)
        if datastore is None or not path:
            raise toolkit.ToolkitError(
                '%r is not a datastore path ("[ds] folder/name.vmdk")'
                % args.path)
        if not path.lower().endswith('.vmdk'):
            raise toolkit.ToolkitError('%s is not a VMDK' % args.path)
        wanted = '[%s] %s' % (datastore, path)
        connection = toolkit.Connection(self.app.options)
        try:
            vms, objects = toolkit.read_vms(connection.session)
            used = attached_rows(vms)
            row = used.get(wanted)
            if row is None:
                rows = {r[0]: r for r in loose_rows(
                    connection.session, objects, datastore, used)}
                row = rows.get(wanted)
        finally:
            connection.close()
        if row is None:
            raise toolkit.ToolkitError('no disk %s in vCenter' % wanted)
        return COLUMNS, row


# -- mutating commands --------------------------------------------------------

GIB = 1024 ** 3


def parse_path(text, what='PATH'):
    """('ds', 'folder/name.vmdk') of a datastore path, or a ToolkitError."""
    datastore, path = discovery.split_ds_path(text)
    if datastore is None or not path:
        raise toolkit.ToolkitError(
            '%s %r is not a datastore path ("[ds] folder/name.vmdk")'
            % (what, text))
    path = path.strip('/')
    if '..' in path.split('/') or '\\' in path:
        raise toolkit.ToolkitError('%s %s: the path leaves datastore %s'
                                   % (what, text, datastore))
    if not path.lower().endswith('.vmdk') or path.lower().endswith(
            ('-flat.vmdk', '-delta.vmdk')):
        raise toolkit.ToolkitError('%s %s is not a VMDK descriptor'
                                   % (what, text))
    return datastore, path


def size_gb(text):
    try:
        value = float(text)
    except ValueError:
        value = 0
    if not value > 0:
        raise toolkit.ToolkitError('SIZE_GB %r is not a positive number'
                                   % text)
    return value


class Estate(object):
    """One read of every VM and datastore: who holds which disk file."""

    def __init__(self, session):
        self.session = session
        self.vms, self.objects = toolkit.read_vms(session)
        self.datastores = {}
        for value, (ref, props) in self.objects.items():
            if ref._type == 'Datastore':
                self.datastores[props.get('name')] = (
                    ref, props.get('browser'),
                    retrieve.datacenter_of(value, self.objects))

    def datastore(self, name):
        if name not in self.datastores:
            raise toolkit.ToolkitError('no datastore named %r in vCenter'
                                       % name)
        return self.datastores[name]

    def holders(self, ds_path):
        """Why ``ds_path`` must stay where it is: [reason] (empty: free)."""
        reasons = []
        for vm in self.vms:
            for disk in vm.disks():
                files = vdisks.chain(disk.backing)
                if ds_path not in files:
                    continue
                if vm.volume_id:
                    who = 'Cinder volume %s (backing VM %s)' % (
                        vm.volume_id, vm.name)
                elif toolkit.SNAPSHOT_NAME.match(vm.name):
                    who = 'Cinder snapshot %s (template VM %s)' % (
                        vm.name[len('snapshot-'):], vm.name)
                else:
                    who = 'VM %s' % vm.name
                if files[0] == ds_path:
                    reasons.append('it is a disk of %s' % who)
                else:
                    reasons.append('the snapshot chain of %s needs it (a '
                                   'parent of %s)' % (who, files[0]))
        folder = ds_path.split('] ', 1)[-1].split('/')[0]
        match = toolkit.VOLUME_NAME.match(folder)
        if match and not reasons:
            reasons.append('it is in the folder of Cinder volume %s'
                           % match.group(1))
        return reasons

    def found(self, datastore, path):
        """The VmDiskFileInfo of '[datastore] path', or None."""
        _ref, browser, _dc = self.datastore(datastore)
        folder, _sep, name = path.rpartition('/')
        files = search.folder_files(self.session, browser, datastore,
                                    folder)
        return files.get(name)

    def look(self, ds_path):
        """The VmDiskFileInfo of '[ds] path' as it is now, or None."""
        datastore, path = discovery.split_ds_path(ds_path)
        return self.found(datastore, path)

    def folder_exists(self, datastore, folder):
        """Whether '[datastore] folder' exists (the root always does)."""
        if not folder:
            return True
        _ref, browser, _dc = self.datastore(datastore)
        try:
            vds.browse(self.session, browser, '[%s] %s' % (datastore, folder))
        except Exception as err:
            if vfaults.is_fault(err, 'FileNotFound'):
                return False
            raise
        return True


def _refuse_held(estate, ds_path, verb):
    reasons = estate.holders(ds_path)
    if reasons:
        raise toolkit.ToolkitError('refusing to %s %s: %s' % (
            verb, ds_path, '; '.join(reasons)))


class _Mutating(parsing.Command):
    """A disk command that changes something: --dry-run, one line said.

    Its ``arguments`` are the command's own (``own``), then --dry-run.
    """

    own = ()

    @property
    def arguments(self):
        return self.own + (parsing.DRY_RUN,)

    def take_action(self, args):
        self.check_input(args)
        connection = toolkit.Connection(self.app.options)
        # What the command is doing when vCenter fails it (act says).
        self.subject, self.step = ' '.join(
            (getattr(self, 'cmd_name', None) or '').split()[1:]) or \
            'the command', 'reading the inventory'
        try:
            estate = Estate(connection.session)
            said = self.act(estate, args)
        except toolkit.ToolkitError:
            raise
        except Exception as err:
            raise toolkit.ToolkitError(toolkit.one_line(
                '%s failed (%s): vCenter fault %s' % (
                    self.subject, self.step, vfaults.describe(err))))
        finally:
            connection.close()
        self.app.stdout.write('%s%s\n' % (
            'would ' if args.dry_run else '', said))
        return 0

    def check_input(self, args):
        pass

    def locate(self, estate):
        """(datastore, path, its datacenter, "[ds] path") of PATH."""
        datastore, path = self.where
        _ref, _browser, dc = estate.datastore(datastore)
        return datastore, path, dc, '[%s] %s' % (datastore, path)

    def progress(self, label):
        bar = toolkit.Progress(100, self.app.stderr, label=label,
                               percent=True)
        return bar, (lambda percent: bar.update(percent))

    def ensure_folder(self, estate, datastore, path, dc):
        """Make the destination's folder if it is missing.

        Make DEST's folder if it is missing; returns the highest folder
        made (to remove if the operation then fails), or None.
        """
        parts = path.split('/')[:-1]
        if estate.folder_exists(datastore, '/'.join(parts)):
            return None
        made = None
        for depth in range(1, len(parts) + 1):
            if not estate.folder_exists(datastore, '/'.join(parts[:depth])):
                made = '[%s] %s' % (datastore, '/'.join(parts[:depth]))
                break
        folder = '[%s] %s' % (datastore, '/'.join(parts))
        self.step = 'MakeDirectory %s' % folder
        vdisks.make_folder(estate.session, dc, folder, exists=lambda f: (
            estate.folder_exists(datastore, '/'.join(parts))))
        return made

    def undo_folder(self, estate, dc, made):
        if made:
            try:
                vdisks.delete_file(estate.session, dc, made)
            except Exception:  # best effort: the error that matters is
                pass          # the operation's, raised next


class _OnePath(_Mutating):
    """A command on one disk, PATH (and, if it takes SIZE_GB, a size)."""

    def check_input(self, args):
        self.where = parse_path(args.path)
        if getattr(args, 'size', None) is not None:
            self.gib = size_gb(args.size)


class Create(_OnePath):
    """Create a loose VMDK of SIZE_GB (thin by default)."""

    own = (
        parsing.DISK.but(help='the new disk, "[ds] folder/name.vmdk"'),
        parsing.Arg('size', metavar='SIZE_GB', help='its size (GiB)'),
        parsing.OneOf(*(
            parsing.Arg('--' + name, dest='kind', action='store_const',
                        const=name, help='%s provisioning' % name)
            for name in ('thin', 'thick', 'eager-zeroed'))),
    )

    def act(self, estate, args):
        datastore, path, dc, target = self.locate(estate)
        if estate.found(datastore, path) is not None:
            raise toolkit.ToolkitError('%s exists already' % target)
        kind = args.kind or 'thin'
        said = 'create %s (%g GiB, %s)' % (target, self.gib, kind)
        if args.dry_run:
            return said
        self.subject = said
        made = self.ensure_folder(estate, datastore, path, dc)
        self.step = 'CreateVirtualDisk'
        try:
            vdisks.create(estate.session, dc, target,
                          int(self.gib * 1024 * 1024),
                          vdisks.DISK_TYPES[kind])
        except Exception:
            self.undo_folder(estate, dc, made)
            raise
        return said.replace('create', 'created', 1)


class _Transfer(_Mutating):

    own = (parsing.Arg('source', metavar='SRC',
                       help='the disk, "[ds] folder/name.vmdk"'),
           parsing.Arg('destination', metavar='DEST',
                       help='where to, "[ds] folder/name.vmdk" (must not '
                            'exist)'))

    def check_input(self, args):
        self.src = parse_path(args.source, 'SRC')
        self.dst = parse_path(args.destination, 'DEST')
        if self.src == self.dst:
            raise toolkit.ToolkitError('SRC and DEST are the same file')

    def act(self, estate, args):
        (sds, spath), (dds, dpath) = self.src, self.dst
        _r, _b, dc = estate.datastore(sds)
        _r, _b, ddc = estate.datastore(dds)
        source = '[%s] %s' % (sds, spath)
        target = '[%s] %s' % (dds, dpath)
        if dc is not None and ddc is not None and \
                toolkit.vim_util.get_moref_value(dc) != \
                toolkit.vim_util.get_moref_value(ddc):
            raise toolkit.ToolkitError('%s and %s are in different '
                                       'datacenters' % (source, target))
        if estate.found(sds, spath) is None:
            raise toolkit.ToolkitError('no disk %s in vCenter' % source)
        if self.verb == 'move':
            _refuse_held(estate, source, 'move')
        if estate.found(dds, dpath) is not None:
            raise toolkit.ToolkitError('%s exists already; %s never '
                                       'overwrites' % (target, self.verb))
        said = '%s %s to %s' % (self.verb, source, target)
        if args.dry_run:
            return said
        self.subject = said
        made = self.ensure_folder(estate, dds, dpath, dc)
        bar, progress = self.progress(self.verb + ' ' + dpath)
        self.step = self.task
        try:
            self.transfer(estate, dc, source, target, progress)
        except Exception:
            bar.finish()
            self.undo(estate, dc, source, target, made)
            raise
        bar.finish()
        return said.replace(self.verb, self.done, 1)


class Copy(_Transfer):
    """Copy a disk (flattened, as CopyVirtualDisk does) to a new file."""

    verb, done, task = 'copy', 'copied', 'CopyVirtualDisk'

    def transfer(self, estate, dc, source, target, progress):
        vdisks.copy(estate.session, dc, source, target, progress=progress,
                    look=estate.look)

    def undo(self, estate, dc, source, target, made):
        """After a failed copy: no partial copy left (DEST was absent)."""
        try:
            if estate.look(target) is not None:
                vdisks.delete(estate.session, dc, target, missing_ok=True)
        except Exception:  # best effort: the copy's error is raised next
            return        # (and the folder holds the copy: kept)
        self.undo_folder(estate, dc, made)


class Move(_Transfer):
    """Move a disk no VM, Cinder volume or snapshot holds."""

    verb, done, task = 'move', 'moved', 'MoveVirtualDisk'

    def transfer(self, estate, dc, source, target, progress):
        vdisks.move(estate.session, dc, source, target, progress=progress,
                    look=estate.look)

    def undo(self, estate, dc, source, target, made):
        """After a failed move: DEST's new folder removed.

        Removed unless it holds the disk (the source gone: the only copy
        of its bytes).
        """
        try:
            if estate.look(target) is not None:
                return
        except Exception:  # unknown: keep the folder
            return
        self.undo_folder(estate, dc, made)


class Extend(_OnePath):
    """Grow a loose disk to SIZE_GB (attached ones: through their VM)."""

    own = (parsing.DISK,
           parsing.Arg('size', metavar='SIZE_GB', help='its new size (GiB)'))

    def act(self, estate, args):
        datastore, path, dc, target = self.locate(estate)
        info = estate.found(datastore, path)
        if info is None:
            raise toolkit.ToolkitError('no disk %s in vCenter' % target)
        _refuse_held(estate, target, 'extend')
        now_kb = int(getattr(info, 'capacityKb', 0) or 0)
        new_kb = int(self.gib * 1024 * 1024)
        if new_kb <= now_kb:
            raise toolkit.ToolkitError(
                'SIZE_GB %g is not larger than %s (%g GiB); disks only '
                'grow' % (self.gib, target, now_kb / 1024.0 / 1024.0))
        said = 'extend %s from %g to %g GiB' % (
            target, now_kb / 1024.0 / 1024.0, self.gib)
        if args.dry_run:
            return said
        self.subject, self.step = said, 'ExtendVirtualDisk'
        vdisks.extend(estate.session, dc, target, new_kb, look=estate.look)
        return said.replace('extend', 'extended', 1)


class Delete(_OnePath):
    """Delete a disk no VM, Cinder volume or snapshot holds."""

    own = (parsing.DISK,)

    def act(self, estate, args):
        datastore, path, dc, target = self.locate(estate)
        if estate.found(datastore, path) is None:
            raise toolkit.ToolkitError('no disk %s in vCenter' % target)
        _refuse_held(estate, target, 'delete')
        said = 'delete %s' % target
        if args.dry_run:
            return said
        self.subject, self.step = said, 'DeleteVirtualDisk'
        vdisks.delete(estate.session, dc, target, look=estate.look)
        return said.replace('delete', 'deleted', 1)


SEARCH_COLUMNS = ('Path', 'Capacity (bytes)', 'Provisioning', 'VM',
                  'Cinder volume')


class Search(parsing.Lister):
    """Find VMDKs whose path or file name matches a glob."""

    arguments = (
        parsing.Arg('pattern', metavar='PATTERN',
                    help='a glob on the file name or the path inside the '
                         'datastore, e.g. "*data*"'),
        parsing.Arg('--datastore', metavar='DS',
                    help='only this datastore (default: every accessible '
                         'one)'),
    )

    def take_action(self, args):
        connection = toolkit.Connection(self.app.options)
        try:
            estate = Estate(connection.session)
            if args.datastore:
                estate.datastore(args.datastore)
                names = [args.datastore]
            else:
                names = sorted(n for n, (ref, _b, _d) in
                               estate.datastores.items()
                               if estate.objects[ref.value][1].get(
                                   'summary.accessible', True))
            browsers = {n: estate.datastores[n][1] for n in names}
            searched, errors = search.search_datastores(
                connection.session, browsers)
        finally:
            connection.close()
        if args.datastore and errors:
            raise toolkit.ToolkitError('datastore %s could not be searched: '
                                       '%s' % (args.datastore,
                                               errors[args.datastore]))
        used = attached_rows(estate.vms)
        holder = {}
        for vm in estate.vms:
            for file_name in vm.disk_files():
                holder.setdefault(str(file_name), vm)
        rows = []
        for found in discovery.found_files(searched):
            if not found.is_descriptor:
                continue
            name = found.path.rsplit('/', 1)[-1]
            if not (fnmatch.fnmatchcase(name, args.pattern) or
                    fnmatch.fnmatchcase(found.path, args.pattern)):
                continue
            ds_path = '[%s] %s' % (found.datastore, found.path)
            vm = holder.get(ds_path)
            owner = vm.volume_id if vm is not None else None
            match = toolkit.VOLUME_NAME.match(found.path.split('/')[0])
            if not owner and match:
                owner = match.group(1)
            row = used.get(ds_path)
            rows.append((ds_path, found.capacity_bytes,
                         row[2] if row else ('thin' if found.thin
                                             else 'thick'),
                         vm.name if vm is not None else '', owner or ''))
        return SEARCH_COLUMNS, sorted(rows)


COMMANDS = {'disk list': List, 'disk show': Show, 'disk create': Create,
            'disk copy': Copy, 'disk move': Move, 'disk extend': Extend,
            'disk delete': Delete, 'disk search': Search}

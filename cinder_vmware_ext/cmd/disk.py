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
one datastore-browser search of their datastore."""

from cliff import lister
from cliff import show

from cinder_vmware_ext.cmd import toolkit
from cinder_vmware_ext.takeover import discovery
from cinder_vmware_ext.takeover import vcenter

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
    searched, errors = vcenter.search_datastores(
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


class List(lister.Lister):
    """List the disks of a VM, of a Cinder volume or on a datastore."""

    def get_parser(self, prog_name):
        parser = super(List, self).get_parser(prog_name)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument('--vm', metavar='VM',
                           help='the disks attached to this VM')
        which.add_argument('--volume', metavar='VOLUME_ID',
                           help='the disk of this Cinder volume\'s backing')
        which.add_argument('--datastore', metavar='DS',
                           help='VM disks and loose VMDKs on this datastore')
        return parser

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


class Show(show.ShowOne):
    """Show one disk by its datastore path, "[ds] folder/name.vmdk"."""

    def get_parser(self, prog_name):
        parser = super(Show, self).get_parser(prog_name)
        parser.add_argument('path', metavar='PATH',
                            help='the disk, as "[datastore] folder/name.vmdk"')
        return parser

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


COMMANDS = {'disk list': List, 'disk show': Show}

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
"""Datastore round trips of the operator commands: one read of what
``datastore list/show`` shows beyond the inventory cache, browse, create
(NFS, VMFS), rename and remove.  One function, one named round trip (or
one task)."""

import dataclasses
import typing

from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import retrieve

DATASTORE_PROPERTIES = ['name', 'vm', 'browser', 'iormConfiguration',
                        'info', 'summary.url', 'parent']


@dataclasses.dataclass
class Details:
    """Hold what one pass tells about every datastore.

    What one pass tells about every datastore beyond the inventory:
    VMs on each, Storage I/O Control, browsers, NFS exports, and the
    hosts' datastore systems and the VM names.
    """

    datastores: typing.Dict[str, dict]   # ref value -> properties
    vm_names: typing.Dict[str, str]      # VM ref value -> name
    datastore_systems: typing.Dict[str, object]  # host ref value -> moref
    refs: typing.Dict[str, object]       # ref value -> moref


def details(session):
    """Read the details of every datastore in one pass.

    Details of every datastore, the VMs' names and the hosts' datastore
    systems, in one PropertyCollector pass.
    """
    objects = retrieve.retrieve(session, {
        'Datastore': DATASTORE_PROPERTIES,
        'VirtualMachine': ['name'],
        'HostSystem': ['configManager.datastoreSystem'],
    })
    result = Details({}, {}, {}, {})
    for value, (ref, props) in objects.items():
        result.refs[value] = ref
        if ref._type == 'Datastore':
            props['vm'] = [
                vim_util.get_moref_value(v) for v in
                retrieve.items(props.get('vm'), 'ManagedObjectReference')]
            result.datastores[value] = props
        elif ref._type == 'VirtualMachine':
            result.vm_names[value] = props.get('name', value)
        elif ref._type == 'HostSystem':
            system = props.get('configManager.datastoreSystem')
            if system is not None:
                result.datastore_systems[value] = system
    return result


def moref(value, type_='Datastore'):
    return vim_util.get_moref(value, type_)


# -- browse ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FileEntry:
    folder: str      # "[ds] folder" as vSphere answers
    path: str        # the file's name in that folder
    size: int
    modified: str
    owner: str
    kind: str


def browse(session, browser, ds_path, pattern=None, recursive=False):
    """List the files under a datastore path.

    Files under ``ds_path`` ("[ds] folder"): SearchDatastore_Task, or
    SearchDatastoreSubFolders_Task with ``recursive``.
    """
    vim = session.vim
    factory = vim.client.factory
    spec = factory.create('ns0:HostDatastoreBrowserSearchSpec')
    flags = factory.create('ns0:FileQueryFlags')
    flags.fileType = flags.fileSize = flags.modification = True
    flags.fileOwner = True
    spec.details = flags
    # No pattern matches nothing (vSphere's browser): '*' is every file.
    spec.matchPattern = [pattern or '*']
    method = ('SearchDatastoreSubFolders_Task' if recursive
              else 'SearchDatastore_Task')
    task = session.invoke_api(vim, method, browser, datastorePath=ds_path,
                              searchSpec=spec)
    info = session.wait_for_task(task)
    results = info.result
    if recursive:
        results = retrieve.items(results,
                                 'HostDatastoreBrowserSearchResults')
    else:
        results = [results] if results is not None else []
    entries = []
    for result in results:
        for f in getattr(result, 'file', None) or []:
            entries.append(FileEntry(
                folder=_folder(result.folderPath), path=f.path,
                size=int(getattr(f, 'fileSize', 0) or 0),
                modified=str(getattr(f, 'modification', '') or ''),
                owner=str(getattr(f, 'owner', '') or ''),
                kind=f.__class__.__name__))
    return entries


def _folder(path):
    """"[ds] folder" without the slashes a browser may add around it."""
    head, _, rest = str(path).partition(']')
    return ('%s] %s' % (head, rest.strip().strip('/'))).rstrip()


# -- changes --------------------------------------------------------------

def rename(session, datastore_ref, new_name):
    """Datastore.RenameDatastore.

    After an error the name is read again: the new one means vCenter
    renamed it and the answer was lost.
    """
    faults.unless_applied(
        lambda: session.invoke_api(session.vim, 'RenameDatastore',
                                   datastore_ref, newName=new_name),
        lambda: retrieve.one(session, datastore_ref, 'name') == new_name,
        'Renaming datastore %s to %s' % (
            vim_util.get_moref_value(datastore_ref), new_name))


def remove(session, datastore_system, datastore_ref):
    """Unmount a datastore from one host (RemoveDatastore).

    HostDatastoreSystem.RemoveDatastore: unmount it from that host (it
    leaves vCenter when no host mounts it any more; files stay).
    """
    value = vim_util.get_moref_value(datastore_ref)
    faults.unless_applied(
        lambda: session.invoke_api(session.vim, 'RemoveDatastore',
                                   datastore_system, datastore=datastore_ref),
        lambda: value not in _mounted(session, datastore_system),
        'Unmounting datastore %s' % value)


def _mounted(session, datastore_system):
    """{moref value: ref} of the datastores a HostDatastoreSystem has."""
    refs = retrieve.items(retrieve.one(session, datastore_system,
                                       'datastore'),
                          'ManagedObjectReference')
    return {vim_util.get_moref_value(r): r for r in refs}


def create_nas(session, datastore_system, name, remote_host, remote_path,
               nfs_version='3', read_only=False):
    """Mount an NFS export on one host (CreateNasDatastore).

    HostDatastoreSystem.CreateNasDatastore on one host: the datastore's
    moref (the same datastore for every host mounting the export).
    """
    factory = session.vim.client.factory
    spec = factory.create('ns0:HostNasVolumeSpec')
    spec.remoteHost = remote_host
    spec.remoteHostNames = [remote_host]
    spec.remotePath = remote_path
    spec.localPath = name
    spec.accessMode = 'readOnly' if read_only else 'readWrite'
    spec.type = 'NFS41' if nfs_version == '4.1' else 'NFS'
    # A datastore of that name on the host, of this export, is the one
    # vCenter mounted before its answer was lost.
    return faults.unless_applied(
        lambda: session.invoke_api(session.vim, 'CreateNasDatastore',
                                   datastore_system, spec=spec),
        lambda: _mounted_export(session, datastore_system, name,
                                remote_host, remote_path),
        'Mounting NFS datastore %s' % name)


def _mounted_export(session, datastore_system, name, remote_host,
                    remote_path):
    """The host's datastore ``name`` mounting that export, or None."""
    for ref in _mounted(session, datastore_system).values():
        facts = retrieve.several(session, ref, ['name', 'info'])
        nas = getattr(facts.get('info'), 'nas', None)
        if facts.get('name') == name and nas is not None and \
                (nas.remoteHost, nas.remotePath) == (remote_host,
                                                     remote_path):
            return ref
    return None


def vmfs_disks(session, datastore_system):
    """List a host's disks a VMFS datastore can be made on.

    HostDatastoreSystem.QueryAvailableDisksForVmfs: the host's disks a
    VMFS datastore can be made on (HostScsiDisk objects).
    """
    disks = session.invoke_api(session.vim, 'QueryAvailableDisksForVmfs',
                               datastore_system)
    return retrieve.items(disks, 'HostScsiDisk')


def create_vmfs(session, datastore_system, name, disk):
    """Make a VMFS datastore on a disk.

    QueryVmfsDatastoreCreateOptions for the disk, then
    CreateVmfsDatastore with its first option's spec named ``name``.
    """
    vim = session.vim
    options = retrieve.items(session.invoke_api(
        vim, 'QueryVmfsDatastoreCreateOptions', datastore_system,
        devicePath=disk.devicePath), 'VmfsDatastoreOption')
    if not options:
        raise ValueError('disk %s offers no VMFS create option'
                         % disk.canonicalName)
    spec = options[0].spec
    spec.vmfs.volumeName = name
    # A VMFS datastore of that name on the host, on this disk, is the one
    # vCenter made before its answer was lost.
    return faults.unless_applied(
        lambda: session.invoke_api(vim, 'CreateVmfsDatastore',
                                   datastore_system, spec=spec),
        lambda: _mounted_vmfs(session, datastore_system, name,
                              disk.canonicalName),
        'Creating VMFS datastore %s' % name)


def _mounted_vmfs(session, datastore_system, name, disk_name):
    """The host's VMFS datastore ``name`` on disk ``disk_name``, or None."""
    for ref in _mounted(session, datastore_system).values():
        facts = retrieve.several(session, ref, ['name', 'info'])
        vmfs = getattr(facts.get('info'), 'vmfs', None)
        extents = retrieve.items(getattr(vmfs, 'extent', None),
                                 'HostScsiDiskPartition')
        if facts.get('name') == name and any(
                getattr(e, 'diskName', None) == disk_name for e in extents):
            return ref
    return None

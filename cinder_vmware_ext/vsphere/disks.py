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
"""Disk files: VirtualDiskManager tasks, datastore paths and disk chains.

Paths are ``oslo_vmware.objects.datastore.DatastorePath`` underneath
('[ds] folder/name.vmdk'); the takeover's reference validation stays on
top of them (``takeover/references.py``).
"""

import time

from cinder import exception
from cinder.i18n import _
from oslo_vmware.objects import datastore as ds_obj

from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import retrieve

# Far above vSphere's own limit on a disk's delta chain (255 links).
MAX_CHAIN_LINKS = 256


# -- paths ------------------------------------------------------------------

def datastore_name(ds_path):
    """'ds' of '[ds] folder/name.vmdk'."""
    return ds_obj.DatastorePath.parse(ds_path).datastore


def folder_of(ds_path):
    """'[ds] folder' of '[ds] folder/name.vmdk' ('[ds]' at the root)."""
    path = ds_obj.DatastorePath.parse(ds_path)
    return str(path.parent) if '/' in path.rel_path else '[%s]' % (
        path.datastore)


# -- chains -----------------------------------------------------------------

def _links(disk_backing):
    """The backings of a disk's chain, from its own file to the base.

    Bounded: a chain that names a file twice or runs past MAX_CHAIN_LINKS
    is not a real vSphere disk chain, and following it would never end.
    """
    first, seen = None, set()
    while disk_backing is not None:
        name = disk_backing.fileName
        if name in seen or len(seen) >= MAX_CHAIN_LINKS:
            msg = (_("The disk chain of %(disk)s is cyclic or longer than "
                     "%(max)d links (at %(at)s); check the disk's backing "
                     "in vCenter.") %
                   {'disk': first or name, 'max': MAX_CHAIN_LINKS,
                    'at': name})
            raise exception.VolumeBackendAPIException(data=msg)
        first = first or name
        seen.add(name)
        yield disk_backing
        disk_backing = getattr(disk_backing, 'parent', None)


def chain(disk_backing):
    """File names of a disk's chain, from its own file to the base.

    Raises on a chain that is cyclic or longer than MAX_CHAIN_LINKS.
    """
    return [link.fileName for link in _links(disk_backing)]


def chain_datastores(disks):
    """Return the datastore of every file of the disks' chains.

    {file name: datastore moref value or None} of every link of the
    chains of ``disks`` (VirtualDisk devices), in one bounded walk each.

    Raises as ``chain`` does on a chain it cannot follow to its end: what
    such a disk reads is unknown, so nothing may be judged unread.
    """
    found = {}
    for disk in disks:
        backing = disk.backing
        if backing is None or not getattr(backing, 'fileName', None):
            continue
        for link in _links(backing):
            found[link.fileName] = retrieve.value_of(
                getattr(link, 'datastore', None))
    return found


# -- VirtualDiskManager -----------------------------------------------------

def _manager(session):
    return session.vim.service_content.virtualDiskManager


def _run(session, method, progress=None, **kwargs):
    """Run a VirtualDiskManager task, reporting its progress.

    Run a VirtualDiskManager task; ``progress(percent)`` is told the
    task's progress while it runs (polled), then the result or fault comes
    from oslo.vmware's wait as always.
    """
    task = session.invoke_api(session.vim, method, _manager(session),
                              **kwargs)
    if progress is not None:
        _follow(session, task, progress)
    return session.wait_for_task(task)


def _follow(session, task, progress, interval=0.25):
    while True:
        info = retrieve.one(session, task, 'info')
        state = str(getattr(info, 'state', ''))
        if state in ('success', 'error'):
            if state == 'success':
                progress(100)
            return
        progress(int(getattr(info, 'progress', 0) or 0))
        time.sleep(interval)


def disk_spec(session, disk_type, adapter_type):
    """A VirtualDiskSpec (destination of a converting copy)."""
    spec = session.vim.client.factory.create('ns0:VirtualDiskSpec')
    spec.diskType = disk_type
    spec.adapterType = adapter_type
    return spec


def _capacity(info):
    return int(getattr(info, 'capacityKb', 0) or 0) if info else None


def copy(session, dc, source, destination, spec=None, progress=None,
         look=None):
    """Copy a virtual disk, never overwriting a file.

    CopyVirtualDisk_Task without force: never overwrites a file.  With
    ``spec`` (``disk_spec``) the copy is flattened into that type.

    ``look(ds_path)``: the disk's VmDiskFileInfo or None (a fresh read),
    for a caller that saw DEST absent before: a FileAlreadyExists whose
    DEST is a disk of the source's capacity is a retried copy vCenter
    ran already (its answer lost), and success.
    """
    kwargs = {'destSpec': spec} if spec is not None else {}
    want = _capacity(look(source)) if look is not None else None
    try:
        _run(session, 'CopyVirtualDisk_Task', progress, sourceName=source,
             sourceDatacenter=dc, destName=destination, destDatacenter=dc,
             force=False, **kwargs)
    except Exception as err:
        if look is None or not faults.is_fault(err, 'FileAlreadyExists'):
            raise
        if not want or _capacity(look(destination)) != want:
            raise


def move(session, dc, source, destination, progress=None, look=None):
    """MoveVirtualDisk_Task without force: never overwrites a file.

    ``look`` as for ``copy``: a FileNotFound when SRC is gone and DEST is
    a disk of SRC's capacity is a retried move vCenter ran already.
    """
    want = _capacity(look(source)) if look is not None else None
    try:
        _run(session, 'MoveVirtualDisk_Task', progress, sourceName=source,
             sourceDatacenter=dc, destName=destination, destDatacenter=dc,
             force=False)
    except Exception as err:
        if look is None or not faults.is_fault(err, 'FileNotFound'):
            raise
        if not want or look(source) is not None or \
                _capacity(look(destination)) != want:
            raise


def delete(session, dc, name, missing_ok=False, look=None):
    """Delete a virtual disk.

    Delete a disk; with ``missing_ok`` a disk that is not there (a copy
    that failed before it began) is no error; with ``look`` (as for
    ``copy``) a FileNotFound of a disk verifiably gone is done (a retried
    delete vCenter ran already).
    """
    try:
        _run(session, 'DeleteVirtualDisk_Task', name=name, datacenter=dc)
    except Exception as err:
        if not faults.is_fault(err, 'FileNotFound'):
            raise
        if missing_ok or (look is not None and look(name) is None):
            return
        raise


def uuid(session, dc, name):
    return session.invoke_api(session.vim, 'QueryVirtualDiskUuid',
                              _manager(session), name=name, datacenter=dc)


# Provisioning names of the operator commands -> VirtualDiskType.
DISK_TYPES = {'thin': 'thin', 'thick': 'preallocated',
              'eager-zeroed': 'eagerZeroedThick'}


def create(session, dc, name, size_kb, disk_type='thin',
           adapter_type='lsiLogic'):
    """Create a base virtual disk (CreateVirtualDisk_Task).

    CreateVirtualDisk_Task of a base disk (FileBackedVirtualDiskSpec);
    vCenter refuses a file that exists.
    """
    spec = session.vim.client.factory.create('ns0:FileBackedVirtualDiskSpec')
    spec.diskType = disk_type
    spec.adapterType = adapter_type
    spec.capacityKb = int(size_kb)
    _run(session, 'CreateVirtualDisk_Task', name=name, datacenter=dc,
         spec=spec)


def extend(session, dc, name, new_size_kb, eager_zero=False, look=None):
    """ExtendVirtualDisk_Task (grow only; vCenter refuses a shrink).

    With ``look`` (as for ``copy``) an error after which the disk
    verifiably has the new capacity (a retried extend vCenter ran
    already, refused as not growing it) is success.
    """
    try:
        _run(session, 'ExtendVirtualDisk_Task', name=name, datacenter=dc,
             newCapacityKb=int(new_size_kb), eagerZero=bool(eager_zero))
    except Exception:
        if look is None or _capacity(look(name)) != int(new_size_kb):
            raise


# -- datastore folders (FileManager) -----------------------------------------

def _file_manager(session):
    return session.vim.service_content.fileManager


def make_folder(session, dc, ds_folder, exists=None):
    """MakeDirectory with its parents ('[ds] a/b').

    ``exists(ds_folder)``: whether the folder is there (a fresh read),
    for a caller that saw it absent before: a FileAlreadyExists of a
    folder that is there is a retried call vCenter ran already.
    """
    try:
        session.invoke_api(session.vim, 'MakeDirectory',
                           _file_manager(session), name=ds_folder,
                           datacenter=dc, createParentDirectories=True)
    except Exception as err:
        if exists is None or not faults.is_fault(err, 'FileAlreadyExists') \
                or not exists(ds_folder):
            raise


def delete_file(session, dc, ds_path):
    """DeleteDatastoreFile_Task (a folder: with what it holds)."""
    task = session.invoke_api(session.vim, 'DeleteDatastoreFile_Task',
                              _file_manager(session), name=ds_path,
                              datacenter=dc)
    session.wait_for_task(task)

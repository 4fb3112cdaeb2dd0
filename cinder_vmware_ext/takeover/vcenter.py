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
"""Small vSphere reads for the takeover: one PropertyCollector pass for
several object types, and datastore searches run side by side."""

from xml.sax import saxutils

from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import bulk_soap
from cinder_vmware_ext.vsphere import view_spec

_PAGE = 500


def retrieve(session, properties):
    """{moref value: (moref, {property: value})} for the given types.

    :param properties: {managed object type: [property paths]}; all types
        are read in one PropertyCollector pass (paged) over a ContainerView,
        not one per type
    """
    vim = session.vim
    factory = vim.client.factory
    filter_spec, view = view_spec.inventory_filter_spec(session, properties)
    options = factory.create('ns0:RetrieveOptions')
    options.maxObjects = _PAGE
    result = session.invoke_api(
        vim, 'RetrievePropertiesEx', vim.service_content.propertyCollector,
        specSet=[filter_spec], options=options)
    found = {}
    try:
        with vim_util.WithRetrieval(vim, result) as objects:
            for obj in objects:
                found[vim_util.get_moref_value(obj.obj)] = (
                    obj.obj,
                    {p.name: p.val for p in getattr(obj, 'propSet', [])})
    finally:
        session.invoke_api(vim, 'DestroyView', view)
    return found


def is_fault(err, *names):
    """True when ``err`` is one of vCenter's faults ``names`` (vim25 type
    names): its oslo.vmware class, or a VimFaultException listing the
    type.  Never judged by the message text."""
    classes = tuple(c for c in map(vexc.get_fault_class, names) if c)
    if classes and isinstance(err, classes):
        return True
    return any(n in (getattr(err, 'fault_list', None) or []) for n in names)


def array(value, item_type):
    """Items of a SOAP ArrayOfX value (empty when unset)."""
    if not value:
        return []
    if hasattr(value, item_type):
        value = getattr(value, item_type)
    return list(value) if isinstance(value, (list, tuple)) else [value]


# Sent as raw XML: suds drops the derived FileQuery types of
# ``searchSpec.query`` (it writes one empty <query/>), and a vCenter given
# no VmDiskFileQuery returns no capacities.
_DISK_SEARCH = (
    '<SearchDatastoreSubFolders_Task xmlns:xsi="%s">%%s'
    '<datastorePath>%%s</datastorePath><searchSpec>'
    '<query xsi:type="VmDiskFileQuery"><details>'
    '<diskType>true</diskType><capacityKb>true</capacityKb>'
    '<hardwareVersion>false</hardwareVersion>'
    '<controllerType>true</controllerType>'
    '<diskExtents>true</diskExtents><thin>true</thin>'
    '</details></query>'
    '<query xsi:type="FileQuery"/>'
    '<details><fileType>true</fileType><fileSize>true</fileSize>'
    '<modification>false</modification><fileOwner>false</fileOwner>'
    '</details><searchCaseInsensitive>false</searchCaseInsensitive>'
    '<matchPattern>*.vmdk</matchPattern>'
    '</searchSpec></SearchDatastoreSubFolders_Task>' % bulk_soap.XSI)


def _start_search(reader, browser, datastore):
    body = _DISK_SEARCH % (
        bulk_soap._moref('HostDatastoreBrowser',
                         vim_util.get_moref_value(browser)),
        saxutils.escape('[%s]' % datastore))
    reply = reader._post(body)
    task = reply.find('{%s}returnval' % bulk_soap.VIM)
    return vim_util.get_moref(task.text, 'Task')


def search_datastores(session, browsers):
    """Search every datastore for VMDK files, all searches at once.

    :param browsers: {datastore name: HostDatastoreBrowser moref}
    :returns: {datastore name: [HostDatastoreBrowserSearchResults]} and
        {datastore name: error message} for searches that failed
    """
    reader = bulk_soap.BulkReader(session)
    tasks = {}
    for name, browser in browsers.items():
        # Start every search before waiting on any: vCenter runs them
        # concurrently, so the wall time is the slowest datastore's.
        tasks[name] = _start_search(reader, browser, name)
    results, errors = {}, {}
    for name, task in tasks.items():
        try:
            info = session.wait_for_task(task)
        except Exception as err:  # one bad datastore must not hide the rest
            errors[name] = str(err)
            continue
        results[name] = array(info.result, 'HostDatastoreBrowserSearchResults')
    return results, errors


def search_folder(session, browser, datastore, folder, file_name):
    """One folder's VMDK search (for a single reference): [results]."""
    reader = bulk_soap.BulkReader(session)
    path = '[%s] %s' % (datastore, folder) if folder else '[%s]' % datastore
    # All *.vmdk of the folder, filtered here: match patterns treat
    # brackets differently across vSphere versions.
    body = _DISK_SEARCH.replace('SearchDatastoreSubFolders_Task',
                                'SearchDatastore_Task')
    body = body % (bulk_soap._moref('HostDatastoreBrowser',
                                    vim_util.get_moref_value(browser)),
                   saxutils.escape(path))
    task = vim_util.get_moref(
        reader._post(body).find('{%s}returnval' % bulk_soap.VIM).text,
        'Task')
    try:
        info = session.wait_for_task(task)
    except Exception as err:
        if is_fault(err, 'FileNotFound'):
            return {}
        raise
    result = info.result
    if file_name is not None:
        result.file = [f for f in getattr(result, 'file', None) or []
                       if f.path == file_name]
    return {datastore: [result]}


def folder_files(session, browser, datastore, folder):
    """{file name: FileInfo or VmDiskFileInfo} of a folder's *.vmdk files
    (empty when the folder does not exist)."""
    found = search_folder(session, browser, datastore, folder, None)
    return {f.path: f for r in found.get(datastore, [])
            for f in getattr(r, 'file', None) or []}


def browser_of(session, datastore_ref):
    return session.invoke_api(
        vim_util, 'get_object_property', session.vim,
        vim_util.get_moref(datastore_ref, 'Datastore'), 'browser')


def reconfigure(session, vm, spec):
    task = session.invoke_api(session.vim, 'ReconfigVM_Task', vm, spec=spec)
    session.wait_for_task(task)


def existing_disk_spec(factory, file_name, capacity_bytes, thin,
                       controller_key, unit_number, key=-100):
    """Add an existing disk file at a given slot; the file is not touched
    (no fileOperation, so vSphere neither creates nor resizes it)."""
    backing = factory.create('ns0:VirtualDiskFlatVer2BackingInfo')
    backing.fileName = file_name
    backing.diskMode = 'persistent'
    backing.thinProvisioned = bool(thin)
    disk = factory.create('ns0:VirtualDisk')
    disk.key = key
    disk.controllerKey = controller_key
    disk.unitNumber = unit_number
    disk.capacityInKB = -(-int(capacity_bytes) // 1024)
    disk.backing = backing
    change = factory.create('ns0:VirtualDeviceConfigSpec')
    change.operation = 'add'
    change.device = disk
    return change


def controller_spec(factory, key=-200, bus_number=0):
    controller = factory.create('ns0:VirtualLsiLogicController')
    controller.key = key
    controller.busNumber = bus_number
    controller.sharedBus = 'noSharing'
    change = factory.create('ns0:VirtualDeviceConfigSpec')
    change.operation = 'add'
    change.device = controller
    return change


def remove_device_spec(factory, device):
    """Remove a device, keeping its files (no fileOperation)."""
    change = factory.create('ns0:VirtualDeviceConfigSpec')
    change.operation = 'remove'
    change.device = device
    return change


def devices_of(session, vm):
    return array(session.invoke_api(
        vim_util, 'get_object_property', session.vim, vm,
        'config.hardware.device'), 'VirtualDevice')


def disk_device(session, vm, file_name):
    for device in devices_of(session, vm):
        if device.__class__.__name__ == 'VirtualDisk' and \
                getattr(device.backing, 'fileName', None) == file_name:
            return device
    return None


def disk_device_of(session, vm):
    """The VM's first VirtualDisk, or None."""
    for device in devices_of(session, vm):
        if device.__class__.__name__ == 'VirtualDisk':
            return device
    return None


def _disk_task(session, method, dc, source, destination):
    """A VirtualDiskManager move or copy without force: never overwrites
    a file."""
    manager = session.vim.service_content.virtualDiskManager
    task = session.invoke_api(
        session.vim, method, manager, sourceName=source,
        sourceDatacenter=dc, destName=destination, destDatacenter=dc,
        force=False)
    session.wait_for_task(task)


def move_disk(session, dc, source, destination):
    _disk_task(session, 'MoveVirtualDisk_Task', dc, source, destination)


def copy_disk(session, dc, source, destination):
    _disk_task(session, 'CopyVirtualDisk_Task', dc, source, destination)


def delete_disk(session, dc, name, missing_ok=False):
    """Delete a disk; with ``missing_ok`` a disk that is not there (a copy
    that failed before it began) is no error."""
    manager = session.vim.service_content.virtualDiskManager
    try:
        task = session.invoke_api(session.vim, 'DeleteVirtualDisk_Task',
                                  manager, name=name, datacenter=dc)
        session.wait_for_task(task)
    except Exception as err:
        if missing_ok and is_fault(err, 'FileNotFound'):
            return
        raise


def disk_uuid(session, dc, name):
    manager = session.vim.service_content.virtualDiskManager
    return session.invoke_api(session.vim, 'QueryVirtualDiskUuid', manager,
                              name=name, datacenter=dc)


def destroy_vm(session, vm):
    task = session.invoke_api(session.vim, 'Destroy_Task', vm)
    session.wait_for_task(task)

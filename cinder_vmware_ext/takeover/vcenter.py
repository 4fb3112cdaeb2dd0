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
"""The datastore-browser searches of the takeover, run side by side.

Pending move: these are the last vCenter calls outside ``vsphere/``; the
search is being rewritten as ``vsphere/search.py`` (bulk-parsed), which
replaces this module.  Every other read and task of the takeover is in
``vsphere/`` (retrieve, devices, disks, snapshots).
"""

from xml.sax import saxutils

from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import bulk_soap
from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import retrieve

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
        bulk_soap.moref('HostDatastoreBrowser',
                        vim_util.get_moref_value(browser)),
        saxutils.escape('[%s]' % datastore))
    reply = reader.post(body)
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
        results[name] = retrieve.items(
            info.result, 'HostDatastoreBrowserSearchResults')
    return results, errors


def search_folder(session, browser, datastore, folder, file_name):
    """One folder's VMDK search (for a single reference): [results]."""
    reader = bulk_soap.BulkReader(session)
    path = '[%s] %s' % (datastore, folder) if folder else '[%s]' % datastore
    # All *.vmdk of the folder, filtered here: match patterns treat
    # brackets differently across vSphere versions.
    body = _DISK_SEARCH.replace('SearchDatastoreSubFolders_Task',
                                'SearchDatastore_Task')
    body = body % (bulk_soap.moref('HostDatastoreBrowser',
                                   vim_util.get_moref_value(browser)),
                   saxutils.escape(path))
    task = vim_util.get_moref(
        reader.post(body).find('{%s}returnval' % bulk_soap.VIM).text,
        'Task')
    try:
        info = session.wait_for_task(task)
    except Exception as err:
        if faults.is_fault(err, 'FileNotFound'):
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

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
"""Datastore-browser searches for VMDK files, parsed without suds.

One ``SearchDatastoreSubFolders_Task`` per datastore, run concurrently by
a bounded pool of workers; each worker starts its search and polls its
task's ``info`` with RetrievePropertiesEx, both as raw SOAP on the
session's HTTPS connection pool (``bulk_soap``; suds is not thread-safe
and is not used here), and reads the reply with lxml into small plain
objects holding only what the takeover's verdicts look at: path, disk
type, capacity, extents and provisioning.
"""

from concurrent import futures
import itertools
import time
from xml.sax import saxutils

from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import bulk_soap

# Searches in flight at once (each is one HTTPS request, then polls).
WORKERS = 8
# Seconds between polls of a running search task: doubling up to the last.
_POLL = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)

_V = '{%s}' % bulk_soap.VIM
_XSI_TYPE = '{%s}type' % bulk_soap.XSI

# Sent as raw XML: suds drops the derived FileQuery types of
# ``searchSpec.query`` (it writes one empty <query/>), and a vCenter given
# no VmDiskFileQuery returns no capacities.  Only the details the
# verdicts need are asked for.
_DISK_SEARCH = (
    '<%%(method)s xmlns:xsi="%s">%%(this)s'
    '<datastorePath>%%(path)s</datastorePath><searchSpec>'
    '<query xsi:type="VmDiskFileQuery"><details>'
    '<diskType>true</diskType><capacityKb>true</capacityKb>'
    '<hardwareVersion>false</hardwareVersion>'
    '<controllerType>false</controllerType>'
    '<diskExtents>true</diskExtents><thin>true</thin>'
    '</details></query>'
    '<query xsi:type="FileQuery"/>'
    '<details><fileType>true</fileType><fileSize>false</fileSize>'
    '<modification>false</modification><fileOwner>false</fileOwner>'
    '</details><searchCaseInsensitive>false</searchCaseInsensitive>'
    '<matchPattern>*.vmdk</matchPattern>'
    '</searchSpec></%%(method)s>' % bulk_soap.XSI)

_TASK_INFO = (
    '<RetrievePropertiesEx>%s<specSet><propSet><type>Task</type>'
    '<pathSet>info.state</pathSet><pathSet>info.result</pathSet>'
    '<pathSet>info.error</pathSet></propSet>'
    '<objectSet><obj type="Task">%s</obj></objectSet></specSet>'
    '<options/></RetrievePropertiesEx>')


class FileInfo(object):
    """A *.vmdk that is not a disk descriptor (as vSphere's FileInfo)."""

    __slots__ = ('path',)

    def __init__(self, path):
        self.path = path


class VmDiskFileInfo(FileInfo):
    """A disk descriptor, with the details the takeover reads."""

    __slots__ = ('diskType', 'capacityKb', 'diskExtents', 'thin')

    def __init__(self, path, disk_type, capacity_kb, extents, thin):
        super(VmDiskFileInfo, self).__init__(path)
        self.diskType = disk_type
        self.capacityKb = capacity_kb
        self.diskExtents = extents
        self.thin = thin


class SearchResults(object):
    """One folder's files (as HostDatastoreBrowserSearchResults)."""

    __slots__ = ('folderPath', 'file')

    def __init__(self, folder_path, files):
        self.folderPath = folder_path
        self.file = files


class SearchFailed(vexc.VimFaultException):
    """A search task ended in error (fault names in ``fault_list``)."""


def _value(ref):
    if isinstance(ref, tuple):
        return ref[1]
    if isinstance(ref, str):
        return ref
    return vim_util.get_moref_value(ref)


def _file(element):
    path = element.findtext(_V + 'path') or ''
    if element.get(_XSI_TYPE, '').split(':')[-1] != 'VmDiskFileInfo':
        return FileInfo(path)
    thin = element.findtext(_V + 'thin')
    return VmDiskFileInfo(
        path, element.findtext(_V + 'diskType') or '',
        int(element.findtext(_V + 'capacityKb') or 0),
        [e.text or '' for e in element.iterfind(_V + 'diskExtents')],
        None if thin is None else thin == 'true')


def _results(val):
    """[SearchResults] of a task's ``info.result`` element."""
    kind = val.get(_XSI_TYPE, '').split(':')[-1]
    folders = (list(val) if kind.startswith('ArrayOf') else [val])
    return [SearchResults(f.findtext(_V + 'folderPath') or '',
                          [_file(e) for e in f.iterfind(_V + 'file')])
            for f in folders]


def _failure(val):
    fault = val.find(_V + 'fault')
    name = (fault.get(_XSI_TYPE, '').split(':')[-1]
            if fault is not None else '') or 'VimFault'
    message = (val.findtext(_V + 'localizedMessage') or '').strip() or name
    return SearchFailed([name], message)


class _Search(object):
    """Start one search task and wait for it, all in raw SOAP."""

    def __init__(self, session):
        self._reader = bulk_soap.BulkReader(session)
        self._collector = vim_util.get_moref_value(
            session.vim.service_content.propertyCollector)

    def run(self, method, browser, ds_path):
        reply = self._reader.post(_DISK_SEARCH % dict(
            method=method, path=saxutils.escape(ds_path),
            this=bulk_soap.moref('HostDatastoreBrowser', _value(browser))))
        task = reply.findtext(_V + 'returnval')
        body = _TASK_INFO % (bulk_soap.moref('PropertyCollector',
                                             self._collector),
                             saxutils.escape(task))
        for delay in itertools.chain(_POLL, itertools.repeat(_POLL[-1])):
            info = self._info(self._reader.post(body))
            state = info.get('info.state')
            if state == 'success':
                val = info.get('info.result')
                return [] if val is None else _results(val)
            if state == 'error':
                raise _failure(info['info.error'])
            time.sleep(delay)

    @staticmethod
    def _info(reply):
        found = {}
        for prop in reply.iter(_V + 'propSet'):
            val = prop.find(_V + 'val')
            name = prop.findtext(_V + 'name')
            found[name] = val.text if name == 'info.state' else val
        return found


def search_datastores(session, browsers, workers=WORKERS):
    """Search every datastore for VMDK files, ``workers`` at a time.

    :param browsers: {datastore name: HostDatastoreBrowser moref}
    :returns: {datastore name: [SearchResults]} and {datastore name: error
        message} for searches that failed
    """
    results, errors = {}, {}
    if not browsers:
        return results, errors

    def one(name):
        return _Search(session).run('SearchDatastoreSubFolders_Task',
                                    browsers[name], '[%s]' % name)

    with futures.ThreadPoolExecutor(max(1, min(workers,
                                               len(browsers)))) as pool:
        running = {pool.submit(one, name): name for name in browsers}
        for future in futures.as_completed(running):
            name = running[future]
            try:
                results[name] = future.result()
            except Exception as err:  # one bad datastore must not hide
                errors[name] = str(err) or err.__class__.__name__
    return results, errors


def search_folder(session, browser, datastore, folder, file_name):
    """One folder's VMDK search (for a single reference).

    :returns: {datastore: [SearchResults]}, empty when the folder does not
        exist; with ``file_name`` only that file is kept
    """
    path = '[%s] %s' % (datastore, folder) if folder else '[%s]' % datastore
    # All *.vmdk of the folder, filtered here: match patterns treat
    # brackets differently across vSphere versions.
    try:
        found = _Search(session).run('SearchDatastore_Task', browser, path)
    except SearchFailed as err:
        if 'FileNotFound' in err.fault_list:
            return {}
        raise
    if file_name is not None:
        for result in found:
            result.file = [f for f in result.file if f.path == file_name]
    return {datastore: found}


def folder_files(session, browser, datastore, folder):
    """List the .vmdk files of a datastore folder.

    {file name: FileInfo or VmDiskFileInfo} of a folder's *.vmdk files
    (empty when the folder does not exist).
    """
    found = search_folder(session, browser, datastore, folder, None)
    return {f.path: f for r in found.get(datastore, []) for f in r.file}

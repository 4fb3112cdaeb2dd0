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
"""vsphere/search.py's reading of search task results (pure: XML in)."""

from lxml import etree

from cinder_vmware_ext.takeover import discovery
from cinder_vmware_ext.vsphere import search

RESULT = b'''<val xmlns="urn:vim25"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:type="ArrayOfHostDatastoreBrowserSearchResults">
 <HostDatastoreBrowserSearchResults>
  <datastore type="Datastore">datastore-1</datastore>
  <folderPath>[ds-a] orphans</folderPath>
  <file xsi:type="VmDiskFileInfo"><path>a.vmdk</path>
   <diskType>VirtualDiskFlatVer2BackingInfo</diskType>
   <capacityKb>1048576</capacityKb>
   <diskExtents>a-flat.vmdk</diskExtents><thin>true</thin></file>
  <file xsi:type="VmDiskFileInfo"><path>b.vmdk</path>
   <diskType>VirtualDiskSparseVer2BackingInfo</diskType>
   <capacityKb>2048</capacityKb>
   <diskExtents>b-s001.vmdk</diskExtents>
   <diskExtents>b-s002.vmdk</diskExtents></file>
  <file xsi:type="FileInfo"><path>junk.vmdk</path></file>
 </HostDatastoreBrowserSearchResults>
 <HostDatastoreBrowserSearchResults>
  <datastore type="Datastore">datastore-1</datastore>
  <folderPath>[ds-a]</folderPath>
 </HostDatastoreBrowserSearchResults>
</val>'''

FAULT = b'''<val xmlns="urn:vim25"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:type="LocalizedMethodFault">
 <fault xsi:type="FileNotFound"><file>[ds-a] nope</file></fault>
 <localizedMessage>File [ds-a] nope was not found</localizedMessage>
</val>'''


def test_results_keep_what_the_verdicts_need():
    results = search._results(etree.fromstring(RESULT))
    assert [r.folderPath for r in results] == ['[ds-a] orphans', '[ds-a]']
    a, b, junk = results[0].file
    assert (a.path, a.capacityKb, a.diskExtents, a.thin) == (
        'a.vmdk', 1048576, ['a-flat.vmdk'], True)
    assert b.thin is None and b.diskExtents == ['b-s001.vmdk',
                                                'b-s002.vmdk']
    assert isinstance(junk, search.FileInfo)
    assert not isinstance(junk, search.VmDiskFileInfo)
    assert results[1].file == []


def test_discovery_reads_them_as_it_read_suds_objects():
    found = discovery.found_files(
        {'ds-a': search._results(etree.fromstring(RESULT))})
    by_path = {f.path: f for f in found}
    assert set(by_path) == {'orphans/a.vmdk', 'orphans/b.vmdk',
                            'orphans/junk.vmdk'}
    a = by_path['orphans/a.vmdk']
    assert (a.is_descriptor, a.capacity_bytes, a.thin, a.is_delta) == (
        True, 1024 ** 3, True, False)
    assert by_path['orphans/b.vmdk'].is_delta is True
    assert by_path['orphans/junk.vmdk'].is_descriptor is False


def test_a_failed_task_names_its_fault():
    err = search._failure(etree.fromstring(FAULT))
    assert err.fault_list == ['FileNotFound']
    assert 'was not found' in str(err)

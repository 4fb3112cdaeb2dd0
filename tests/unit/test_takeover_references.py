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
import pytest

from cinder_vmware_ext.takeover import references as refs


@pytest.mark.parametrize('text, ds, path', [
    ('[ds-1] orphans/data 1.vmdk', 'ds-1', 'orphans/data 1.vmdk'),
    ('[nfs 01] dätä [x].vmdk', 'nfs 01', 'dätä [x].vmdk'),
    ('[ds]file.vmdk', 'ds', 'file.vmdk'),
    ('  [ds] a/b/c.VMDK ', 'ds', 'a/b/c.VMDK'),
])
def test_datastore_paths(text, ds, path):
    parsed = refs.parse_datastore_path(text)
    assert (parsed.datastore, parsed.path) == (ds, path)
    assert str(parsed) == '[%s] %s' % (ds, path)


@pytest.mark.parametrize('text, words', [
    ('ds/file.vmdk', 'not a datastore path'),
    ('[] file.vmdk', 'not a datastore path'),
    ('[ds] ../other/file.vmdk', 'escapes'),
    ('[ds] a/../../b.vmdk', 'escapes'),
    ('[ds] a//b.vmdk', 'escapes'),
    ('[ds] /etc/passwd.vmdk', 'relative'),
    ('[ds] a\\b.vmdk', 'relative'),
    ('[ds] disk.txt', 'not a VMDK'),
    ('[ds] vm/disk-flat.vmdk', 'data extent'),
    ('[ds] vm/disk-delta.vmdk', 'data extent'),
    ('[ds] vm/disk-000001.vmdk', 'snapshot (delta)'),
])
def test_bad_datastore_paths(text, words):
    with pytest.raises(refs.InvalidReference, match=words.replace(
            '(', r'\(').replace(')', r'\)')):
        refs.parse_datastore_path(text)


def test_extent_message_names_descriptor():
    with pytest.raises(refs.InvalidReference,
                       match=r'vm/disk\.vmdk|disk\.vmdk'):
        refs.parse_datastore_path('[ds] vm/disk-flat.vmdk')


def test_loose_file_reference():
    ref = refs.parse({'source-name': '[ds] a/b.vmdk'})
    assert ref.kind == refs.FILE and str(ref.disk_path) == '[ds] a/b.vmdk'


def test_upstream_reference():
    ref = refs.parse({'source-name': '[ds] vm/vm.vmdk@DC1/vm/folder/vm'})
    assert ref.kind == refs.ATTACHED
    assert str(ref.disk_path) == '[ds] vm/vm.vmdk'
    assert ref.vm_path == 'DC1/vm/folder/vm'


def test_at_sign_in_file_name_is_a_file():
    ref = refs.parse({'source-name': '[ds] mail@host/x.vmdk'})
    assert ref.kind == refs.FILE and ref.disk_path.path == 'mail@host/x.vmdk'


@pytest.mark.parametrize('value', [
    '6000c298-e690-5d21-c618-0f766e4994bc',
    '60 00 C2 98 e6 90 5d 21-c6 18 0f 76 6e 49 94 bc',
    '6000C298E6905D21C6180F766E4994BC'])
def test_uuid_reference(value):
    ref = refs.parse({'source-id': value})
    assert ref.kind == refs.UUID
    assert ref.uuid == '6000c298e6905d21c6180f766e4994bc'


@pytest.mark.parametrize('ref, words', [
    ({}, 'exactly one'),
    ({'source-name': 'x', 'source-id': 'y'}, 'exactly one'),
    ({'name': 'x'}, 'exactly one'),
    ({'source-name': ''}, 'empty'),
    ({'source-name': 42}, '"source-name" must be a string .*not a number'),
    ({'source-name': ['[ds] a.vmdk']},
     '"source-name" must be a string .*not a list'),
    ({'source-id': ['6000c298-0000-0000-0000-00000000000d']},
     '"source-id" must be a string .*not a list'),
    ({'source-id': 'not-a-uuid'}, 'not a virtual disk UUID'),
    ({'source-name': '[ds] a.vmdk@'}, 'not a datastore path|VMDK'),
    (['source-name'], 'JSON object'),
])
def test_bad_references(ref, words):
    with pytest.raises(refs.InvalidReference, match=words):
        refs.parse(ref)


def test_listed_reference_formats():
    assert refs.for_disk('[ds] a.vmdk') == {'source-name': '[ds] a.vmdk'}
    assert refs.for_disk('[ds] a.vmdk', 'u1', attached=True) == {
        'source-id': 'u1'}


def _disk(path, uuid=None, vm_path=None):
    from cinder_vmware_ext.takeover import records
    vm = records.AttachedVm(ref='vm-' + vm_path, name=vm_path,
                            inventory_path='DC/vm/' + vm_path) \
        if vm_path else None
    return records.DiskRecord(datastore='ds', path=path, uuid=uuid, vm=vm)


def test_listing_references_never_repeat():
    uuid = '6000c298-e690-5d21-c618-0f766e4994bc'
    disks = [
        _disk('a/a.vmdk', uuid, 'a'),                 # shared with b
        _disk('a/a.vmdk', uuid, 'b'),
        _disk('c/c.vmdk', uuid.upper().replace('-', ' '), 'c'),  # a clone
        _disk('d/d.vmdk', '6000c298-0000-0000-0000-00000000000d', 'd'),
        _disk('e/e.vmdk'),                            # loose
    ]
    assert refs.for_listing(disks) == [
        {'source-name': '[ds] a/a.vmdk@DC/vm/a'},
        {'source-name': '[ds] a/a.vmdk@DC/vm/b'},
        {'source-name': '[ds] c/c.vmdk@DC/vm/c'},
        {'source-id': '6000c298-0000-0000-0000-00000000000d'},
        {'source-name': '[ds] e/e.vmdk'},
    ]
    for ref in refs.for_listing(disks)[:3]:
        assert refs.parse(ref).kind == refs.ATTACHED

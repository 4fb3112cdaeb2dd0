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
"""Pure tests of the compact host mounts and their parser (no simulator)."""

from lxml import etree
import pytest

from cinder_vmware_ext.core import model
from cinder_vmware_ext.vsphere import bulk_soap

PLAIN = model.HostMount


def _mount_xml(host, mode='readWrite', mounted='true', accessible='true',
               path='/vmfs/volumes/ds-1'):
    info = '<path>%s</path>' % path
    if mode is not None:
        info += '<accessMode>%s</accessMode>' % mode
    if mounted is not None:
        info += '<mounted>%s</mounted>' % mounted
    if accessible is not None:
        info += '<accessible>%s</accessible>' % accessible
    return ('<DatastoreHostMount><key type="HostSystem">%s</key>'
            '<mountInfo>%s</mountInfo></DatastoreHostMount>' % (host, info))


def _parse(*mounts):
    xml = ('<val xmlns="urn:vim25" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:type="ArrayOfDatastoreHostMount">%s</val>' % ''.join(mounts))
    return bulk_soap.host_mounts(etree.fromstring(xml))


class TestHostMounts(object):
    def test_reads_like_the_tuple_it_stands_for(self):
        odd = PLAIN('h2', access_mode='readOnly')
        as_tuple = (PLAIN('h1'), odd, PLAIN('h3'))
        mounts = model.HostMounts(['h1', 'h2', 'h3'], {'h2': odd})
        assert tuple(mounts) == as_tuple
        assert mounts == as_tuple
        assert mounts == model.HostMounts.of(as_tuple)
        assert hash(mounts) == hash(model.HostMounts.of(as_tuple))
        assert len(mounts) == 3
        assert mounts[1] == odd and mounts[-1] == PLAIN('h3')
        assert mounts[:2] == as_tuple[:2]

    def test_sets_follow_each_mount_state(self):
        mounts = model.HostMounts.of([
            PLAIN('rw'), PLAIN('ro', access_mode='readOnly'),
            PLAIN('gone', mounted=False), PLAIN('dead', accessible=False)])
        assert mounts.writable == {'rw'}
        assert mounts.mounted == {'rw', 'ro', 'dead'}

    def test_plain_mounts_given_as_odd_are_dropped(self):
        mounts = model.HostMounts(['h1'], {'h1': PLAIN('h1')})
        assert mounts == model.HostMounts(['h1'])
        assert mounts.writable == mounts.mounted == {'h1'}

    def test_datastore_keeps_a_tuple_as_host_mounts(self):
        ds = model.Datastore('ds-1', 'ds', 'VMFS', 1, 1,
                             mounts=(PLAIN('h1'),))
        assert isinstance(ds.mounts, model.HostMounts)
        assert ds == model.Datastore('ds-1', 'ds', 'VMFS', 1, 1,
                                     mounts=model.HostMounts(['h1']))
        assert model.Datastore('e', 'e', 'VMFS', 1, 1).mounts == ()


class TestHostMountsParser(object):
    def test_plain_mounts(self):
        mounts = _parse(_mount_xml('host-1'), _mount_xml('host-2'))
        assert mounts == (PLAIN('host-1'), PLAIN('host-2'))
        assert mounts.writable == {'host-1', 'host-2'}

    @pytest.mark.parametrize('kw, expected', [
        (dict(mode='readOnly'), PLAIN('host-2', access_mode='readOnly')),
        (dict(mounted='false'), PLAIN('host-2', mounted=False)),
        (dict(accessible='false'), PLAIN('host-2', accessible=False)),
        (dict(mode=None, mounted=None, accessible=None), PLAIN('host-2')),
    ])
    def test_each_odd_state_is_read(self, kw, expected):
        mounts = _parse(_mount_xml('host-1'), _mount_xml('host-2', **kw),
                        _mount_xml('host-3'))
        assert tuple(mounts) == (PLAIN('host-1'), expected, PLAIN('host-3'))

    def test_a_path_that_looks_odd_changes_nothing(self):
        mounts = _parse(_mount_xml('host-1', path='/vol/false/readOnly'),
                        _mount_xml('host-2', accessible='false'))
        assert tuple(mounts) == (PLAIN('host-1'),
                                 PLAIN('host-2', accessible=False))
        assert mounts.writable == {'host-1'}
        assert mounts.mounted == {'host-1', 'host-2'}

    def test_empty_array(self):
        assert _parse() == ()

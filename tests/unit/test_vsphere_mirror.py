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
"""How the object mirror applies a change feed's updates (pure logic)."""

from lxml import etree
from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import bulk_soap
from cinder_vmware_ext.vsphere import mirror

VM = vim_util.get_moref('vm-1', 'VirtualMachine')


def _update(kind, *changes):
    body = ''.join(
        '<changeSet><name>%s</name><op>%s</op>%s</changeSet>' % (
            name, op, '' if val is None else
            '<val xsi:type="xsd:string">%s</val>' % val)
        for name, op, val in changes)
    return etree.fromstring(
        '<objectSet xmlns="%s" xmlns:xsi="http://www.w3.org/2001/'
        'XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        '<kind>%s</kind><obj type="VirtualMachine">vm-1</obj>%s'
        '</objectSet>' % (bulk_soap.VIM, kind, body))


def _apply(objects, element):
    mirror._apply(objects, *mirror._update(element))


def test_enter_then_modify_then_leave():
    objects = {}
    _apply(objects, _update('enter', ('name', 'assign', 'a'),
                            ('snapshot', 'assign', None)))
    ref, props = objects['vm-1']
    assert (ref._type, ref.value) == ('VirtualMachine', 'vm-1')
    # An unset property is absent, as in a RetrievePropertiesEx answer.
    assert props == {'name': 'a'}
    _apply(objects, _update('modify', ('snapshot', 'assign', 's'),
                            ('name', 'assign', 'b')))
    assert objects['vm-1'][1] == {'name': 'b', 'snapshot': 's'}
    _apply(objects, _update('modify', ('snapshot', 'remove', None)))
    assert objects['vm-1'][1] == {'name': 'b'}
    _apply(objects, _update('leave'))
    assert objects == {}


def test_an_update_never_changes_an_answer_given_before():
    objects = {}
    _apply(objects, _update('enter', ('name', 'assign', 'a')))
    given = dict(objects)
    props = given['vm-1'][1]
    _apply(objects, _update('modify', ('name', 'assign', 'b')))
    assert props == {'name': 'a'}
    assert objects['vm-1'][1] == {'name': 'b'}


def test_enter_replaces_what_was_kept():
    objects = {'vm-1': (VM, {'name': 'a', 'snapshot': 's'})}
    _apply(objects, _update('enter', ('name', 'assign', 'c')))
    assert objects['vm-1'][1] == {'name': 'c'}

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
"""The client layer's rule: only ``cinder_vmware_ext/vsphere/`` talks to
vCenter.

Every module outside it is parsed (AST, nothing imported) and may not call
``invoke_api`` or ``wait_for_task``, build suds objects through
``client.factory``, or post raw SOAP (a ``BulkReader``, its ``post``, or
a SOAP body written as a string).
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / 'cinder_vmware_ext'
LAYER = PACKAGE / 'vsphere'

# Modules allowed to break the rule for now, each with the reason and
# where it goes; an entry whose file is gone fails, so the list shrinks.
PENDING = {}

_CALLS = {'invoke_api', 'wait_for_task'}
_SOAP_MARKS = ('xmlns', 'xsi:type', '<soapenv', '<_this')


def _dotted(node):
    """'a.b.c' of a Name/Attribute chain, else ''."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + '()')
    return '.'.join(reversed(parts))


def violations(source, filename='<source>'):
    """[(line, what)] of every vCenter call in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            last = name.rsplit('.', 1)[-1]
            if last in _CALLS:
                found.append((node.lineno, name))
            elif last in ('post', '_post') and (
                    'reader' in name.lower() or 'bulk' in name.lower()):
                found.append((node.lineno, name + ' (raw SOAP)'))
        elif isinstance(node, ast.Attribute):
            if node.attr == 'factory' and _dotted(node.value).endswith(
                    'client'):
                found.append((node.lineno, _dotted(node)))
            elif node.attr in ('BulkReader', 'moref') and \
                    _dotted(node.value).endswith('bulk_soap'):
                found.append((node.lineno, _dotted(node)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if any(mark in node.value for mark in _SOAP_MARKS):
                found.append((node.lineno, 'a raw SOAP body'))
    return sorted(set(found))


def _modules():
    for path in sorted(PACKAGE.rglob('*.py')):
        if LAYER not in path.parents:
            yield path


def test_no_module_outside_vsphere_talks_to_vcenter():
    broken = []
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in PENDING:
            continue
        for line, what in violations(path.read_text(), str(path)):
            broken.append('cinder_vmware_ext/%s:%d: %s' % (rel, line, what))
    assert not broken, ('vCenter calls outside cinder_vmware_ext/vsphere/ '
                        '(add a named round trip there):\n' +
                        '\n'.join(broken))


def test_the_modules_walked_include_every_layer_above():
    walked = {p.relative_to(PACKAGE).parts[0] for p in _modules()}
    assert {'driver.py', 'extensions', 'takeover', 'cmd', 'core'} <= walked
    assert 'vsphere' not in walked


@pytest.mark.parametrize('rel', sorted(PENDING))
def test_pending_exemptions_still_exist(rel):
    path = PACKAGE / rel
    assert path.exists(), ('%s is gone: drop it from PENDING' % rel)
    assert violations(path.read_text()), (
        '%s no longer calls vCenter: drop it from PENDING' % rel)


@pytest.mark.parametrize('source, what', [
    ("s.invoke_api(s.vim, 'ReconfigVM_Task', vm, spec=spec)",
     's.invoke_api'),
    ('self.session.wait_for_task(task)', 'self.session.wait_for_task'),
    ("cf = self.session.vim.client.factory", 'self.session.vim.client'
     '.factory'),
    ("spec = vim.client.factory.create('ns0:VirtualDiskSpec')",
     'vim.client.factory'),
    ('reader = bulk_soap.BulkReader(session)', 'bulk_soap.BulkReader'),
    ('reply = reader.post(body)', 'reader.post (raw SOAP)'),
    ("body = '<RemoveSnapshot_Task xmlns=\"urn:vim25\">'",
     'a raw SOAP body'),
])
def test_each_kind_of_call_is_caught(source, what):
    assert [w for _line, w in violations(source)] == [what]


@pytest.mark.parametrize('source', [
    'retrieve.one(session, vm, "snapshot")',
    'devices.edit(self.session, vm, disk)',
    'requests.post(url, json=body)',
    'factory = takeover.COMMANDS["list"]',
])
def test_named_round_trips_pass(source):
    assert violations(source) == []

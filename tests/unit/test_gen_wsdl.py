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
"""Tests for tools/vcsim/wsdl/gen_wsdl.py (build-time vim25 WSDL)."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GEN = os.path.join(REPO, 'tools', 'vcsim', 'wsdl', 'gen_wsdl.py')
GOVMOMI = os.environ.get(
    'GOVMOMI_SRC', '/usr/share/gocode/src/github.com/vmware/govmomi')

WSDL_NS = '{http://schemas.xmlsoap.org/wsdl/}'

pytestmark = pytest.mark.skipif(
    not os.path.isfile(os.path.join(GOVMOMI, 'vim25', 'types', 'types.go')),
    reason='govmomi sources not found (set GOVMOMI_SRC)')

EXPECTED_OPS = [
    'RetrieveServiceContent', 'RetrievePropertiesEx',
    'ContinueRetrievePropertiesEx', 'CreateVirtualDisk_Task',
    'ExtendVirtualDisk_Task', 'CloneVM_Task', 'ConfigureDatastoreIORM_Task',
    'RenameSnapshot', 'WaitForUpdatesEx', 'CreateSnapshot_Task', 'Login',
    'configureVcha_Task',  # lower-case wire name, as on a real vCenter
]


@pytest.fixture(scope='module')
def wsdl_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp('wsdl')
    # No --xsd-dir: exercises discovery through the installed oslo_vmware.
    proc = subprocess.run(
        [sys.executable, GEN, '--govmomi', GOVMOMI, '--out', str(out)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'operations' in proc.stdout
    return out


@pytest.fixture(scope='module')
def client(wsdl_dir):
    suds_client = pytest.importorskip('suds.client')
    return suds_client.Client(
        'file://%s' % os.path.join(str(wsdl_dir), 'vimService.wsdl'),
        cache=None)


def test_files_written(wsdl_dir):
    for name in ('vimService.wsdl', 'vim.wsdl', 'vim-messagetypes.xsd',
                 'vim-types.xsd', 'core-types.xsd', 'query-types.xsd',
                 'reflect-types.xsd'):
        path = os.path.join(str(wsdl_dir), name)
        assert os.path.getsize(path) > 0, name
        ET.parse(path)  # well-formed


def test_wsdl_structure(wsdl_dir):
    root = ET.parse(os.path.join(str(wsdl_dir), 'vim.wsdl')).getroot()
    ops = {op.get('name') for op in root.find(WSDL_NS + 'portType')}
    assert len(ops) > 800
    assert set(EXPECTED_OPS) <= ops
    binding = root.find(WSDL_NS + 'binding')
    assert binding.get('name') == 'VimBinding'
    assert {op.get('name') for op in binding.findall(WSDL_NS + 'operation')} \
        == ops
    xsd = '{http://www.w3.org/2001/XMLSchema}'
    elements = {e.get('name'): e.get('type') for e in
                root.find(WSDL_NS + 'types').find(xsd + 'schema')
                .findall(xsd + 'element')}
    assert elements['versionURI'] == 'xsd:string'
    assert elements['InvalidPropertyFault'] == 'vim25:InvalidProperty'
    assert elements['RuntimeFaultFault'] == 'vim25:RuntimeFault'
    assert elements['FileNotFoundFault'] == 'vim25:FileNotFound'
    assert elements['CreateVirtualDisk_Task'] == \
        'vim25:CreateVirtualDiskRequestType'


def test_service(client):
    service = client.wsdl.services[0]
    assert service.name == 'VimService'
    port = service.ports[0]
    assert port.name == 'VimPort'
    assert port.location == 'https://localhost/sdk'
    for op in EXPECTED_OPS:
        assert op in port.methods, op


def _params(client, op):
    method = client.wsdl.services[0].ports[0].methods[op]
    return {p[0]: p[1] for p in method.binding.input.param_defs(method)}


def test_request_mapping(client):
    # Optional / array / required parameters follow govmomi's Go types.
    params = _params(client, 'RetrievePropertiesEx')
    assert params['specSet'].multi_occurrence()
    assert not params['specSet'].optional()
    assert not params['options'].optional()
    assert params['options'].resolve().name == 'RetrieveOptions'

    params = _params(client, 'CreateVirtualDisk_Task')
    assert params['datacenter'].optional()
    assert not params['datacenter'].multi_occurrence()
    assert params['spec'].resolve().name == 'VirtualDiskSpec'


def test_factory(client):
    spec = client.factory.create('ns0:VirtualMachineCloneSpec')
    assert hasattr(spec, 'location') and hasattr(spec, 'powerOn')
    disk_spec = client.factory.create('ns0:FileBackedVirtualDiskSpec')
    assert hasattr(disk_spec, 'capacityKb')
    req = client.factory.create('ns0:RetrievePropertiesExRequestType')
    assert hasattr(req, 'specSet') and hasattr(req, 'options')


def test_envelope(client):
    this = client.factory.create('ns0:ManagedObjectReference')
    this.value = 'virtualDiskManager'
    this._type = 'VirtualDiskManager'
    client.set_options(nosend=True)
    try:
        ctx = client.service.ExtendVirtualDisk_Task(
            this, name='[ds] a.vmdk', newCapacityKb=2048, eagerZero=False)
    finally:
        client.set_options(nosend=False)
    body = ET.fromstring(ctx.envelope)[-1]
    req = body[0]
    assert req.tag == '{urn:vim25}ExtendVirtualDisk_Task'
    assert [c.tag.split('}')[1] for c in req] == [
        '_this', 'name', 'newCapacityKb', 'eagerZero']
    assert req[0].get('type') == 'VirtualDiskManager'
    assert req[2].text == '2048'

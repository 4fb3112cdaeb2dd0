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
"""The simulator's admin token and its redacted SOAP trace.

One simulator started with VCSIM_ADMIN_TOKEN and VCSIM_TRACE=1: the admin
API refuses calls without the bearer token (401) and the trace never holds
the Login password or a session key (the session cookie's value).
"""

import json
import secrets
import ssl
import urllib.error
import urllib.request

from oslo_vmware import vim_util
import pytest

from tests import simulator as vcsim

TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [{"name": "gold", "hosts": [{"name": "esx-01"}]}],
    "datastores": [{"name": "nfs-01", "type": "NFS", "capacity_gb": 10,
                    "free_gb": 5, "mounts": [{"host": "esx-01"}]}],
}]}

TOKEN = secrets.token_hex(16)
PASSWORD = 'pw-' + secrets.token_hex(12)


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    simulator = vcsim.Simulator.start(
        TOPOLOGY, workdir=str(tmp_path_factory.mktemp('vcsim')),
        env={'VCSIM_TRACE': '1', 'VCSIM_PASSWORD': PASSWORD},
        admin_token=TOKEN)
    yield simulator
    simulator.stop()


def raw_admin(sim, path, headers=None):
    req = urllib.request.Request(sim.admin_url + '/' + path,
                                 headers=headers or {})
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_admin_api_needs_the_token(sim):
    assert sim.info.get('admin_token') is None     # never printed
    status, body = raw_admin(sim, 'faults')
    assert status == 401 and 'Bearer' in body['error']
    status, _ = raw_admin(sim, 'faults',
                          {'Authorization': 'Bearer not-' + TOKEN})
    assert status == 401
    status, body = raw_admin(sim, 'faults',
                             {'Authorization': 'Bearer ' + TOKEN})
    assert (status, body) == (200, {'faults': []})
    # tests/simulator.py passes the token
    sim.inject_fault('RetrievePropertiesEx', 'InvalidState', count=1)
    assert sim.faults()[0]['count'] == 1
    sim.clear_faults()


def test_sdk_is_not_behind_the_token(sim):
    session = sim.session()
    vim = session.vim
    name = session.invoke_api(vim_util, 'get_object_property', vim,
                              vim.service_content.rootFolder, 'name')
    assert name == 'Datacenters'


def test_trace_holds_no_password_or_session_key(sim):
    session = sim.session()
    vim = session.vim
    key = session.invoke_api(vim_util, 'get_object_property', vim,
                             vim.service_content.sessionManager,
                             'currentSession').key
    assert key == session._session_id
    # a session the admin API ended is redacted too
    sim.invalidate_sessions()
    session.invoke_api(vim_util, 'get_object_property', vim,
                       vim.service_content.rootFolder, 'name')
    with open(sim.log_file) as f:
        trace = f.read()
    assert 'Login' in trace and 'RetrievePropertiesEx' in trace
    assert '(redacted)' in trace
    assert PASSWORD not in trace
    assert key not in trace
    assert session._session_id not in trace

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
"""The topology JSON Schema (tools/vcsim/topologies/schema.json).

Bad topologies are refused in one line naming the file and the field, by
the validator and by vcsim-up before it builds or starts anything; the
shipped and generated topologies pass; the README's key tables list the
schema's keys.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOPOLOGIES = os.path.join(REPO, 'tools', 'vcsim', 'topologies')
VCSIM_UP = os.path.join(REPO, 'tools', 'vcsim', 'vcsim-up')

_spec = importlib.util.spec_from_file_location(
    'topology_validate', os.path.join(TOPOLOGIES, 'validate.py'))
validate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(validate)


def dc(**fields):
    return {'datacenters': [dict({'name': 'DC1'}, **fields)]}


BAD = [
    ({'datacenter': []}, 'the document: unknown field "datacenter"'),
    ({'datacenters': {}}, 'datacenters: must be a list, not an object'),
    ({'datacenters': [{'clusters': []}]},
     'datacenters[0]: missing required field "name"'),
    (dc(datastorez=[]), 'datacenters[0] "DC1": unknown field "datastorez"'),
    (dc(datastores=[{'name': 'a'}, {'name': 'b', 'type': 'ZFS'}]),
     'datacenters[0] "DC1" datastores[1] "b" type: "ZFS" is not one of'
     ' VMFS, NFS, NFS41, vsan, VVOL, OTHER'),
    (dc(datastores=[{'name': 'a', 'capacity_gb': '10'}]),
     'datastores[0] "a" capacity_gb: must be a number, not a string'),
    (dc(datastores=[{'name': 'a', 'free_gb': -1}]),
     'datastores[0] "a" free_gb: must be at least 0 (got -1)'),
    (dc(datastores=[{'name': 'a/b'}]),
     'datastores[0] "a/b" name: must not contain'),
    (dc(datastores=[{'name': 'a', 'mounts': [{'host': 'h',
                                              'access_mode': 'rw'}]}]),
     'datastores[0] "a" mounts[0] access_mode: "rw" is not one of'),
    (dc(datastores=[{'name': 'a', 'accessible': 'yes'}]),
     'accessible: must be true or false, not a string'),
    (dc(clusters=[{'name': 'c', 'hosts': [{'name': 'h',
                                           'connection_state': 'off'}]}]),
     'clusters[0] "c" hosts[0] "h" connection_state: "off" is not one of'),
    (dc(clusters=[{'name': 'c', 'ha': {'failover': ['h']}}]),
     'clusters[0] "c" ha: unknown field "failover"'),
    (dc(standalone_hosts=[{'name': ''}]),
     'standalone_hosts[0] "" name: must not be empty'),
    (dc(vms=[{'name': 'v'}]),
     'vms[0] "v": missing required field "host"'),
    (dc(vms=[{'name': 'v', 'host': 'h', 'power_state': 'on'}]),
     'vms[0] "v" power_state: "on" is not one of'),
    (dc(vms=[{'name': 'v', 'host': 'h',
              'disks': [{'datastore': 'a'}] * 16}]),
     'vms[0] "v" disks: at most 15 entries (got 16)'),
    (dc(vms=[{'name': 'v', 'host': 'h',
              'disks': [{'datastore': 'a', 'capacity_gb': 0}]}]),
     'vms[0] "v" disks[0] capacity_gb: must be more than 0 (got 0)'),
    (dc(vms=[{'name': 'v', 'host': 'h', 'disks': [{'datastore': 'a'}],
              'snapshots': [{'label': 's'}]}]),
     'vms[0] "v" snapshots[0]: unknown field "label"'),
    (dc(files=[{'datastore': 'a'}]),
     'files[0]: missing required field "path"'),
    (dc(files=[{'datastore': 'a', 'path': '../x.vmdk'}]),
     'files[0] path: must be a relative path ending in .vmdk'),
    (dc(files=[{'datastore': 'a', 'path': 'x.txt'}]),
     'files[0] path: must be a relative path ending in .vmdk'),
    (dc(files=[{'datastore': 'a', 'path': 'x-flat.vmdk'}]),
     'files[0] path: "x-flat.vmdk" is a data file name'),
    (dc(storage_profiles=[{'name': 'p', 'datastores': 'a'}]),
     'storage_profiles[0] "p" datastores: must be a list, not a string'),
    ({'storage_profiles': [{'description': 'x'}]},
     'storage_profiles[0]: missing required field "name"'),
]


@pytest.mark.parametrize('document,message', BAD, ids=[m for _, m in BAD])
def test_bad_topology_is_refused_naming_the_field(document, message):
    with pytest.raises(validate.InvalidTopology) as err:
        validate.check(document, 'bad.json')
    text = str(err.value)
    assert text.startswith('bad.json: ')
    assert message in text
    assert '\n' not in text


def test_first_problem_in_document_order_is_reported():
    document = dc(datastores=[{'name': 'a', 'type': 'X'},
                              {'name': 'b', 'type': 'Y'}])
    with pytest.raises(validate.InvalidTopology) as err:
        validate.check(document, 't.json')
    assert 'datastores[0] "a" type: "X"' in str(err.value)


def test_shipped_and_generated_topologies_are_valid(tmp_path):
    validate.check_file(os.path.join(TOPOLOGIES, 'sample.json'))
    out = subprocess.run(
        [sys.executable, os.path.join(TOPOLOGIES, 'generate.py'),
         '--datacenters', '2', '--clusters', '2', '--hosts', '3',
         '--datastores', '5', '--vms', '4', '--files', '6', '--seed', '7'],
        check=True, capture_output=True, text=True)
    validate.check(json.loads(out.stdout), 'generated')


def test_validator_command_line(tmp_path):
    good = os.path.join(TOPOLOGIES, 'sample.json')
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dc(vms=[{'name': 'v', 'host': 'h',
                                       'power_state': 'on'}])))
    not_json = tmp_path / 'broken.json'
    not_json.write_text('{"datacenters": [')
    script = os.path.join(TOPOLOGIES, 'validate.py')
    ok = subprocess.run([sys.executable, script, good],
                        capture_output=True, text=True)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, '', '')
    out = subprocess.run([sys.executable, script, good, str(bad),
                          str(not_json)], capture_output=True, text=True)
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith('%s: datacenters[0] "DC1" vms[0] "v" '
                               'power_state: "on"' % bad)
    assert lines[1].startswith('%s: not JSON: ' % not_json)


def test_vcsim_up_refuses_a_bad_topology_before_starting(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dc(datastores=[{'name': 'a',
                                              'capacity_gb': -5}])))
    state = tmp_path / 'state'
    env = dict(os.environ, VCSIM_PYTHON=sys.executable,
               VCSIM_STATE_DIR=str(state))
    out = subprocess.run([VCSIM_UP, str(bad)], capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 2
    assert out.stdout == ''
    assert out.stderr.splitlines() == [
        '%s: datacenters[0] "DC1" datastores[0] "a" capacity_gb: must be '
        'at least 0 (got -5)' % bad]
    assert not state.exists()


def _readme_tables():
    """{section heading: ({keys}, {required keys})} from the README."""
    with open(os.path.join(TOPOLOGIES, 'README.md')) as f:
        text = f.read()
    tables = {}
    for section in re.split(r'^### ', text, flags=re.M)[1:]:
        heading = section.splitlines()[0].strip()
        rows = re.findall(r'^\| `(\w+)` \| [^|]+ \| ([^|]+) \|', section,
                          flags=re.M)
        if rows:
            tables[heading] = ({k for k, _ in rows},
                               {k for k, d in rows if d.strip() == 'required'})
    return tables


def test_readme_tables_list_the_schema_keys():
    schema = validate.schema()
    defs = schema['$defs']
    sections = {
        'top level': schema,
        '`datacenters[]`': defs['datacenter'],
        '`clusters[]`': defs['cluster'],
        '`clusters[].ha`': defs['ha'],
        'hosts (`clusters[].hosts[]`, `standalone_hosts[]`)': defs['host'],
        '`datastores[]`': defs['datastore'],
        '`datastores[].mounts[]`': defs['mount'],
        '`vms[]`': defs['vm'],
        '`vms[].snapshots[]`': defs['snapshot'],
        '`vms[].disks[]`': defs['vm_disk'],
        '`storage_profiles[]` (top level and per datacenter)':
            defs['storage_profile'],
    }
    tables = _readme_tables()
    assert set(tables) == set(sections)
    for heading, definition in sections.items():
        keys, required = tables[heading]
        assert keys == set(definition['properties']), heading
        assert required == set(definition.get('required', [])), heading
        assert definition['additionalProperties'] is False, heading
    # files[] has the keys of vms[].disks[] ("same keys and rules").
    assert (set(defs['disk_file']['properties'])
            == set(defs['vm_disk']['properties']))

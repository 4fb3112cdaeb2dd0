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
import datetime
import json

import pytest

from cinder_vmware_ext.takeover import export_format as fmt
from cinder_vmware_ext.takeover import plan
from cinder_vmware_ext.takeover import records

GiB = records.GiB
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def disks():
    vm = records.AttachedVm('vm-1', 'legacy db', 'poweredOff')
    return [
        records.DiskRecord('ds', 'orphans/data 1.vmdk', capacity_bytes=GiB,
                           thin=False, pool='gold', backend_host='h@b#gold'),
        records.DiskRecord('ds', 'legacy/disk.vmdk', capacity_bytes=GiB,
                           uuid='u2', vm=vm, pool='gold',
                           backend_host='h@b#gold'),
        records.DiskRecord('ds', 'on/x.vmdk', capacity_bytes=GiB,
                           vm=records.AttachedVm('vm-2', 'on', 'poweredOn'),
                           uuid='u3', pool='gold', backend_host='h@b#gold'),
        records.DiskRecord('ds', 'bad.vmdk', is_descriptor=False,
                           pool='gold', backend_host='h@b#gold'),
    ]


def document():
    return fmt.build(disks(), 'h@b', 'vc.example', 'gold-type', now=NOW)


def test_round_trip():
    doc = document()
    again = fmt.loads(fmt.dumps(doc))
    assert again == doc
    assert again['version'] == fmt.VERSION
    assert [d['path'] for d in again['disks']] == sorted(
        d.path for d in disks())


def test_entry_fields():
    entry = {d['path']: d for d in document()['disks']}['legacy/disk.vmdk']
    assert entry['key'] == 'path:[ds] legacy/disk.vmdk@vm-1'
    assert entry['reference'] == {'source-id': 'u2'}
    assert entry['vm'] == {'name': 'legacy db', 'power_state': 'poweredOff',
                           'inventory_path': ''}
    assert entry['host'] == 'h@b#gold'
    assert entry['proposed']['name'] == 'legacy db-disk'
    assert entry['proposed']['volume_type'] == 'gold-type'
    assert entry['proposed']['metadata'][fmt.SOURCE_KEY] == entry['key']
    assert entry['safe_to_manage'] is True


@pytest.mark.parametrize('mutate, words', [
    (lambda d: d.update(version=99), 'version 99'),
    (lambda d: d.update(format='x'), 'not a takeover inventory'),
    (lambda d: d.update(disks={}), 'must be a list'),
    (lambda d: d['disks'][0].pop('host'), 'has no "host"'),
    (lambda d: d['disks'].append(dict(d['disks'][0])), 'appears twice'),
    # Types, checked by the JSON Schema: one line naming entry and field.
    (lambda d: d['disks'][0].update(safe_to_manage='false'),
     r'^disk #1 \(key path:\[ds\] bad.vmdk\): "safe_to_manage" must be a '
     r'boolean \(true or false\), not "false"\.$'),
    (lambda d: d['disks'][1].update(reference={'source-name': ['x']}),
     r'^disk #2 \(key .*\): "reference.source-name" must be a string, '
     r'not \["x"\]\.$'),
    (lambda d: d['disks'][1].update(reference={'source-name': ''}),
     r'"reference.source-name" must not be empty'),
    (lambda d: d['disks'][1].update(reference={'name': 'x'}),
     r'"reference" must be \{"source-name": "..."\} or'),
    (lambda d: d['disks'][1].update(reference={}),
     r'"reference" must be \{"source-name": "..."\} or'),
    (lambda d: d['disks'][2]['proposed'].update(metadata={'a': 1}),
     r'^disk #3 \(key .*\): "proposed.metadata.a" must be a string, '
     r'not 1\.$'),
    (lambda d: d['disks'][0].update(size_gb='2'),
     r'"size_gb" must be an integer'),
    (lambda d: d['disks'].append('x'), r'^disk #5 must be an object'),
])
def test_rejects(mutate, words):
    doc = document()
    mutate(doc)
    with pytest.raises(fmt.InvalidInventory, match=words):
        fmt.loads(json.dumps(doc))


def test_schema_is_published():
    """doc/takeover.md shows the schema readers use."""
    import os
    import re
    doc = os.path.join(os.path.dirname(__file__), '..', '..', 'doc',
                       'takeover.md')
    with open(doc, encoding='utf-8') as f:
        text = f.read()
    block = re.search(r'<!-- schema -->\n```json\n(.*?)\n```', text,
                      re.DOTALL)
    assert block, 'doc/takeover.md has no <!-- schema --> json block'
    assert json.loads(block.group(1)) == fmt.SCHEMA


def test_import_plan():
    doc = document()
    steps = {s.entry['path']: s for s in plan.import_steps(
        doc, managed={'path:[ds] legacy/disk.vmdk@vm-1': 'vol-9'})}
    assert steps['orphans/data 1.vmdk'].action == plan.MANAGE
    assert steps['legacy/disk.vmdk'].action == plan.SKIP
    assert 'vol-9' in steps['legacy/disk.vmdk'].reason
    assert steps['on/x.vmdk'].reason == 'not safe: attached to a ' \
        'powered-on VM'
    assert 'not a virtual disk' in steps['bad.vmdk'].reason


def test_release_plan():
    steps = plan.release_steps(
        document(), managed={'path:[ds] legacy/disk.vmdk@vm-1': 'vol-9'})
    actions = {s.entry['path']: (s.action, s.volume_id) for s in steps}
    assert actions['legacy/disk.vmdk'] == (plan.UNMANAGE, 'vol-9')
    assert actions['orphans/data 1.vmdk'][0] == plan.SKIP


def test_results_last_wins_and_torn_line():
    lines = [plan.result_line('a', plan.FAILED, 'boom'),
             plan.result_line('a', plan.MANAGED, volume_id='v'),
             plan.result_line('b', plan.SKIPPED, 'unsafe'),
             '{"key": "c", "sta']
    latest = plan.read_results(lines)
    assert latest['a']['status'] == plan.MANAGED
    assert set(latest) == {'a', 'b'}
    summary = plan.summary(latest.values())
    assert summary['counts'] == {plan.MANAGED: 1, plan.SKIPPED: 1}
    assert summary['details'][plan.SKIPPED] == [('b', 'unsafe')]


def _loose_and_attached():
    """The inventory's loose disk and attached disk (a UUID reference)."""
    doc = document()
    by_path = {d['path']: d for d in doc['disks']}
    return doc, by_path['orphans/data 1.vmdk'], by_path['legacy/disk.vmdk']


def test_import_refuses_one_disk_under_two_keys():
    doc, _loose, attached = _loose_and_attached()
    again = json.loads(json.dumps(attached))
    again['key'] = 'path:[ds] legacy/disk.vmdk@vm-7'
    again['reference'] = {'source-name': '[ds] legacy/disk.vmdk'}
    doc['disks'].append(again)
    with pytest.raises(plan.DuplicateDisk,
                       match=r'^disks #2 \(key path:\[ds\] legacy/disk.vmdk'
                             r'@vm-1\) and #5 \(key .*@vm-7\) both name '
                             r'\[ds\] legacy/disk.vmdk; '):
        plan.import_steps(doc, managed={})


def test_import_refuses_one_uuid_twice():
    doc, _loose, attached = _loose_and_attached()
    again = json.loads(json.dumps(attached))
    again.update(key='other', path='elsewhere/copy.vmdk')
    doc['disks'].append(again)
    with pytest.raises(plan.DuplicateDisk, match='both name u2'):
        plan.import_steps(doc, managed={})


def test_import_accepts_clones_sharing_a_uuid_by_path():
    doc, loose, _attached = _loose_and_attached()
    loose['uuid'] = 'u9'
    clone = json.loads(json.dumps(loose))
    clone.update(key='path:[ds] clone/data 1.vmdk', path='clone/data 1.vmdk',
                 reference={'source-name': '[ds] clone/data 1.vmdk'})
    doc['disks'].append(clone)
    actions = [s.action for s in plan.import_steps(doc, managed={})]
    assert actions.count(plan.MANAGE) == 3


def test_import_ignores_duplicates_it_would_not_manage():
    doc, loose, _attached = _loose_and_attached()
    twin = json.loads(json.dumps(loose))
    twin.update(key='twin', safe_to_manage=False, reason_not_safe='x')
    doc['disks'].append(twin)
    steps = {s.key: s.action for s in plan.import_steps(doc, managed={})}
    assert steps['twin'] == plan.SKIP
    # and one already managed is the driver's to refuse, not a duplicate
    steps = plan.import_steps(doc, managed={loose['key']: 'vol-1'})
    assert [s.action for s in steps if s.entry is loose] == [plan.SKIP]

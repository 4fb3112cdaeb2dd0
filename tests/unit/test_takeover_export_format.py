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
    assert entry['key'] == 'uuid:u2'
    assert entry['reference'] == {'source-id': 'u2'}
    assert entry['vm'] == {'name': 'legacy db', 'power_state': 'poweredOff',
                           'inventory_path': ''}
    assert entry['host'] == 'h@b#gold'
    assert entry['proposed']['name'] == 'legacy db-disk'
    assert entry['proposed']['volume_type'] == 'gold-type'
    assert entry['proposed']['metadata'][fmt.SOURCE_KEY] == 'uuid:u2'
    assert entry['safe_to_manage'] is True


@pytest.mark.parametrize('mutate, words', [
    (lambda d: d.update(version=99), 'version 99'),
    (lambda d: d.update(format='x'), 'not a takeover inventory'),
    (lambda d: d.update(disks={}), 'must be a list'),
    (lambda d: d['disks'][0].pop('host'), 'has no "host"'),
    (lambda d: d['disks'].append(dict(d['disks'][0])), 'appears twice'),
])
def test_rejects(mutate, words):
    doc = document()
    mutate(doc)
    with pytest.raises(fmt.InvalidInventory, match=words):
        fmt.loads(json.dumps(doc))


def test_import_plan():
    doc = document()
    steps = {s.entry['path']: s for s in plan.import_steps(
        doc, managed={'uuid:u2': 'vol-9'})}
    assert steps['orphans/data 1.vmdk'].action == plan.MANAGE
    assert steps['legacy/disk.vmdk'].action == plan.SKIP
    assert 'vol-9' in steps['legacy/disk.vmdk'].reason
    assert steps['on/x.vmdk'].reason == 'not safe: attached to a ' \
        'powered-on VM'
    assert 'not a virtual disk' in steps['bad.vmdk'].reason


def test_release_plan():
    steps = plan.release_steps(document(), managed={'uuid:u2': 'vol-9'})
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

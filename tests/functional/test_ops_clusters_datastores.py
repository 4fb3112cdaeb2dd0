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
"""``cinder-vmware datastore`` against the simulator: list/show figures
equal the driver's pool stats with the exact reason for each ineligible
datastore, browse, and drain/undrain seen by a running driver's pools."""

import json

import pytest

pytest.importorskip('tests.functional.driver_fixtures')

from cinder_vmware_ext.core import eligibility  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402
from tests.functional import test_takeover_tool as tool  # noqa: E402

G = [{'host': 'g1'}, {'host': 'g2'}]
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [
        {'name': 'gold', 'hosts': [{'name': 'g1'}, {'name': 'g2'}]},
        {'name': 'silver', 'hosts': [{'name': 's1'}]}],
    'datastores': [
        {'name': 'ds-a', 'type': 'VMFS', 'capacity_gb': 100, 'free_gb': 60,
         'mounts': G},
        {'name': 'ds-b', 'type': 'NFS', 'capacity_gb': 200, 'free_gb': 150,
         'mounts': G + [{'host': 's1'}]},
        {'name': 'ds-ro', 'type': 'VMFS', 'capacity_gb': 50, 'free_gb': 40,
         'mounts': [{'host': 'g1', 'access_mode': 'readOnly'}]},
        {'name': 'ds-other', 'type': 'OTHER', 'capacity_gb': 50,
         'free_gb': 50, 'mounts': G},
        {'name': 'x-skipped', 'type': 'VMFS', 'capacity_gb': 10,
         'free_gb': 10, 'mounts': G}],
    'vms': [
        {'name': 'vm-user', 'host': 'g1', 'power_state': 'poweredOff',
         'disks': [{'datastore': 'ds-a', 'path': 'vm-user/vm-user.vmdk',
                    'capacity_gb': 1, 'thin': True}]}],
    'files': [
        {'datastore': 'ds-b', 'path': 'loose/one.vmdk', 'capacity_gb': 1,
         'thin': True},
        {'datastore': 'ds-b', 'path': 'loose/deeper/two.vmdk',
         'capacity_gb': 1, 'thin': True}],
}]}

OPTIONS = dict(vmware_cluster_name=['gold', 'silver'],
               vmware_datastore_regex='^ds-.*', vmware_lazy_create=True)


@pytest.fixture(scope='module')
def env(sim, cinder_db, tmp_path_factory):
    drv = fx.make_driver(sim, **OPTIONS)
    yield drv, fx.write_cinder_conf(
        sim, tmp_path_factory.mktemp('conf') / 'cinder.conf', **OPTIONS)
    fx.close_driver(drv)


def listing(conf, *extra):
    code, out = tool.run(conf, 'datastore', 'list', '-f', 'json', *extra)
    assert code == 0, out
    return {r['Name']: r for r in json.loads(out)}


def stats(drv):
    return {p['pool_name']: p for p in
            drv.get_volume_stats(refresh=True)['pools']}


def test_list_figures_equal_the_driver_and_reasons(env):
    drv, conf = env
    rows = listing(conf)
    assert set(rows) == {'ds-a', 'ds-b', 'ds-ro', 'ds-other', 'x-skipped'}
    pools = stats(drv)
    for name in ('gold', 'silver'):
        eligible = [r for r in rows.values()
                    if 'eligible' == pool_of(r, name)]
        assert round(sum(r['Capacity (GiB)'] for r in eligible), 2) == \
            pools[name]['total_capacity_gb']
        assert round(sum(r['Free (GiB)'] for r in eligible), 2) == \
            pools[name]['free_capacity_gb']
    assert {n for n, r in rows.items() if pool_of(r, 'gold') == 'eligible'} \
        == {'ds-a', 'ds-b'}
    assert 'read-only on every usable host' in pool_of(rows['ds-ro'], 'gold')
    assert 'type OTHER' in pool_of(rows['ds-other'], 'gold')
    assert 'regex' in pool_of(rows['x-skipped'], 'gold')
    assert rows['ds-a']['VMs'] == 1
    # --pool narrows, an unknown pool is one line and exit 1
    assert set(listing(conf, '--pool', 'silver')) == {'ds-b'}
    code, _out = tool.run(conf, 'datastore', 'list', '--pool', 'bronze')
    assert code != 0


def pool_of(row, pool):
    for item in row['Pools'].split('; '):
        name, _, verdict = item.partition(': ')
        if name == pool:
            return verdict
    return None


def test_show_and_unknown_name(env, inv):
    _drv, conf = env
    code, out = tool.run(conf, 'datastore', 'show', 'ds-a', '-f', 'json')
    assert code == 0, out
    shown = json.loads(out)
    summary = inv.summary('ds-a')
    assert shown['Capacity (GiB)'] == summary.capacity * 100 // 2 ** 30 / 100
    assert 'vm-user' in shown['VMs']
    assert 'g1:readWrite' in shown['Host mounts']
    assert 'enabled=False' in shown['Storage I/O Control']
    code, _out = tool.run(conf, 'datastore', 'show', 'ds-nope')
    assert code != 0


def test_browse(env):
    _drv, conf = env
    code, out = tool.run(conf, 'datastore', 'browse', 'ds-b', 'loose',
                         '-f', 'json')
    assert code == 0, out
    names = {r['Path'] for r in json.loads(out)}
    assert 'one.vmdk' in names and 'deeper' in names
    code, out = tool.run(conf, 'datastore', 'browse', 'ds-b', '--recursive',
                         '--pattern', '*.vmdk', '-f', 'json')
    assert code == 0, out
    found = {(r['Folder'].rstrip('/'), r['Path']) for r in json.loads(out)}
    assert ('[ds-b] loose/deeper', 'two.vmdk') in found
    assert ('[ds-b] loose', 'one.vmdk') in found
    code, _out = tool.run(conf, 'datastore', 'browse', 'ds-b', '../etc')
    assert code != 0


def test_drain_and_undrain_seen_by_the_driver(env, inv):
    drv, conf = env
    before = stats(drv)
    code, out = tool.run(conf, 'datastore', 'drain', 'ds-b', '--dry-run')
    assert code == 0 and out.startswith('would mark'), out
    assert not listing(conf)['ds-b']['Drained']
    # The first drain of a vCenter defines the field: its answer lost and
    # the retry refused (DuplicateName), the field vCenter made is used.
    rule = inv.sim.inject_fault('AddCustomFieldDef', drop_connection=True,
                                applied=True, retry_fault='DuplicateName',
                                count=1)
    code, out = tool.run(conf, 'datastore', 'drain', 'ds-b')
    assert [r['fired'] for r in inv.sim.faults()
            if r['id'] == rule['id']] == [1]
    inv.sim.clear_faults()
    assert code == 0, out
    defs = inv.prop(inv.session.vim.service_content.customFieldsManager,
                    'field')
    assert [f.name for f in getattr(defs, 'CustomFieldDef', None) or []
            ].count('cinder-vmware.drained') == 1
    # the mark, read through an independent session
    fields = inv.prop(inv.by_name('Datastore', 'ds-b'), 'customValue')
    assert any(getattr(v, 'value', '') for v in
               getattr(fields, 'CustomFieldValue', None) or [])
    row = listing(conf)['ds-b']
    assert row['Drained'] is True
    assert pool_of(row, 'gold') == eligibility.DRAINED
    after = stats(drv)
    for name in ('gold', 'silver'):
        assert after[name]['total_capacity_gb'] == round(
            before[name]['total_capacity_gb'] - 200, 2)
    code, out = tool.run(conf, 'datastore', 'undrain', 'ds-b')
    assert code == 0, out
    assert not listing(conf)['ds-b']['Drained']
    assert stats(drv)['gold']['total_capacity_gb'] == \
        before['gold']['total_capacity_gb']

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
"""The takeover's listing cache, against the simulator.

The listing is reused across the pages of a pagination (counted with the
simulator's request statistics: no search and no property pass for a
later page), and what changes in vCenter between two pages shows on the
next call: a disk copied onto a datastore, a VM powered on, a disk
managed through the driver.
"""

import pytest

pytest.importorskip('tests.functional.driver_fixtures')

from oslo_vmware import vim_util  # noqa: E402

from cinder_vmware_ext.vsphere import disks as vdisks  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402

HOSTS = [{'host': 'esx-01'}, {'host': 'esx-02'}]
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'},
                                            {'name': 'esx-02'}]}],
    'datastores': [
        {'name': 'ds-%s' % x, 'type': 'VMFS', 'capacity_gb': 500,
         'free_gb': 400, 'mounts': HOSTS} for x in 'abc'],
    'vms': [
        {'name': 'vm-%d' % i, 'host': 'esx-01', 'power_state': 'poweredOff',
         'disks': [{'datastore': 'ds-a', 'path': 'vm-%d/vm-%d.vmdk' % (i, i),
                    'capacity_gb': 1, 'thin': True}]} for i in (1, 2)],
    'files': [
        {'datastore': 'ds-%s' % x, 'path': 'loose-%d/disk.vmdk' % i,
         'capacity_gb': 1, 'thin': True}
        for x in 'abc' for i in range(1, 5)],
}]}
HOST = 'functional@vmware'
SEARCH = 'SearchDatastoreSubFolders_Task'
LOOSE = 3 * 4


@pytest.fixture(scope='module')
def drv(sim, cinder_db):
    driver = fx.make_driver(sim, vmware_cluster_name=['gold'])
    yield driver
    fx.close_driver(driver)


def listing(drv, **kw):
    args = dict(marker=None, limit=1000, offset=0, sort_keys=['reference'],
                sort_dirs=['asc'])
    args.update(kw)
    return drv.get_manageable_volumes([], **args)


def by_path(entries):
    return {'[%s] %s' % (e['extra_info']['datastore'],
                         e['extra_info']['path']): e for e in entries}


def calls(sim, method):
    return sim.request_counts().get(method, 0)


def test_later_pages_reuse_the_listing(sim, drv):
    drv.takeover_listing().invalidate()
    sim.reset_stats()
    first = listing(drv, limit=5)
    assert calls(sim, SEARCH) == 3          # one per datastore
    passes = calls(sim, 'RetrievePropertiesEx')
    second = listing(drv, limit=5, offset=5)
    rest = listing(drv, limit=100, marker=second[-1]['reference'])
    assert calls(sim, SEARCH) == 3          # no search for later pages
    assert calls(sim, 'RetrievePropertiesEx') == passes
    pages = [by_path(p) for p in (first, second, rest)]
    assert [len(p) for p in pages] == [5, 5, LOOSE + 2 - 10]
    assert set().union(*pages) == set(by_path(listing(drv)))
    assert len(set().union(*pages)) == LOOSE + 2


def test_a_page_is_the_callers_own(drv):
    # Cinder's manage API changes the entries it gets (it adds and pops
    # fields); the listing kept for the next page must not see that.
    first = listing(drv, limit=3)
    for entry in first:
        entry['extra_info']['path'] = 'changed'
        entry['reference'].clear()
        entry['size'] = -1
    again = listing(drv, limit=3)
    assert [e['extra_info']['path'] for e in again] != ['changed'] * 3
    assert all(e['reference'] and e['size'] > 0 for e in again)


def test_a_disk_copied_between_pages_shows_on_the_next_call(sim, drv, inv):
    listing(drv, limit=5)
    sim.reset_stats()
    dc = inv.by_name('Datacenter', 'DC1')
    vdisks.copy(inv.session, dc, '[ds-b] loose-1/disk.vmdk',
                '[ds-b] loose-1/copy.vmdk')
    entries = by_path(listing(drv, limit=5, offset=5))   # a later page
    found = by_path(listing(drv))
    assert '[ds-b] loose-1/copy.vmdk' in found
    assert found['[ds-b] loose-1/copy.vmdk']['safe_to_manage'] is True
    assert len(found) == LOOSE + 3
    # Only the datastore that changed was searched again.
    assert calls(sim, SEARCH) == 1
    assert len(entries) == 5


def test_a_vm_powered_on_between_pages_shows_on_the_next_call(drv, inv):
    before = by_path(listing(drv))['[ds-a] vm-2/vm-2.vmdk']
    assert before['extra_info']['vm_power_state'] == 'poweredOff'
    session = inv.session
    task = session.invoke_api(session.vim, 'PowerOnVM_Task', inv.vm('vm-2'))
    session.wait_for_task(task)
    try:
        after = by_path(listing(drv))['[ds-a] vm-2/vm-2.vmdk']
        assert after['extra_info']['vm_power_state'] == 'poweredOn'
        assert after['safe_to_manage'] is False
    finally:
        session.wait_for_task(session.invoke_api(
            session.vim, 'PowerOffVM_Task', inv.vm('vm-2')))


def test_a_managed_disk_leaves_the_listing_at_once(sim, drv):
    path = '[ds-c] loose-2/disk.vmdk'
    assert by_path(listing(drv))[path]['safe_to_manage'] is True
    volume = fx.new_volume(fx.admin_context(), size=1,
                           host='%s#gold' % HOST)
    drv.manage_existing(volume, {'source-name': path})
    # Not offered any more: the disk stays where it is, now the volume's
    # (on its shadow VM), which the next listing says at once.
    found = by_path(listing(drv))
    managed = [p for p, e in found.items() if e['cinder_id'] == volume['id']]
    assert managed == [path]
    assert found[path]['safe_to_manage'] is False
    assert found[path]['extra_info']['vm'] == volume['name']
    drv.unmanage(volume)
    again = by_path(listing(drv))
    assert again[path]['safe_to_manage'] is True
    assert not [e for e in again.values() if e['cinder_id'] == volume['id']]


def test_the_listing_is_discovered_afresh_past_its_age(sim, drv):
    cache = drv.takeover_listing()
    listing(drv)
    sim.reset_stats()
    clock = cache._clock
    now = [clock()]
    cache._clock = lambda: now[0]
    try:
        listing(drv)
        assert calls(sim, SEARCH) == 0
        now[0] += drv.configuration.vmware_takeover_listing_max_age
        listing(drv)
        assert calls(sim, SEARCH) == 3
    finally:
        cache._clock = clock


def test_the_feed_names_only_what_changed(sim, inv):
    from cinder_vmware_ext.takeover import listing as tl
    from cinder_vmware_ext.vsphere import changes
    feed = changes.ChangeFeed(inv.session, tl.FEED_PROPERTIES)
    try:
        assert feed.poll() is None
        assert feed.poll() == set()
        session = inv.session
        vm = inv.vm('vm-1')
        changed = {('VirtualMachine', vim_util.get_moref_value(vm))}
        for method in ('PowerOnVM_Task', 'PowerOffVM_Task'):
            session.wait_for_task(session.invoke_api(session.vim, method,
                                                     vm))
            assert feed.poll() == changed
            assert feed.poll() == set()
    finally:
        feed.close()


def _plain(value):
    """A retrieve() value as plain data, to compare two answers."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, '_type') and hasattr(value, 'value'):
        return ('moref', value._type, value.value)
    if hasattr(value, '__dict__'):
        return (value.__class__.__name__,
                {k: _plain(v) for k, v in sorted(vars(value).items())})
    return value


def _answer(objects):
    return {value: (ref._type, {p: _plain(v) for p, v in props.items()})
            for value, (ref, props) in objects.items()}


def test_the_mirror_answers_as_a_whole_pass_does(sim, drv, inv):
    from cinder_vmware_ext.takeover import discovery
    from cinder_vmware_ext.vsphere import bulk_soap
    from cinder_vmware_ext.vsphere import mirror
    session = inv.session
    watched = mirror.ObjectMirror(session, discovery.PROPERTIES)

    def same():
        whole = _answer(bulk_soap.retrieve(session, discovery.PROPERTIES))
        assert _answer(watched.objects()) == whole
        return whole
    try:
        first = same()
        vm = inv.vm('vm-2')
        volume = fx.new_volume(fx.admin_context(), size=1,
                               host='%s#gold' % HOST)
        # A shadow VM made and a disk attached; a VM powered on, given a
        # snapshot, and back; the shadow VM destroyed by the unmanage.
        drv.manage_existing(volume, {'source-name':
                                     '[ds-b] loose-3/disk.vmdk'})
        managed = same()
        assert len(managed) == len(first) + 1
        session.wait_for_task(session.invoke_api(
            session.vim, 'PowerOnVM_Task', vm))
        same()
        session.wait_for_task(session.invoke_api(
            session.vim, 'CreateSnapshot_Task', vm, name='mirror-test',
            memory=False, quiesce=False))
        assert any(p.get('snapshot') for _t, p in same().values())
        tree = inv.prop(vm, 'snapshot').rootSnapshotList[0].snapshot
        session.wait_for_task(session.invoke_api(
            session.vim, 'RemoveSnapshot_Task', tree, removeChildren=True))
        session.wait_for_task(session.invoke_api(
            session.vim, 'PowerOffVM_Task', vm))
        same()
        drv.unmanage(volume)
        assert same() == first
    finally:
        watched.close()


def test_a_manage_reads_what_changed_not_the_whole_inventory(sim, drv):
    # A whole pass is one ContainerView made and destroyed around a
    # RetrievePropertiesEx; with the mirror warm a manage makes none (it
    # made four: the size check, the reference, the check under the
    # disk's lock, the other volumes' holds).
    drv.takeover_listing().objects()
    volume = fx.new_volume(fx.admin_context(), size=1,
                           host='%s#gold' % HOST)
    ref = {'source-name': '[ds-a] loose-4/disk.vmdk'}
    sim.reset_stats()
    assert drv.manage_existing_get_size(volume, ref) == 1
    drv.manage_existing(volume, ref)
    try:
        assert calls(sim, 'CreateContainerView') == 0
        assert calls(sim, 'WaitForUpdatesEx') >= 4
    finally:
        drv.unmanage(volume)

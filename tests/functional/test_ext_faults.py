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
"""Lost answers, dropped connections and stale references on the simulator.

vCenter runs a call and its answer is lost (``drop_connection`` with
``applied``): oslo.vmware retries.  Each test checks what vCenter holds
afterwards through a separate session and the disk files: one backing VM
per volume, one snapshot per Cinder snapshot, no temporary snapshot left,
a volume's disk file present and its data intact.
"""

import functools
import os

from oslo_service import loopingcall
from oslo_utils import units
import pytest

from cinder_vmware_ext.vsphere import bulk_soap
from tests.functional import driver_fixtures as df

PROJECT = 'faults-project'
OFFSET = 5 * units.Mi
GOLD = 'functional@vmware#gold'

TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [
        {"name": "gold", "hosts": [{"name": "esx-01"}, {"name": "esx-02"}]},
    ],
    "datastores": [
        {"name": "gold-ds", "type": "VMFS", "capacity_gb": 100,
         "free_gb": 80, "mounts": [{"host": "esx-01"}, {"host": "esx-02"}]},
    ],
    "vms": [
        {"name": "nova-01", "host": "esx-01", "power_state": "poweredOn",
         "disks": [{"datastore": "gold-ds", "path": "nova-01/nova-01.vmdk",
                    "capacity_gb": 1, "thin": True}]},
    ],
}]}


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    """oslo.vmware waits 10 s before retrying a call; make that 50 ms."""
    original = loopingcall.RetryDecorator

    class Fast(original):
        def __init__(self, max_retry_count=-1, inc_sleep_time=10,
                     max_sleep_time=60, exceptions=()):
            super().__init__(max_retry_count, 0.05, 0.1, exceptions)

    monkeypatch.setattr(loopingcall, 'RetryDecorator', Fast)
    monkeypatch.setattr(bulk_soap, 'RETRY_DELAY', 0.05)


@pytest.fixture(scope='module')
def drivers(sim, cinder_db):
    made = {}

    def get(snapshot_format='COW'):
        if snapshot_format not in made:
            # Eager create (vmware_lazy_create=False): these tests read
            # or write the backing right after create_volume.
            made[snapshot_format] = df.make_driver(
                sim, vmware_snapshot_format=snapshot_format,
                vmware_lazy_create=False)
        return made[snapshot_format]

    yield get
    for drv in made.values():
        df.close_driver(drv)


@pytest.fixture
def driver(drivers, sim):
    yield drivers()
    sim.clear_faults()


@pytest.fixture
def template_driver(drivers, sim):
    yield drivers('template')
    sim.clear_faults()


# --- helpers -----------------------------------------------------------------

def new_volume(ctx, size=1, project=PROJECT, **specs):
    return df.new_volume(ctx, size=size, type_id=df.volume_type(ctx, **specs),
                         project_id=project, host=GOLD)


def create_volume(driver, ctx, **specs):
    vol = new_volume(ctx, **specs)
    driver.create_volume(vol)
    return vol


def snapshot_volume(driver, ctx, volume):
    snap = df.new_snapshot(ctx, volume)
    update = driver.create_snapshot(snap)
    if update:
        snap.update(update)
        snap.save()
    return snap


def vms_named(inv, name):
    return [v['_ref'] for v in inv.objects('VirtualMachine', 'name').values()
            if v.get('name') == name]


def only_backing(inv, volume):
    """The one VM named after the volume (a duplicate fails the test)."""
    found = vms_named(inv, volume.name)
    assert len(found) == 1, (volume.name, found)
    return found[0]


def local_disk(inv, vm):
    return inv.local_path(inv.disk(vm).backing.fileName)


def write(inv, vm, seed):
    data = df.pattern(seed)
    df.write_data(local_disk(inv, vm), OFFSET, data)
    return data


def read(inv, vm):
    return df.read_data(local_disk(inv, vm), inv.sim.datastore_root, OFFSET,
                        64 * units.Ki)


def lose_answer(sim, method, **match):
    """vCenter runs the next ``method`` call, then the connection drops."""
    return sim.inject_fault(method, drop_connection=True, applied=True,
                            count=1, **match)


def lose_answer_refuse_retry(sim, method, fault, task=True, **match):
    """Lose the next call's answer and refuse its retry.

    vCenter runs the next ``method`` call, the answer is lost, and a
    retry is refused (with ``fault``) as vCenter refuses a repeated
    change.
    """
    rule = lose_answer(sim, method, **match)
    sim.inject_fault(method, fault, task=task, count=1, **match)
    return rule


def fired(sim, rule):
    return next(r['fired'] for r in sim.faults() if r['id'] == rule['id'])


# --- 1. creates survive a lost answer: nothing twice -------------------------

def test_create_volume_answer_lost_makes_one_backing(driver, ctx, inv, sim):
    vol = new_volume(ctx)
    rule = lose_answer(sim, 'CreateVM_Task', body_contains=vol.id)

    driver.create_volume(vol)

    assert fired(sim, rule) == 1
    vm = only_backing(inv, vol)
    assert inv.prop(vm, 'config.instanceUuid') == vol.id
    assert inv.extra_config(vm)['cinder.volume.id'] == vol.id
    assert os.path.exists(local_disk(inv, vm))


def test_full_clone_answer_lost_makes_one_clone(driver, ctx, inv, sim):
    src = create_volume(driver, ctx)
    data = write(inv, only_backing(inv, src), 'clone-lost')
    vol = new_volume(ctx)
    rule = lose_answer(sim, 'CloneVM_Task', body_contains=vol.id)

    driver.create_cloned_volume(vol, src)

    assert fired(sim, rule) == 1
    vm = only_backing(inv, vol)
    assert inv.extra_config(vm)['cinder.volume.id'] == vol.id
    assert read(inv, vm) == data


def test_cow_snapshot_answer_lost_makes_one_snapshot(driver, ctx, inv, sim):
    vol = create_volume(driver, ctx)
    vm = only_backing(inv, vol)
    rule = lose_answer(sim, 'CreateSnapshot_Task', moref=vm.value)

    snap = snapshot_volume(driver, ctx, vol)

    assert fired(sim, rule) == 1
    assert inv.snapshot_names(vm) == [snap.name]
    current = inv.prop(vm, 'snapshot').currentSnapshot
    assert snap.provider_id == '%s/%s' % (vm.value, current.value)


def test_template_snapshot_answer_lost_makes_one_template(template_driver,
                                                          ctx, inv, sim):
    vol = create_volume(template_driver, ctx)
    data = write(inv, only_backing(inv, vol), 'template-lost')
    snap = df.new_snapshot(ctx, vol)
    rule = lose_answer(sim, 'CloneVM_Task', body_contains=snap.name)

    update = template_driver.create_snapshot(snap)

    assert fired(sim, rule) == 1
    found = vms_named(inv, snap.name)
    assert len(found) == 1, found
    assert update['provider_id'] == found[0].value
    assert read(inv, found[0]) == data


def test_cow_snapshot_delete_answer_lost_succeeds(driver, ctx, inv, sim):
    vol = create_volume(driver, ctx)
    vm = only_backing(inv, vol)
    snap = snapshot_volume(driver, ctx, vol)
    rule = lose_answer(sim, 'RemoveSnapshot_Task',
                       moref=snap.provider_id.split('/')[1])

    driver.delete_snapshot(snap)

    assert fired(sim, rule) == 1
    assert inv.snapshot_names(vm) == []


@pytest.mark.parametrize('method', ['CreateSnapshot_Task', 'CloneVM_Task',
                                    'RemoveSnapshot_Task'])
def test_linked_clone_answer_lost_leaves_no_temporary_snapshot(
        driver, ctx, inv, sim, caplog, method):
    src = create_volume(driver, ctx)
    src_vm = only_backing(inv, src)
    data = write(inv, src_vm, 'linked-lost-' + method)
    vol = new_volume(ctx, clone_type='linked')
    # RemoveSnapshot_Task's target is the (temporary) snapshot itself.
    rule = lose_answer(sim, method, **(
        {} if method == 'RemoveSnapshot_Task' else {'moref': src_vm.value}))

    driver.create_cloned_volume(vol, src)

    assert fired(sim, rule) == 1
    assert inv.snapshot_names(src_vm) == []
    vm = only_backing(inv, vol)
    assert read(inv, vm) == data
    assert 'left behind' not in caplog.text


def test_failed_create_names_volume_step_and_fault(driver, ctx, inv, sim):
    vol = new_volume(ctx)
    sim.inject_fault('CreateVM_Task', 'InvalidDeviceSpec', task=True,
                     count=1, body_contains=vol.id,
                     message='*types.InvalidDeviceSpec')

    with pytest.raises(Exception) as err:
        driver.create_volume(vol)

    assert str(err.value).startswith(
        'Creating backing VM %s failed: vCenter fault InvalidDeviceSpec'
        % vol.name), str(err.value)
    assert '*types' not in str(err.value)
    assert vms_named(inv, vol.name) == []


@pytest.mark.parametrize('what', ['volume', 'template snapshot'])
def test_delete_answer_lost_succeeds(template_driver, ctx, inv, sim, what):
    vol = create_volume(template_driver, ctx)
    if what == 'volume':
        gone = only_backing(inv, vol)
        delete = functools.partial(template_driver.delete_volume, vol)
    else:
        snap = snapshot_volume(template_driver, ctx, vol)
        gone = vms_named(inv, snap.name)[0]
        delete = functools.partial(template_driver.delete_snapshot, snap)
    rule = lose_answer(sim, 'Destroy_Task', moref=gone.value)

    delete()

    assert fired(sim, rule) == 1
    assert gone.value not in inv.objects('VirtualMachine')


def test_template_snapshot_mark_answer_lost(template_driver, ctx, inv, sim):
    vol = create_volume(template_driver, ctx)
    data = write(inv, only_backing(inv, vol), 'mark-lost')
    snap = df.new_snapshot(ctx, vol)
    rule = lose_answer_refuse_retry(sim, 'MarkAsTemplate', 'InvalidState',
                                    task=False)

    template_driver.create_snapshot(snap)

    assert fired(sim, rule) == 1
    (template,) = vms_named(inv, snap.name)
    assert inv.prop(template, 'config.template') is True
    assert read(inv, template) == data


def test_linked_clone_of_template_unmark_answer_lost(template_driver, ctx,
                                                     inv, sim):
    vol = create_volume(template_driver, ctx)
    data = write(inv, only_backing(inv, vol), 'unmark-lost')
    snap = snapshot_volume(template_driver, ctx, vol)
    (template,) = vms_named(inv, snap.name)
    clone = new_volume(ctx, clone_type='linked')
    rule = lose_answer_refuse_retry(sim, 'MarkAsVirtualMachine',
                                    'InvalidState', task=False)

    template_driver.create_volume_from_snapshot(clone, snap)

    assert fired(sim, rule) == 1
    assert inv.prop(template, 'config.template') is True
    assert inv.snapshot_names(template) == ['linked-clone-base']
    vm = only_backing(inv, clone)
    assert len(df.disk_chain(local_disk(inv, vm), sim.datastore_root)) == 2
    assert read(inv, vm) == data


# --- 2. disk replacement: look before deleting anything ----------------------

def swap_answer_lost(sim, vm, refuse_retry):
    """Lose the disk swap's answer once it is applied.

    The disk swap (the backing's first ReconfigVM_Task) is applied and
    its answer lost; with ``refuse_retry`` a retry fails as vCenter fails
    the removal of a device that is gone.
    """
    # Only the swap removes a device (not the disk UUID update after it).
    match = dict(moref=vm.value, body_contains='>remove<')
    if refuse_retry:
        return lose_answer_refuse_retry(sim, 'ReconfigVM_Task',
                                        'InvalidDeviceSpec', **match)
    return lose_answer(sim, 'ReconfigVM_Task', **match)


@pytest.mark.parametrize('refuse_retry', [False, True])
def test_template_revert_swap_answer_lost(template_driver, ctx, inv, sim,
                                          refuse_retry):
    driver = template_driver
    vol = create_volume(driver, ctx)
    vm = only_backing(inv, vol)
    base = local_disk(inv, vm)
    data = write(inv, vm, 'revert-lost')
    snap = snapshot_volume(driver, ctx, vol)
    write(inv, vm, 'revert-lost-later')
    rule = swap_answer_lost(sim, vm, refuse_retry)

    driver.revert_to_snapshot(ctx, vol, snap)

    assert fired(sim, rule) == 1
    top = local_disk(inv, vm)
    assert top != base
    assert os.path.exists(df.data_file(top))
    assert read(inv, vm) == data
    assert not os.path.exists(base)


@pytest.mark.parametrize('refuse_retry', [False, True])
def test_linked_clone_extend_swap_answer_lost(driver, ctx, inv, sim,
                                              refuse_retry):
    src = create_volume(driver, ctx)
    data = write(inv, only_backing(inv, src), 'extend-lost')
    vol = new_volume(ctx, clone_type='linked')
    driver.create_cloned_volume(vol, src)
    vm = only_backing(inv, vol)
    delta = local_disk(inv, vm)
    assert len(df.disk_chain(delta, sim.datastore_root)) == 2
    rule = swap_answer_lost(sim, vm, refuse_retry)

    driver.extend_volume(vol, 2)

    assert fired(sim, rule) == 1
    top = local_disk(inv, vm)
    assert df.disk_chain(top, sim.datastore_root) == [top]
    assert inv.disk(vm).capacityInKB == 2 * units.Mi
    assert read(inv, vm) == data
    assert not os.path.exists(delta)
    assert read(inv, only_backing(inv, src)) == data


def test_failed_swap_keeps_the_old_disk(template_driver, ctx, inv, sim):
    driver = template_driver
    vol = create_volume(driver, ctx)
    vm = only_backing(inv, vol)
    base = local_disk(inv, vm)
    snap = snapshot_volume(driver, ctx, vol)
    later = write(inv, vm, 'swap-refused')
    files = sorted(os.listdir(os.path.dirname(base)))
    sim.inject_fault('ReconfigVM_Task', 'InvalidDeviceSpec', task=True,
                     moref=vm.value, count=1)

    with pytest.raises(Exception) as err:
        driver.revert_to_snapshot(ctx, vol, snap)

    assert vol.id in str(err.value) and 'InvalidDeviceSpec' in str(err.value)
    assert local_disk(inv, vm) == base
    assert read(inv, vm) == later
    assert sorted(os.listdir(os.path.dirname(base))) == files


# --- 3. raw SOAP: re-login and one retry -------------------------------------

def test_create_survives_two_dropped_inventory_reads(driver, ctx, inv, sim):
    vol = new_volume(ctx)
    rule = sim.inject_fault('WaitForUpdatesEx', drop_connection=True,
                            count=2)

    driver.create_volume(vol)

    assert fired(sim, rule) == 2
    only_backing(inv, vol)


@pytest.mark.parametrize('fault', [
    dict(drop_connection=True), dict(fault='NotAuthenticated')])
def test_manageable_listing_survives_a_lost_session_or_connection(
        driver, sim, fault):
    # A fresh search, not the listing an earlier case left in the cache.
    driver.takeover_listing().invalidate()
    rule = sim.inject_fault('SearchDatastoreSubFolders_Task', count=1,
                            **fault)

    listed = driver.get_manageable_volumes([], None, 1000, 0, ['size'],
                                           ['asc'])

    assert fired(sim, rule) == 1
    assert 'nova-01/nova-01.vmdk' in repr(listed), listed


# --- 4. a deleted project folder is made again -------------------------------

def test_create_after_the_project_folder_was_deleted(driver, ctx, inv, sim):
    project = 'folder-gone'
    first = create_volume(driver, ctx, project=project)
    vm = only_backing(inv, first)
    folder = inv.prop(vm, 'parent')
    project_folder = inv.prop(folder, 'parent')
    assert inv.name_of(project_folder) == 'Project (%s)' % project
    driver.delete_volume(first)
    # Leaf first: vCenter destroys a folder with its subfolders; this
    # simulator's Destroy_Task of a folder leaves subfolders registered.
    for gone in (folder, project_folder):
        task = inv.session.invoke_api(inv.session.vim, 'Destroy_Task', gone)
        inv.session.wait_for_task(task)
    assert inv.by_name('Folder', 'Project (%s)' % project) is None

    second = create_volume(driver, ctx, project=project)

    vm = only_backing(inv, second)
    rebuilt = inv.prop(inv.prop(vm, 'parent'), 'parent')
    assert inv.name_of(rebuilt) == 'Project (%s)' % project
    assert rebuilt.value != project_folder.value


# --- 5. a datastore regex matching nothing -----------------------------------

def test_datastore_regex_matching_nothing_is_reported(sim, ctx, caplog):
    # Eager: create_volume itself must meet the empty pool.
    drv = df.make_driver(sim, vmware_datastore_regex='nomatch-.*',
                         vmware_lazy_create=False)
    try:
        # cinder-volume keeps starting: a matching datastore may come.
        assert 'vmware_datastore_regex nomatch-.* matches no datastore' in \
            caplog.text
        assert [r.levelname for r in caplog.records
                if 'matches no datastore' in r.getMessage()] == ['ERROR']
        stats = drv.get_volume_stats(refresh=True)
        assert [p['free_capacity_gb'] for p in stats['pools']] == [0]
        vol = new_volume(ctx)

        with pytest.raises(Exception) as err:
            drv.create_volume(vol)

        assert ('Pool gold: pool has no eligible datastore: regex '
                'nomatch-.* matches none') in str(err.value)
    finally:
        df.close_driver(drv)

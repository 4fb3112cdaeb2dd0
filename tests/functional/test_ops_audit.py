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
"""``cinder-vmware audit [--clean]`` against the simulator.

The leftovers are made by the real driver (lazy create) failing under the
simulator's fault injector, plus a file under upstream's temporary image
folder; the audit must list exactly them, change nothing without
``--clean``, and ``--clean`` must remove only what nothing references.
Effects are read through a separate session and the datastore files.
"""

import io
import json
import os

import pytest

pytest.importorskip('tests.functional.driver_fixtures')

from oslo_vmware import exceptions as vexc  # noqa: E402

from cinder_vmware_ext.cmd import audit as audit_cmd  # noqa: E402
from cinder_vmware_ext.cmd import main as cli  # noqa: E402
from cinder_vmware_ext.core import audit  # noqa: E402
from cinder_vmware_ext.takeover import export_format  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402
from tests.functional import test_ops_disks_snapshots as ops  # noqa: E402

# Its own host: other modules' volumes share the session's database but
# not this backend, so they must stay out of the audit.
GOLD = 'audit@vmware#gold'
LEFTOVER = '[gold-ds] cinder_temp/0b1c-image.vmdk'
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'}]}],
    'datastores': [{'name': 'gold-ds', 'capacity_gb': 100, 'free_gb': 80,
                    'mounts': [{'host': 'esx-01'}]}],
    'vms': [{'name': 'nova-01', 'host': 'esx-01', 'power_state': 'poweredOn',
             'disks': [{'datastore': 'gold-ds', 'capacity_gb': 0.01}]}],
    'files': [{'datastore': 'gold-ds', 'path': 'cinder_temp/0b1c-image.vmdk',
               'capacity_gb': 0.01, 'thin': True}],
}]}


class DatabaseView(object):
    """Read Cinder's volumes and snapshots from the test database.

    Cinder's volumes and snapshots read from the test's database (what
    cinderclient answers in production).
    """

    def __init__(self, backends):
        self.backends = backends

    def volumes(self):
        from cinder import objects
        return {v.id: audit.VolumeFacts(
            v.status, v.attach_status or 'detached',
            export_format.SOURCE_KEY in (v.metadata or {}),
            audit_cmd.on_backend(v.host, v.cluster_name, self.backends))
            for v in objects.VolumeList.get_all(fx.admin_context())}

    def snapshots(self):
        from cinder import objects
        return {s.id for s in objects.SnapshotList.get_all(
            fx.admin_context(), filters={})}


def run(conf, *argv):
    app = cli.CinderVmwareApp()
    out, err = io.StringIO(), io.StringIO()
    app.stdout, app.stderr = out, err
    app.cinder_view_factory = DatabaseView
    code = app.run(['--config-file', conf] + list(argv) + ['-f', 'json'])
    return code, json.loads(out.getvalue() or '[]'), err.getvalue()


@pytest.fixture(scope='module')
def conf(sim, tmp_path_factory):
    return fx.write_cinder_conf(
        sim, tmp_path_factory.mktemp('conf') / 'cinder.conf', host='audit')


@pytest.fixture(scope='module')
def drivers(sim, cinder_db):
    cow = fx.make_driver(sim, vmware_lazy_create=True)
    template = fx.make_driver(sim, vmware_lazy_create=True,
                              vmware_snapshot_format='template')
    yield cow, template
    fx.close_driver(cow)
    fx.close_driver(template)


def fail(sim, method, moref):
    return sim.inject_fault(method, 'SystemError', task=True, moref=moref)


@pytest.fixture(scope='module')
def estate(sim, inv, drivers):
    """Leftovers, each made by a driver flow the injector broke."""
    cow, template = drivers
    ctx = fx.admin_context()
    made = {}
    backed = lambda drv: ops.backed_volume(drv, ctx, inv, GOLD)  # noqa: E731

    # A live volume and its snapshot: nothing to report.
    live = backed(cow)
    ops.cinder_snapshot(cow, ctx, live)

    # 1. A backing whose delete failed; Cinder's record went anyway.
    shadow = backed(cow)
    fail(sim, 'Destroy_Task', inv.vm(shadow.name).value)
    with pytest.raises(vexc.VimException):
        cow.delete_volume(shadow)
    shadow.destroy()
    sim.clear_faults()
    made['shadow'] = shadow

    # 2. A linked clone that failed, whose temporary snapshot could not be
    # removed; its record went (an errored one the driver heals itself).
    source = backed(cow)
    clone = fx.new_volume(ctx, host=GOLD, source_volid=source.id,
                          type_id=fx.volume_type(ctx, clone_type='linked'))
    fail(sim, 'CloneVM_Task', inv.vm(source.name).value)
    sim.inject_fault('RemoveSnapshot_Task', 'SystemError', task=True)
    with pytest.raises(Exception):
        cow.create_cloned_volume(clone, source)
    sim.clear_faults()
    clone.destroy()
    made['source'], made['clone'] = source, clone

    # 3. A template snapshot whose delete failed; Cinder's record went.
    vol = backed(template)
    tsnap = ops.cinder_snapshot(template, ctx, vol)
    fail(sim, 'Destroy_Task', inv.vm(tsnap.name).value)
    with pytest.raises(Exception):
        template.delete_snapshot(tsnap)
    sim.clear_faults()
    tsnap.destroy()
    made['template'] = tsnap

    # 4. A template snapshot whose record went while a linked clone still
    # uses its disk: listed, never cleaned.
    vol2 = backed(template)
    used = ops.cinder_snapshot(template, ctx, vol2)
    linked = fx.new_volume(ctx, host=GOLD, type_id=fx.volume_type(
        ctx, clone_type='linked'))
    update = template.create_volume_from_snapshot(linked, used)
    if update:
        linked.update(update)
        linked.save()
    used.destroy()
    made['used'], made['linked'] = used, linked

    # 5. An attached volume whose backing someone destroyed in vCenter.
    gone = backed(cow)
    gone.status, gone.attach_status = 'in-use', 'attached'
    gone.save()
    inv.session.wait_for_task(inv.session.invoke_api(
        inv.session.vim, 'Destroy_Task', inv.vm(gone.name)))
    made['gone'] = gone

    # Not a leftover: an attached volume of another backend (its disk is
    # elsewhere), and one of another service in a Cinder cluster this
    # backend is not part of.
    made['elsewhere'] = fx.new_volume(ctx, host='other@lvm#lvm',
                                      status='in-use')
    made['clustered'] = fx.new_volume(ctx, host='audit-2@vmware#gold',
                                      cluster_name='other@vmware#gold',
                                      status='in-use')
    for vol in (made['elsewhere'], made['clustered']):
        vol.attach_status = 'attached'
        vol.save()
    return made


def kinds(rows):
    return sorted((r['Kind'], r['Name']) for r in rows)


def test_audit_finds_exactly_the_leftovers(conf, estate, inv):
    names_before = sorted(inv.vm_names())
    code, rows, err = run(conf, 'audit')
    assert code == 0, err
    e = estate
    assert kinds(rows) == sorted([
        (audit.SHADOW_VM, e['shadow'].name),
        (audit.TEMP_SNAPSHOT, 'temp-snapshot-%s' % e['clone'].id),
        (audit.TEMPLATE_SNAPSHOT, e['template'].name),
        (audit.TEMPLATE_SNAPSHOT, e['used'].name),
        (audit.MISSING_BACKING, e['gone'].id),
        (audit.UPLOAD_LEFTOVER, LEFTOVER)])
    clean = {r['Name']: r['Clean'] for r in rows}
    assert clean[e['used'].name].startswith('no: its disk')
    assert clean[e['gone'].id].startswith('no: a Cinder record')
    assert clean[e['shadow'].name] == audit.DESTROY_VM
    # Dry by default: nothing changed.
    assert sorted(inv.vm_names()) == names_before
    code, rows, _err = run(conf, 'audit', '--clean', '--dry-run')
    assert code == 0 and sorted(inv.vm_names()) == names_before
    assert {r['Result'] for r in rows} >= {'would destroy-vm'}


def test_audit_clean_removes_only_what_nothing_references(conf, estate,
                                                          inv, sim):
    e = estate
    shadow_dir = sim.datastore_path('gold-ds', e['shadow'].name)
    linked_vm = inv.vm(e['linked'].name)
    linked_chain = fx.disk_chain(inv.local_path(
        inv.disk(linked_vm).backing.fileName), sim.datastore_root)
    code, rows, err = run(conf, 'audit', '--clean')
    assert code == 0, err
    results = {r['Name']: r['Result'] for r in rows}
    assert results[e['shadow'].name] == 'removed'
    assert inv.vm(e['shadow'].name) is None
    assert not os.path.exists(shadow_dir) or not any(
        f.endswith('.vmdk') for f in os.listdir(shadow_dir))
    assert inv.snapshot_names(inv.vm(e['source'].name)) == []
    assert inv.vm(e['template'].name) is None
    assert not os.path.exists(inv.local_path(LEFTOVER))
    # Kept: the template a linked clone reads through, every file of
    # the clone's chain, the live volume, the non-Cinder VM.
    assert inv.vm(e['used'].name) is not None
    assert all(os.path.exists(f) for f in linked_chain)
    assert inv.vm('nova-01') is not None
    code, rows, _err = run(conf, 'audit')
    assert kinds(rows) == sorted([
        (audit.TEMPLATE_SNAPSHOT, e['used'].name),
        (audit.MISSING_BACKING, e['gone'].id)])

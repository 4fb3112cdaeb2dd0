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
"""``cinder-vmware takeover`` against the simulator.

discover and export read vCenter through a real cinder.conf backend
section; import and release run against the driver through ``DriverApi``
(the manage flow Cinder's volume manager runs, on a real SQLite Cinder
database) until the e2e Cinder stack is available.
"""

import io
import json
import threading

import pytest
import yaml

pytest.importorskip('tests.functional.driver_fixtures')

from cinder_vmware_ext.cmd import main as cli  # noqa: E402
from cinder_vmware_ext.takeover import export_format  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402
from tests.functional import test_takeover_driver as topo  # noqa: E402
from tests import simulator as vcsim  # noqa: E402

SAFE = {'[ds-gold] orphans/data 1.vmdk', '[ds-gold] orphans/dätä [x].vmdk',
        '[ds-gold] vm-off/vm-off.vmdk', '[ds-silver] far/silver disk.vmdk',
        '[ds-gold] orphans/old.vmdk', '[ds-gold] vm-share-b/b.vmdk'}


class Interrupted(BaseException):
    """Stands for a crash or ^C in the middle of an import."""


class DriverApi(object):
    """Cinder's manage/unmanage flow, run on the driver directly."""

    def __init__(self, drv, crash_after=None):
        # One call at a time: the test's SQLite database takes one writer
        # (Cinder's API would take them all).
        self.lock = threading.RLock()
        self.drv = drv
        self.crash_after = crash_after
        self.calls = 0

    def _volumes(self):
        from cinder import objects
        return objects.VolumeList.get_all(fx.admin_context())

    def managed(self):
        return {v.metadata.get(export_format.SOURCE_KEY): v.id
                for v in self._volumes()
                if v.metadata.get(export_format.SOURCE_KEY) and
                v.status not in ('error_managing', 'deleted')}

    def manage(self, entry):
        with self.lock:
            return self._manage(entry)

    def _manage(self, entry):
        from cinder import objects
        self.calls += 1
        if self.crash_after is not None and self.calls > self.crash_after:
            raise Interrupted()
        ctx = fx.admin_context()
        vol = objects.Volume(
            ctx, size=0, host=entry['host'], status='managing',
            volume_type_id=fx.volume_type(ctx), project_id='demo-project',
            user_id='demo-user', attach_status='detached',
            display_name=entry['proposed']['name'],
            metadata=entry['proposed']['metadata'])
        vol.create()
        try:
            vol.size = self.drv.manage_existing_get_size(vol,
                                                         entry['reference'])
            self.drv.manage_existing(vol, entry['reference'])
            vol.status = 'available'
        except Exception:
            vol.status = 'error_managing'
        vol.save()
        return vol.id

    def wait(self, volume_id):
        from cinder import objects
        vol = objects.Volume.get_by_id(fx.admin_context(), volume_id)
        return (vol.status == 'available',
                None if vol.status == 'available' else vol.status)

    def unmanage(self, volume_id):
        with self.lock:
            self._unmanage(volume_id)

    def _unmanage(self, volume_id):
        from cinder import objects
        vol = objects.Volume.get_by_id(fx.admin_context(), volume_id)
        self.drv.unmanage(vol)
        vol.destroy()

    def gone(self, volume_id):
        return True, None


def run(conf, *argv, api=None):
    app = cli.CinderVmwareApp()
    out = io.StringIO()
    app.stdout = out
    if api is not None:
        app.cinder_api_factory = lambda: api
    code = app.run(['--config-file', conf] + list(argv))
    return code, out.getvalue()


@pytest.fixture
def env(tmp_path):
    sim = vcsim.Simulator.start(topo.TOPOLOGY, workdir=str(tmp_path))
    fx.init_cinder(str(tmp_path))
    inv = fx.Inventory(sim)
    try:
        topo._write_extras(sim)
        topo._share_disk(inv)
        drv = fx.make_driver(sim, **topo.OPTIONS)
        conf = fx.write_cinder_conf(sim, tmp_path / 'cinder.conf',
                                    **topo.OPTIONS)
        yield sim, drv, inv, conf
        fx.close_driver(drv)
    finally:
        inv.close()
        sim.stop()


def test_discover_formats(env):
    _sim, drv, _inv, conf = env
    code, out = run(conf, 'takeover', 'discover', '-f', 'json')
    assert code == 0
    rows = json.loads(out)
    paths = {'[%s] %s' % (r['Datastore'], r['Path']): r for r in rows}
    listed = {'[%s] %s' % (e['extra_info']['datastore'],
                           e['extra_info']['path']): e
              for e in drv.get_manageable_volumes([], None, 1000, 0,
                                                  ['size'], ['asc'])}
    assert set(paths) == set(listed)
    for path, row in paths.items():
        assert row['Safe'] == listed[path]['safe_to_manage']
        assert (row['Reason not safe'] or None) == \
            listed[path]['reason_not_safe']
    code, out = run(conf, 'takeover', 'discover', '-f', 'csv',
                    '--safe-only')
    assert code == 0 and len(out.strip().splitlines()) == 1 + len(SAFE)
    # yaml writes every row (the disk UUIDs come from suds as Text, which
    # yaml's safe dumper refused), and the reference names its key.
    code, out = run(conf, 'takeover', 'discover', '-f', 'yaml')
    assert code == 0
    yaml_rows = yaml.safe_load(out)
    assert len(yaml_rows) == len(rows)
    for row in yaml_rows:
        key, _, value = row['Reference'].partition('=')
        assert key in ('source-id', 'source-name') and value, row
    assert any(r['Reference'].startswith('source-id=') for r in yaml_rows)


def test_export_import_release(env, tmp_path):
    sim, drv, inv, conf = env
    inventory = str(tmp_path / 'inventory.json')
    code, out = run(conf, 'takeover', 'export', inventory,
                    '--volume-type', 'gold')
    assert code == 0, out
    with open(inventory, encoding='utf-8') as f:
        document = export_format.loads(f.read())
    entries = {'[%s] %s' % (d['datastore'], d['path']): d
               for d in document['disks']}
    assert {p for p, d in entries.items() if d['safe_to_manage']} == SAFE
    loose = entries['[ds-gold] orphans/data 1.vmdk']
    assert loose['uuid'] and loose['host'] == 'functional@vmware#gold'
    assert entries['[ds-silver] far/silver disk.vmdk']['host'] == \
        'functional@vmware#silver'
    assert loose['proposed']['volume_type'] == 'gold'
    before = {p: topo.digest(sim, p) for p in SAFE}

    # dry run: nothing changes
    code, out = run(conf, 'takeover', 'import', inventory, '--dry-run',
                    api=DriverApi(drv))
    assert code == 0 and out.count('manage ') == len(SAFE)
    assert not any(n.startswith('volume-') for n in inv.vm_names())

    # an import that crashes after two disks ...
    with pytest.raises(Interrupted):
        run(conf, 'takeover', 'import', inventory, '--concurrency', '1',
            api=DriverApi(drv, crash_after=2))
    results = inventory + '.import.jsonl'
    with open(results, encoding='utf-8') as f:
        first = [json.loads(line) for line in f]
    assert sum(r['status'] == 'managed' for r in first) == 2

    # ... then a rerun continues: nothing twice, everything safe managed
    code, out = run(conf, 'takeover', 'import', inventory,
                    api=DriverApi(drv))
    assert code == 0, out
    assert out.startswith('managed: %d, skipped: ' % (len(SAFE) - 2)), out
    assert out.count('already managed as volume') == 2
    shadows = [n for n in inv.vm_names() if n.startswith('volume-')]
    assert len(shadows) == len(SAFE)
    listing = drv.get_manageable_volumes([], None, 1000, 0, ['size'],
                                         ['asc'])
    managed = [e for e in listing if e['cinder_id']]
    assert len(managed) == len(SAFE)

    # a third run does nothing
    code, out = run(conf, 'takeover', 'import', inventory,
                    api=DriverApi(drv))
    assert code == 0 and out.startswith('managed: 0,')

    code, out = run(conf, 'takeover', 'release', inventory,
                    api=DriverApi(drv))
    assert code == 0 and out.startswith('released: %d,' % len(SAFE)), out
    assert not any(n.startswith('volume-') for n in inv.vm_names())
    for path in SAFE - {'[ds-silver] far/silver disk.vmdk'}:
        assert topo.digest(sim, path) == before[path]


def test_import_reports_failures(env, tmp_path):
    sim, drv, _inv, conf = env
    inventory = str(tmp_path / 'inventory.json')
    run(conf, 'takeover', 'export', inventory, '--no-uuids')

    # One disk under two keys (its UUID, and its path): refused, naming
    # both entries, before anything is managed.
    with open(inventory, encoding='utf-8') as f:
        document = json.load(f)
    [attached] = [d for d in document['disks']
                  if d['path'] == 'vm-off/vm-off.vmdk']
    twin = dict(attached, key=attached['key'] + '-again',
                reference={'source-name': '[ds-gold] vm-off/vm-off.vmdk'})
    document['disks'].append(twin)
    doubled = str(tmp_path / 'doubled.json')
    with open(doubled, 'w', encoding='utf-8') as f:
        json.dump(document, f)
    with pytest.raises(SystemExit) as refused:
        run(conf, 'takeover', 'import', doubled, api=DriverApi(drv))
    assert 'both name [ds-gold] vm-off/vm-off.vmdk' in str(
        refused.value.code)
    assert attached['key'] in str(refused.value.code)
    assert not any(n.startswith('volume-') for n in _inv.vm_names())

    sim.inject_fault('CreateVM_Task', 'SystemError', task=True)
    code, out = run(conf, 'takeover', 'import', inventory,
                    api=DriverApi(drv))
    assert code == 1
    assert out.startswith('managed: 0, skipped: ')
    # Failures are grouped by reason: a "failed (N): reason" line per
    # reason, then its keys.
    groups = [line for line in out.splitlines()
              if line.startswith('  failed (')]
    assert groups
    assert sum(int(line.split('(')[1].split(')')[0])
               for line in groups) == len(SAFE)

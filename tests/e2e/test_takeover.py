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
"""The takeover through the real Cinder stack: manageable lists, manage and
unmanage of volumes and snapshots through cinderclient, and the
``cinder-vmware takeover`` tool (export -> import -> release) with each
way it authenticates to Cinder. Each step is checked on vCenter's side and
in the disk files.

The stack is shared with the other e2e modules: these tests use the sample
topology's loose disks, look only at their own entries (never at counts),
and give every disk back where it was.
"""

import hashlib
import json
import os
import subprocess
import sys

from oslo_vmware import vim_util
import pytest

from tests.e2e import conftest
from tests.e2e import waiting

BACKEND = 'cinder-stack@vmware'
GOLD_DISK = '[vmfs-gold-01] imports/volume-(copy) #2 [old].vmdk'
SILVER_DISK = '[vsan-silver] odd names/\u00fcn\u00efcode & spaces.vmdk'
SHARED_DISK = '[nfs-shared-01] orphans/data 1.vmdk'
LOOSE = (GOLD_DISK, SILVER_DISK, SHARED_DISK)


# -- vCenter's side and the files ---------------------------------------------

def _vm(session, name):
    """(moref, {property: value}) of the VM called ``name``, or None."""
    result = session.invoke_api(
        vim_util, 'get_objects', session.vim, 'VirtualMachine', 1000,
        ['name', 'config.hardware.device', 'config.extraConfig',
         'snapshot'])
    found = None
    while result:
        for obj in result.objects:
            props = {p.name: p.val for p in getattr(obj, 'propSet', [])}
            if props.get('name') == name:
                found = (obj.obj, props)
        if not getattr(result, 'token', None):
            break
        result = session.invoke_api(vim_util, 'continue_retrieval',
                                    session.vim, result)
    return found


def _disk_files(props):
    devices = getattr(props.get('config.hardware.device'), 'VirtualDevice',
                      [])
    return [d.backing.fileName for d in devices
            if d.__class__.__name__ == 'VirtualDisk']


def _snapshot_names(props):
    names = []

    def walk(trees):
        for tree in trees or []:
            names.append(tree.name)
            walk(getattr(tree, 'childSnapshotList', None))
    info = props.get('snapshot')
    if info is not None:
        walk(getattr(info, 'rootSnapshotList', None))
    return names


def _local(simulator, ds_path, suffix=''):
    datastore, path = ds_path[1:].split('] ', 1)
    return simulator.datastore_path(datastore,
                                    path[:-len('.vmdk')] + suffix + '.vmdk')


def _files_digest(simulator, ds_path):
    """Digest a disk's descriptor and data regions.

    The disk as files: its descriptor and the data regions of its
    (sparse) data file, with their offsets.
    """
    digest = hashlib.sha256()
    with open(_local(simulator, ds_path), 'rb') as f:
        digest.update(f.read())
    with open(_local(simulator, ds_path, '-flat'), 'rb') as f:
        size = os.fstat(f.fileno()).st_size
        offset = 0
        while offset < size:
            try:
                start = os.lseek(f.fileno(), offset, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(f.fileno(), start, os.SEEK_HOLE)
            f.seek(start)
            digest.update(b'%d:' % start + f.read(end - start))
            offset = end
    return size, digest.hexdigest()


# -- Cinder's side ------------------------------------------------------------

def _entries(cinder, ds_paths):
    """{datastore path: manageable-list entry} for the given disks."""
    found = {}
    for entry in cinder.volumes.list_manageable(BACKEND, detailed=True):
        info = entry.extra_info
        path = '[%s] %s' % (info['datastore'], info['path'])
        if path in ds_paths:
            found[path] = entry
    return found


def _unmanage(cinder, volume):
    cinder.volumes.unmanage(volume)
    waiting.wait_deleted(cinder.volumes, volume)


def _unmanaged_if_there(cinder, volume):
    from cinderclient import exceptions
    try:
        current = cinder.volumes.get(volume.id)
    except exceptions.NotFound:
        return
    if current.status == 'available':
        _unmanage(cinder, current)


@pytest.fixture
def manage(cinder, undo):
    """Give a factory of volumes managing loose disks.

    manage(ds_path, pool) -> the volume managing that loose disk, once
    available; unmanaged when the test ends if it still exists.
    """
    def run(ds_path, pool, **kwargs):
        volume = cinder.volumes.manage(
            '%s#%s' % (BACKEND, pool), {'source-name': ds_path}, **kwargs)
        undo(lambda: _unmanaged_if_there(cinder, volume))
        return waiting.wait_status(cinder.volumes, volume, 'available')
    return run


# -- manage / unmanage through cinderclient -----------------------------------

def test_manageable_list_reasons(cinder, stack):
    entries = {}
    for entry in cinder.volumes.list_manageable(BACKEND, detailed=True):
        info = entry.extra_info
        entries.setdefault('[%s] %s' % (info['datastore'], info['path']),
                           []).append(entry)
    for path in LOOSE:
        assert path in entries, sorted(entries)
    half = entries[GOLD_DISK][0]
    assert half.size == 1
    assert half.extra_info['capacity_bytes'] == str(2 ** 29)
    assert half.extra_info['pool'] == 'gold'
    assert entries[SILVER_DISK][0].extra_info['pool'] == 'silver'
    on = entries['[vmfs-gold-01] app-server/app-server.vmdk'][0]
    assert (on.safe_to_manage, on.reason_not_safe) == (
        False, 'attached to a powered-on VM')
    assert on.extra_info['vm'] == 'app-server'
    # legacy-db's base disk is under its snapshot's delta.
    base = entries['[nfs-shared-01] legacy-db/legacy-db.vmdk'][0]
    assert base.safe_to_manage is False
    assert 'snapshot' in base.reason_not_safe
    # The cinder CLI lists them too (upstream's driver made it fail).
    text = stack.cli('manageable-list', BACKEND)
    assert 'imports/volume-(copy) #2 [old].vmdk' in text


def test_manage_and_unmanage_a_loose_disk(cinder, vsphere, simulator,
                                          manage):
    before = _files_digest(simulator, GOLD_DISK)
    assert _entries(cinder, {GOLD_DISK})[GOLD_DISK].safe_to_manage

    volume = manage(GOLD_DISK, 'gold', name='taken-over')
    assert volume.size == 1 and volume.name == 'taken-over'
    assert getattr(volume, 'os-vol-host-attr:host') == BACKEND + '#gold'
    shadow = _vm(vsphere, 'volume-%s' % volume.id)
    assert shadow is not None
    assert _disk_files(shadow[1]) == [GOLD_DISK]      # where it lies
    assert _files_digest(simulator, GOLD_DISK) == before
    entry = _entries(cinder, {GOLD_DISK})[GOLD_DISK]
    assert (entry.safe_to_manage, entry.cinder_id) == (False, volume.id)

    _unmanage(cinder, volume)
    assert _vm(vsphere, 'volume-%s' % volume.id) is None
    assert _files_digest(simulator, GOLD_DISK) == before
    entry = _entries(cinder, {GOLD_DISK})[GOLD_DISK]
    assert entry.safe_to_manage and entry.cinder_id is None


def test_manage_refuses_what_is_not_safe(cinder, vsphere):
    """Check that a refused manage leaves vCenter as it was.

    A refused reference leaves the volume in error (the reason
    is in cinder-volume's log) and vCenter as it was.
    """
    app_disks = _disk_files(_vm(vsphere, 'app-server')[1])
    for ref in ({'source-name': '[vmfs-gold-01] ../x.vmdk'},
                {'source-name': '[vmfs-gold-01] app-server/app-server.vmdk'},
                {'source-name': '[vmfs-gold-01] nope/missing.vmdk'}):
        volume = cinder.volumes.manage(BACKEND + '#gold', ref)
        try:
            with pytest.raises(AssertionError, match='went to error'):
                waiting.wait_status(cinder.volumes, volume, 'available')
        finally:
            cinder.volumes.delete(volume)
            waiting.wait_deleted(cinder.volumes, volume)
        assert _vm(vsphere, 'volume-%s' % volume.id) is None
    assert _disk_files(_vm(vsphere, 'app-server')[1]) == app_disks


def test_snapshot_manage_and_unmanage(cinder, vsphere, simulator, manage,
                                      undo):
    volume = manage(SILVER_DISK, 'silver')
    assert volume.size == 2                 # 1.25 GiB, rounded up
    shadow_ref, _props = _vm(vsphere, 'volume-%s' % volume.id)
    task = vsphere.invoke_api(vsphere.vim, 'CreateSnapshot_Task', shadow_ref,
                              name='admin-made', memory=False, quiesce=False)
    vsphere.wait_for_task(task)

    def remove_vm_snapshots():
        task = vsphere.invoke_api(vsphere.vim, 'RemoveAllSnapshots_Task',
                                  shadow_ref)
        vsphere.wait_for_task(task)
    undo(remove_vm_snapshots)

    listed = [s for s in cinder.volume_snapshots.list_manageable(
        BACKEND, detailed=True)
        if s.source_reference.get('source-name') == 'volume-%s' % volume.id
        or s.source_reference.get('source-id') == volume.id]
    assert [(s.reference, s.safe_to_manage) for s in listed] == [
        ({'source-name': 'admin-made'}, True)]

    snapshot = cinder.volume_snapshots.manage(
        volume.id, {'source-name': 'admin-made'}, name='kept')
    snapshot = waiting.wait_status(cinder.volume_snapshots, snapshot,
                                   'available')
    assert snapshot.size == volume.size
    assert _snapshot_names(_vm(vsphere, 'volume-%s' % volume.id)[1]) == [
        'snapshot-%s' % snapshot.id]

    cinder.volume_snapshots.unmanage(snapshot)
    waiting.wait_deleted(cinder.volume_snapshots, snapshot)
    assert _snapshot_names(_vm(vsphere, 'volume-%s' % volume.id)[1]) == [
        'admin-made']


# -- the takeover tool --------------------------------------------------------

def _clean_environment():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('OS_', 'CINDER_'))}
    env['PYTHONPATH'] = conftest.REPO
    env.setdefault('PYTHONWARNINGS', 'ignore')
    return env


def _auth(stack, mode, tmp_path):
    """(extra argv, extra environment) for one way to reach Cinder."""
    from tools.stack import cinder_stack
    user, project = cinder_stack.USER_ID, cinder_stack.PROJECT_ID
    if mode == 'noauth-flags':
        return (['--os-auth-type', 'noauth', '--user-id', user,
                 '--project-id', project, '--endpoint', stack.endpoint], {})
    if mode == 'cinder-cli-environment':
        return [], dict(stack.cli_environment())
    clouds = tmp_path / 'clouds.yaml'
    clouds.write_text(json.dumps({'clouds': {'e2e': {
        'auth_type': 'noauth',
        'auth': {'user_id': user, 'project_id': project,
                 'endpoint': stack.endpoint}}}}))   # JSON is YAML
    return [], {'OS_CLIENT_CONFIG_FILE': str(clouds), 'OS_CLOUD': 'e2e'}


def _tool(stack, auth, *args):
    argv, env = auth
    done = subprocess.run(
        [sys.executable, '-m', 'cinder_vmware_ext.cmd.main',
         '--config-file', stack.conf_file, '--backend', 'vmware'] +
        argv + list(args), capture_output=True, text=True, cwd=conftest.REPO,
        env=dict(_clean_environment(), **env), timeout=900)
    return done.returncode, done.stdout, done.stderr


def _taken_over(cinder, keys):
    """{key: volume} of live volumes whose takeover metadata names a key."""
    found = {}
    for volume in cinder.volumes.list(detailed=True):
        key = (volume.metadata or {}).get('vmware_takeover_source')
        if key in keys:
            found[key] = volume
    return found


@pytest.mark.parametrize('mode', ['noauth-flags', 'cinder-cli-environment',
                                  'clouds-yaml'])
def test_tool_export_import_release(cinder, vsphere, simulator, stack,
                                    tmp_path, undo, mode):
    auth = _auth(stack, mode, tmp_path)
    before = {path: _files_digest(simulator, path) for path in LOOSE}

    code, out, err = _tool(stack, auth, 'takeover', 'discover', '-f', 'json')
    assert code == 0, err
    rows = {'[%s] %s' % (r['Datastore'], r['Path']): r
            for r in json.loads(out) if not r['VM']}
    for path in LOOSE:
        assert rows[path]['Safe'] is True, rows[path]
    listed = _entries(cinder, set(LOOSE))
    # The Reference column names its key, as `cinder manage` takes it.
    assert {p: rows[p]['Reference'] for p in LOOSE} == {
        p: 'source-name=' + listed[p].reference['source-name']
        for p in LOOSE}

    inventory = str(tmp_path / 'inventory.json')
    code, out, err = _tool(stack, auth, 'takeover', 'export', inventory)
    assert code == 0, err
    with open(inventory, encoding='utf-8') as f:
        document = json.load(f)
    mine = {'[%s] %s' % (d['datastore'], d['path']): d
            for d in document['disks']
            if '[%s] %s' % (d['datastore'], d['path']) in LOOSE}
    assert sorted(mine) == sorted(LOOSE)
    assert mine[GOLD_DISK]['host'] == BACKEND + '#gold'
    assert mine[SILVER_DISK]['host'] == BACKEND + '#silver'
    keys = {d['key']: path for path, d in mine.items()}
    selection = [arg for key in sorted(keys) for arg in ('--key', key)]
    undo(lambda: [_unmanaged_if_there(cinder, v)
                  for v in _taken_over(cinder, set(keys)).values()])

    code, out, err = _tool(stack, auth, 'takeover', 'import', inventory,
                           '--dry-run', *selection)
    assert code == 0, err
    assert out.count('manage ') == len(LOOSE)
    assert _taken_over(cinder, set(keys)) == {}

    code, out, err = _tool(stack, auth, 'takeover', 'import', inventory,
                           *selection)
    assert code == 0, (out, err)
    assert out.startswith('managed: %d, skipped: 0, failed: 0'
                          % len(LOOSE)), out
    volumes = _taken_over(cinder, set(keys))
    assert sorted(volumes) == sorted(keys)
    for key, volume in volumes.items():
        path = keys[key]
        assert volume.status == 'available'
        assert getattr(volume, 'os-vol-host-attr:host') == mine[path]['host']
        assert volume.name == mine[path]['proposed']['name']
        shadow = _vm(vsphere, 'volume-%s' % volume.id)
        assert shadow is not None and _disk_files(shadow[1]) == [path]

    # Idempotent: a rerun (fresh results file) manages nothing twice.
    code, out, err = _tool(stack, auth, 'takeover', 'import', inventory,
                           '--results', str(tmp_path / 'again.jsonl'),
                           *selection)
    assert code == 0, (out, err)
    assert out.startswith('managed: 0, skipped: %d, failed: 0'
                          % len(LOOSE)), out
    assert out.count('already managed as volume') == len(LOOSE)

    code, out, err = _tool(stack, auth, 'takeover', 'release', inventory,
                           *selection)
    assert code == 0, (out, err)
    assert out.startswith('released: %d, skipped: 0, failed: 0'
                          % len(LOOSE)), out
    assert _taken_over(cinder, set(keys)) == {}
    for volume in volumes.values():
        assert _vm(vsphere, 'volume-%s' % volume.id) is None
    assert {path: _files_digest(simulator, path) for path in LOOSE} == before

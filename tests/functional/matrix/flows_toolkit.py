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
"""The operator commands in the fault matrix: ``cinder-vmware disk create |
copy | move | extend | delete``, ``datastore evacuate | drain | undrain |
rename | io-control set | create nfs | create vmfs | remove``,
``cluster create | delete``, ``snapshot rename`` and ``audit --clean``,
each run in-process (the entry point's app with argv) against its own
group's simulator.

A command's outcome is its exit status: a non-zero exit is raised as
``CommandFailed`` holding what the command said (stderr; for evacuate the
report's failed lines), which the verdict judges as a driver's error (one
line naming the disk or volume and vCenter's fault).  What the captures
cannot see (a disk's capacity, a refusal, a drain mark, an empty folder)
is checked by ``case.checks``.
"""

import io
import itertools
import os
import tempfile
from unittest import mock

from oslo_utils import units

from tests.functional import driver_fixtures as df
from tests.functional.matrix import flows

GROUP = 'toolkit'


def _topology(_counts):
    """Pools gold (esx-01: ds-gold, ds-evac) and silver (esx-03)."""
    return {'datacenters': [{
        'name': 'DC1',
        'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'}]},
                     {'name': 'silver', 'hosts': [{'name': 'esx-03'}]}],
        'datastores': [
            # The least free of gold: best fit places volumes here.
            {'name': 'ds-gold', 'type': 'VMFS', 'capacity_gb': 8000,
             'free_gb': 7900, 'mounts': [{'host': 'esx-01'}]},
            {'name': 'ds-evac', 'type': 'VMFS', 'capacity_gb': 8000,
             'free_gb': 7950, 'mounts': [{'host': 'esx-01'}]},
            {'name': 'ds-silver', 'type': 'NFS', 'capacity_gb': 8000,
             'free_gb': 7900, 'mounts': [{'host': 'esx-03'}]}],
    }]}


flows.GROUPS[GROUP] = (_topology, {'default': dict(
    vmware_cluster_name=flows.POOLS, vmware_lazy_create=True)})

_numbers = itertools.count()


class CommandFailed(Exception):
    """A command's non-zero exit; ``lines``: what it said about it."""

    def __init__(self, argv, code, lines):
        self.argv, self.code, self.lines = argv, code, lines
        message = ' / '.join(lines) or 'exit %d, nothing said' % code
        Exception.__init__(self, message)


def _shared_session(group):
    """backend.session for the commands: one session per group.

    Every command of the group runs on one real session (logging in
    and parsing the WSDL again costs seconds a command); its logout is
    a no-op so that a command's end does not end it.
    """
    from cinder_vmware_ext.cmd import backend
    real = backend.session

    def session(section):
        if getattr(group, 'toolkit_session', None) is None:
            made = real(section)
            made.logout = _no_logout
            group.toolkit_session = made
        return group.toolkit_session
    return session


def _no_logout():
    """A command's logout of the group's shared session: kept open."""


def _conf(group):
    if getattr(group, 'toolkit_conf', None) is None:
        import pathlib
        folder = tempfile.mkdtemp(prefix='matrix-toolkit-')
        options = dict(flows.GROUPS[GROUP][1]['default'])
        group.toolkit_conf = df.write_cinder_conf(
            group.sim, pathlib.Path(folder) / 'cinder.conf', **options)
        group.toolkit_dir = folder
    return group.toolkit_conf


def command(case, *argv):
    """Run ``cinder-vmware ARGV`` in-process: (exit code, stdout, stderr)."""
    from cinder_vmware_ext.cmd import backend
    from cinder_vmware_ext.cmd import main as cli
    app = cli.CinderVmwareApp()
    out, err = io.StringIO(), io.StringIO()
    app.stdout, app.stderr = out, err
    with mock.patch.object(backend, 'session', _shared_session(case.group)):
        code = app.run(['--config-file', _conf(case.group)] + list(argv))
    return code, out.getvalue(), err.getvalue()


def _run(case, *argv):
    """Run a command; its non-zero exit raised as CommandFailed."""
    code, _out, err = command(case, *argv)
    if code:
        raise CommandFailed(argv, code, err.strip().splitlines())


def _destination(case, datastore):
    folder = 'tkdst-%d' % next(_numbers)
    case.roles['dest'] = folder
    path = '[%s] %s/disk.vmdk' % (datastore, folder)
    case.names.append(path)
    return path


def _capacity(case, path):
    local = case.inv.local_path(path)
    return df.capacity_bytes(local) if os.path.exists(local) else None


@flows.flow('disk-copy', GROUP)
def disk_copy(case):
    src = flows.loose_disk(case, 'ds-gold', 'tkcopy')
    dst = _destination(case, 'ds-silver')

    def check(error):
        size = _capacity(case, dst)
        if size is not None and size != _capacity(case, src):
            return ['the copy %s holds %s bytes, the source %s'
                    % (dst, size, _capacity(case, src))]
        return []
    case.checks = [check]
    case.call = lambda: _run(case, 'disk', 'copy', src, dst)


@flows.flow('disk-move', GROUP)
def disk_move(case):
    src = flows.loose_disk(case, 'ds-gold', 'tkmove')
    dst = _destination(case, 'ds-silver')
    case.call = lambda: _run(case, 'disk', 'move', src, dst)


@flows.flow('disk-extend', GROUP)
def disk_extend(case):
    path = flows.loose_disk(case, 'ds-gold', 'tkextend')

    def check(error):
        size, want = _capacity(case, path), (1 if error else 2) * units.Gi
        if size != want:
            return ['%s is %s bytes after the extend %s (all or nothing: '
                    '%d)' % (path, size, 'failed' if error else 'succeeded',
                             want)]
        return []
    case.checks = [check]
    case.call = lambda: _run(case, 'disk', 'extend', path, '2')


@flows.flow('disk-delete', GROUP)
def disk_delete(case):
    path = flows.loose_disk(case, 'ds-gold', 'tkdelete')
    vol = case.created_volume('vol')
    owned = case.inv.disk(case.inv.vm(vol.name)).backing.fileName

    def call():
        code, _out, err = command(case, 'disk', 'delete', owned)
        if code != 1 or 'refusing to delete' not in err or \
                'Cinder volume %s' % vol.id not in err:
            raise AssertionError('the delete of Cinder volume %s\'s disk '
                                 'was not refused: exit %d, %s'
                                 % (vol.id, code, err.strip()))
        _run(case, 'disk', 'delete', path)
    case.call = call


@flows.flow('evacuate', GROUP)
def evacuate(case):
    from cinder_vmware_ext.vsphere import relocate
    vol = case.created_volume('vol')
    inv = case.inv
    vm = inv.vm(vol.name)
    target = inv.by_name('Datastore', 'ds-evac')
    relocate.relocate(inv.session, vm, relocate.spec(
        inv.session, target, inv.disks(vm)))
    assert inv.disk(vm).backing.fileName.startswith('[ds-evac] ')
    flows.loose_disk(case, 'ds-evac', 'tkevac')
    results = os.path.join(_conf(case.group) + '.d',
                           'evacuate-%d.jsonl' % next(_numbers))
    os.makedirs(os.path.dirname(results), exist_ok=True)

    def call():
        code, out, err = command(case, 'datastore', 'evacuate', 'ds-evac',
                                 '--results', results)
        report = out.splitlines()
        if code:
            raise CommandFailed(('datastore', 'evacuate'), code, [
                line.strip() for line in report
                if line.startswith('  failed')])
        if not report or not report[0].startswith(
                'moved: 1, skipped: 0, failed: 0'):
            raise AssertionError('evacuate exited 0 but said: %s'
                                 % ' / '.join(report))
    case.call = call


@flows.flow('disk-create', GROUP)
def disk_create(case):
    path = _destination(case, 'ds-gold')
    folder = os.path.dirname(case.inv.local_path(path))

    def check(error):
        if error is None:
            size = _capacity(case, path)
            return [] if size == units.Gi else [
                '%s is %s bytes after its create, not 1 GiB' % (path, size)]
        # The captures see files, not an empty folder.
        if os.path.isdir(folder):
            return ['the failed create left the folder of %s' % path]
        return []
    case.checks = [check]
    case.call = lambda: _run(case, 'disk', 'create', path, '1')


# --- the drain mark: a custom field the captures cannot see -----------------

DRAINED = 'ds-evac'


def drain_mark(case, name):
    """The drain mark's value on datastore ``name`` ('' when unmarked)."""
    from oslo_vmware import vim_util

    from cinder_vmware_ext.vsphere import marks
    session = case.inv.session
    fields = session.vim.service_content.customFieldsManager
    defs = session.invoke_api(vim_util, 'get_object_property', session.vim,
                              fields, 'field')
    keys = [f.key for f in getattr(defs, 'CustomFieldDef', None) or []
            if f.name == marks.DRAIN_FIELD]
    if not keys:
        return ''
    values = case.inv.prop(case.inv.by_name('Datastore', name),
                           'customValue')
    for value in getattr(values, 'CustomFieldValue', None) or []:
        if value.key == keys[0]:
            return getattr(value, 'value', '') or ''
    return ''


def _mark_flow(drained):
    def setup(case):
        # The field exists before the traced run (the first drain of a
        # vCenter defines it) and the datastore starts the other way.
        case.roles['dest'] = DRAINED
        case.names.append(DRAINED)
        _run(case, 'datastore', 'drain', DRAINED)
        if drained:
            _run(case, 'datastore', 'undrain', DRAINED)

        def check(error):
            now = bool(drain_mark(case, DRAINED))
            want = drained if error is None else not drained
            if now != want:
                return ['%s is %sdrained after the %s %s' % (
                    DRAINED, '' if now else 'not ',
                    'drain' if drained else 'undrain',
                    'failed' if error else 'succeeded')]
            return []
        case.checks = [check]
        # Other flows place volumes on it.
        case.cleanups.append(lambda: command(case, 'datastore', 'undrain',
                                             DRAINED))
        case.call = lambda: _run(case, 'datastore',
                                 'drain' if drained else 'undrain', DRAINED)
    return setup


flows.flow('datastore-drain', GROUP)(_mark_flow(True))
flows.flow('datastore-undrain', GROUP)(_mark_flow(False))


@flows.flow('snapshot-rename', GROUP)
def snapshot_rename(case):
    name, path = case.group.spare_vm(datastore='ds-gold', cluster='gold')
    case.roles['spare'] = name
    case.names += [name, 'before-upgrade']
    inv = case.inv
    inv.session.wait_for_task(inv.session.invoke_api(
        inv.session.vim, 'CreateSnapshot_Task', inv.vm(name),
        name='before-upgrade', description='', memory=False,
        quiesce=False))
    case.call = lambda: _run(case, 'snapshot', 'rename', '--vm', name,
                             'before-upgrade', 'after-upgrade')


# --- clusters and datastores: state the captures cannot see -----------------

def _check_state(case, read, want_ok, want_failed, what):
    """Check ``read()``: ``want_ok`` after success, else ``want_failed``."""
    def check(error):
        now = read()
        want = want_ok if error is None else want_failed
        if now != want:
            return ['%s is %r after the command %s, not %r' % (
                what, now, 'failed' if error else 'succeeded', want)]
        return []
    return check


RENAMED = 'ds-evac'


@flows.flow('datastore-rename', GROUP)
def datastore_rename(case):
    new = 'tkds-%d' % next(_numbers)
    case.roles['dest'] = new
    case.names += [RENAMED, new]

    def name_now():
        inv = case.inv
        return (RENAMED if inv.by_name('Datastore', RENAMED) is not None
                else new if inv.by_name('Datastore', new) is not None
                else None)
    case.checks = [_check_state(case, name_now, new, RENAMED,
                                'the name of %s' % RENAMED)]

    def back():
        if name_now() == new:
            command(case, 'datastore', 'rename', new, RENAMED)
    case.cleanups.append(back)
    case.call = lambda: _run(case, 'datastore', 'rename', RENAMED, new)


@flows.flow('io-control-set', GROUP)
def io_control_set(case):
    name = 'ds-evac'
    case.roles['dest'] = name
    case.names.append(name)
    _run(case, 'datastore', 'io-control', 'set', '--disable', name)

    def enabled():
        config = case.inv.prop(case.inv.by_name('Datastore', name),
                               'iormConfiguration')
        return bool(getattr(config, 'enabled', False))
    case.checks = [_check_state(case, enabled, True, False,
                                'Storage I/O Control of %s enabled' % name)]
    case.cleanups.append(lambda: command(case, 'datastore', 'io-control',
                                         'set', '--disable', name))
    case.call = lambda: _run(case, 'datastore', 'io-control', 'set',
                             '--enable', name)


# --- flows that make or remove one named object ------------------------------

def _object_flow(prefix, kind, create, remove, removing, clean_up):
    """A flow running ``create(name)`` (``remove(name)`` with ``removing``).

    ``name``: a new ``<prefix>-N``; ``kind``: its managed object type,
    whose existence afterwards is checked (all or nothing).  Removing, the
    setup creates it first.  ``clean_up``: remove it after the case
    (other flows place volumes on datastores).
    """
    def setup(case):
        name = '%s-%d' % (prefix, next(_numbers))
        case.roles['dest'] = name
        case.names.append(name)
        if removing:
            _run(case, *create(name))

        def exists():
            return case.inv.by_name(kind, name) is not None
        case.checks = [_check_state(case, exists, not removing, removing,
                                    '%s %s existing' % (kind, name))]
        if clean_up:
            case.cleanups.append(lambda: command(case, *remove(name)))
        case.call = lambda: _run(case, *(remove if removing else create)(
            name))
    return setup


def _cluster(name):
    return ('cluster', 'create', '--datacenter', 'DC1', name)


def _nfs(name):
    """``datastore create nfs NAME`` on esx-03 (pool silver)."""
    return ('datastore', 'create', 'nfs', name, '--remote-host',
            'nfs1.example.org', '--remote-path', '/export/%s' % name,
            '--host', 'esx-03')


# A free disk of every simulated host (made again free when the datastore
# on it is removed).
VMFS_DISK = 'naa.6000c290000000000000000000000001'


def _vmfs(name):
    return ('datastore', 'create', 'vmfs', name, '--host', 'esx-03',
            '--disk', VMFS_DISK)


def _remove_cluster(name):
    return ('cluster', 'delete', name)


def _remove_datastore(name):
    return ('datastore', 'remove', name)


CLUSTER = dict(prefix='tkcl', kind='ClusterComputeResource',
               create=_cluster, remove=_remove_cluster, clean_up=False)
NFS = dict(prefix='tknfs', kind='Datastore', create=_nfs,
           remove=_remove_datastore, clean_up=True)
flows.flow('cluster-create', GROUP)(_object_flow(removing=False, **CLUSTER))
flows.flow('cluster-delete', GROUP)(_object_flow(removing=True, **CLUSTER))
flows.flow('datastore-create-nfs', GROUP)(_object_flow(removing=False,
                                                       **NFS))
flows.flow('datastore-remove', GROUP)(_object_flow(removing=True, **NFS))
flows.flow('datastore-create-vmfs', GROUP)(_object_flow(
    'tkvmfs', 'Datastore', _vmfs, _remove_datastore, removing=False,
    clean_up=True))


def _audit_clean_flow(kind):
    """``audit --clean`` of one leftover: a staging VM or an upload.

    One leftover a case, so that a failed clean leaves exactly what was
    there (each leftover is removed or left; several are independent).
    """
    def setup(case):
        import uuid
        if kind == 'vm':
            # A failed restore's staging VM whose volume is gone.
            name, _path = case.group.spare_vm(
                name='restore-%s' % uuid.uuid4())
            case.roles['spare'] = name
            case.names.append(name)
        else:
            path = case.group._new_disk(
                '[ds-gold] cinder_temp/%s-image.vmdk' % uuid.uuid4())
            case.names.append(path)

        def call():
            code, report = _audit(case)
            if code:
                raise CommandFailed(('audit', '--clean'), code, [
                    line.strip() for line in report if ' failed' in line])
            if len([line for line in report
                    if line.endswith(' removed')]) != 1:
                raise AssertionError('audit --clean exited 0 but said: %s'
                                     % ' / '.join(report))
        case.cleanups.append(lambda: _tidy(case))
        case.call = call
    return setup


def _audit(case):
    """``audit --clean`` on Cinder's database: (exit, [name result])."""
    from cinder_vmware_ext.cmd import backend
    from cinder_vmware_ext.cmd import main as cli
    from tests.functional import test_ops_audit
    app = cli.CinderVmwareApp()
    out, err = io.StringIO(), io.StringIO()
    app.stdout, app.stderr = out, err
    app.cinder_view_factory = test_ops_audit.DatabaseView
    with mock.patch.object(backend, 'session', _shared_session(case.group)):
        code = app.run(['--config-file', _conf(case.group), 'audit',
                        '--clean', '-f', 'value', '-c', 'Name', '-c',
                        'Result'])
    return code, out.getvalue().splitlines()


def _tidy(case):
    """Remove what a failed clean left: the next case sees only its own."""
    inv = case.inv
    session = inv.session
    for name in case.names:
        if name.startswith('restore-'):
            vm = inv.vm(name)
            if vm is not None:
                session.wait_for_task(session.invoke_api(
                    session.vim, 'Destroy_Task', vm))
        elif os.path.exists(inv.local_path(name)):
            session.wait_for_task(session.invoke_api(
                session.vim, 'DeleteVirtualDisk_Task',
                session.vim.service_content.virtualDiskManager, name=name,
                datacenter=inv.by_name('Datacenter', 'DC1')))


flows.flow('audit-clean-vm', GROUP)(_audit_clean_flow('vm'))
flows.flow('audit-clean-upload', GROUP)(_audit_clean_flow('upload'))

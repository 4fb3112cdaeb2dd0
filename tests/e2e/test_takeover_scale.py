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
"""An import through real Cinder killed halfway (SIGKILL) resumes.

Twenty copies of a sample loose disk are exported and imported with
``cinder-vmware takeover import``; the import is killed once some results
are written, run again on the same results file, and then every disk is
one live volume (none twice), every disk has its result line, and a rerun
of the finished import manages nothing.  The release gives them back and
the copies are deleted, so the shared stack is left as it was.
"""

import json
import os
import signal
import subprocess
import sys
import time

from oslo_vmware import vim_util

from tests.e2e import conftest
from tests.e2e import test_takeover as tt
from tests.e2e import waiting

COUNT = 10   # enough for a kill after 3 results with 4 in flight
SOURCE = tt.GOLD_DISK
COPIES = ['[vmfs-gold-01] imports/scale-e2e-%02d.vmdk' % i
          for i in range(COUNT)]


def _datacenter(session):
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                'Datacenter', 10, ['name'])
    return result.objects[0].obj


def _disk_task(session, method, **kwargs):
    manager = session.vim.service_content.virtualDiskManager
    session.wait_for_task(session.invoke_api(session.vim, method, manager,
                                             **kwargs))


def _lines(path):
    if not os.path.exists(path):
        return []
    found = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            try:
                found.append(json.loads(line))
            except ValueError:   # a line torn by the kill
                pass
    return found


def test_a_killed_import_resumes_without_duplicates(cinder, vsphere, stack,
                                                    tmp_path, undo):
    dc = _datacenter(vsphere)
    for path in COPIES:
        _disk_task(vsphere, 'CopyVirtualDisk_Task', sourceName=SOURCE,
                   sourceDatacenter=dc, destName=path, destDatacenter=dc)
        undo(lambda path=path: _disk_task(
            vsphere, 'DeleteVirtualDisk_Task', name=path, datacenter=dc))
    auth = tt._auth(stack, 'noauth-flags', tmp_path)
    inventory = str(tmp_path / 'inventory.json')
    code, _out, err = tt._tool(stack, auth, 'takeover', 'export', inventory)
    assert code == 0, err
    with open(inventory, encoding='utf-8') as f:
        document = json.load(f)
    keys = {d['key'] for d in document['disks']
            if '[%s] %s' % (d['datastore'], d['path']) in COPIES}
    assert len(keys) == COUNT
    selection = [arg for key in sorted(keys) for arg in ('--key', key)]
    undo(lambda: [tt._unmanaged_if_there(cinder, v)
                  for v in tt._taken_over(cinder, keys).values()])

    results = str(tmp_path / 'import.jsonl')
    argv, env = auth
    command = [sys.executable, '-m', 'cinder_vmware_ext.cmd.main',
               '--config-file', stack.conf_file, '--backend', 'vmware'] + \
        argv + ['takeover', 'import', inventory, '--results', results,
                '--concurrency', '4'] + selection
    killed = subprocess.Popen(
        command, cwd=conftest.REPO, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env=dict(tt._clean_environment(), **env))
    deadline = time.monotonic() + 600
    while len(_lines(results)) < 3 and killed.poll() is None:
        assert time.monotonic() < deadline, 'no result lines in 10 minutes'
        time.sleep(0.2)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    before = len(_lines(results))
    assert 0 < before < COUNT, ('killed too late to show a resume: %d '
                                'results' % before)

    code, out, err = tt._tool(stack, auth, 'takeover', 'import', inventory,
                              '--results', results, '--concurrency', '4',
                              *selection)
    assert code == 0, (out, err)
    # Those managed (or being managed) before the kill are skipped as
    # already managed; the rest are managed now.
    managed = int(out.split('managed: ')[1].split(',')[0])
    skipped = int(out.split('skipped: ')[1].split(',')[0])
    assert managed + skipped == COUNT and 'failed: 0' in out, out
    assert skipped >= before

    # One live volume per disk, none twice.
    volumes = [v for v in cinder.volumes.list(detailed=True)
               if (v.metadata or {}).get('vmware_takeover_source') in keys]
    assert sorted(v.metadata['vmware_takeover_source']
                  for v in volumes) == sorted(keys)
    for volume in volumes:
        waiting.wait_status(cinder.volumes, volume, 'available')
    # Every disk has its result line (the resumed run wrote the rest).
    written = {line['key'] for line in _lines(results)}
    assert written == keys

    code, out, err = tt._tool(stack, auth, 'takeover', 'import', inventory,
                              '--results', str(tmp_path / 'again.jsonl'),
                              *selection)
    assert code == 0, (out, err)
    assert out.startswith('managed: 0, skipped: %d, failed: 0' % COUNT), out

    code, out, err = tt._tool(stack, auth, 'takeover', 'release', inventory,
                              '--concurrency', '4', *selection)
    assert code == 0, (out, err)
    assert out.startswith('released: %d, skipped: 0, failed: 0' % COUNT), out
    assert tt._taken_over(cinder, keys) == {}

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
"""The takeover tool's pure parts: dry runs, the summary, the rows."""

import io
import json

from cinder_vmware_ext.cmd import main as cli
from cinder_vmware_ext.cmd import takeover
from cinder_vmware_ext.takeover import export_format as fmt
from tests.unit import test_takeover_export_format as samples


class AskedCinder(Exception):
    pass


ASKED = []


def _refuse():
    ASKED.append(1)
    raise AskedCinder('Cinder was asked')


def run(*argv, factory=_refuse):
    app = cli.CinderVmwareApp()
    app.stdout = io.StringIO()
    app.cinder_api_factory = factory
    code = app.run(list(argv))
    return code, app.stdout.getvalue()


def inventory(tmp_path):
    path = tmp_path / 'inventory.json'
    path.write_text(fmt.dumps(samples.document()))
    return str(path), json.loads(path.read_text())['disks']


def test_dry_run_without_anything_to_compare_asks_no_credentials(tmp_path):
    path, disks = inventory(tmp_path)
    unsafe = [d['key'] for d in disks if not d['safe_to_manage']]
    assert unsafe
    argv = ['takeover', 'import', path, '--dry-run']
    for key in unsafe:
        argv += ['--key', key]
    del ASKED[:]
    code, out = run(*argv)
    assert code == 0 and not ASKED
    lines = out.splitlines()
    assert len(lines) == len(unsafe)
    for key in unsafe:
        assert any(line.startswith('skip %s (not safe' % key)
                   for line in lines), (key, lines)
    code, out = run('takeover', 'release', path, '--dry-run',
                    '--key', 'no-such-disk')
    assert code == 0 and out == '' and not ASKED


def test_dry_run_with_disks_to_manage_asks_cinder(tmp_path):
    path, _disks = inventory(tmp_path)
    del ASKED[:]
    code, _out = run('takeover', 'import', path, '--dry-run')
    assert code != 0 and len(ASKED) == 1
    code, _out = run('takeover', 'release', path, '--dry-run')
    assert code != 0 and len(ASKED) == 2


def test_failures_grouped_by_reason():
    groups = takeover.grouped_by_reason(
        [('a', 'busy'), ('b', 'gone'), ('c', 'busy'), ('d', None)])
    assert groups[0] == ('busy', ['a', 'c'])
    assert sorted(groups[1:]) == [('gone', ['b']), ('no reason given', ['d'])]


def test_reference_text_names_the_key_and_is_a_plain_string():
    class Text(str):
        pass

    text = takeover.reference_text({'source-id': Text('6000c29-uuid')})
    assert text == 'source-id=6000c29-uuid' and type(text) is str
    assert takeover.reference_text(
        {'source-name': '[ds] a/b.vmdk'}) == 'source-name=[ds] a/b.vmdk'
    assert type(takeover._plain(Text('x'))) is str


def test_progress_shows_count_rate_and_eta():
    from cinder_vmware_ext.cmd import toolkit

    now = [100.0]
    progress = toolkit.Progress(40, stream=io.StringIO(), width=10,
                                clock=lambda: now[0])
    assert progress.line() == '[..........] 0/40'
    for _ in range(10):
        progress.advance()
    now[0] += 60.0      # 10 done in a minute: 30 left take 3 minutes
    assert progress.line() == '[##........] 10/40 10.0/min ETA 3m00s'
    now[0] += 7200.0
    assert progress.line().endswith(' 0.1/min ETA 6h03m')

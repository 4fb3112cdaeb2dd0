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
import io
import json

from cinder_vmware_ext.cmd import runner
from cinder_vmware_ext.cmd import toolkit
from cinder_vmware_ext.takeover import plan


class FakeApi(object):
    def __init__(self, fail=()):
        self.fail = set(fail)
        self.managed_now = {}

    def manage(self, entry):
        if entry['key'] in self.fail:
            raise RuntimeError('boom %s' % entry['key'])
        self.managed_now[entry['key']] = 'vol-' + entry['key']
        return 'vol-' + entry['key']

    def wait(self, volume_id):
        return True, None


def steps(*keys):
    return [plan.Step(k, plan.MANAGE, {'key': k, 'proposed': {'name': k}})
            for k in keys] + [plan.Step('s', plan.SKIP, {'key': 's'},
                                        'not safe: x')]


def test_runs_records_and_summarises(tmp_path):
    path = str(tmp_path / 'r.jsonl')
    api = FakeApi(fail={'b'})
    results = runner.Runner(api, path, concurrency=3).run(
        steps('a', 'b', 'c'), runner.manage_work(api))
    by_key = {r['key']: r for r in results}
    assert by_key['a']['status'] == plan.MANAGED
    assert by_key['b']['status'] == plan.FAILED
    assert 'boom b' in by_key['b']['reason']
    assert by_key['s'] == {'key': 's', 'status': plan.SKIPPED,
                           'reason': 'not safe: x', 'volume_id': None}
    with open(path) as f:
        lines = [json.loads(line) for line in f]
    assert sorted(r['key'] for r in lines) == ['a', 'b', 'c', 's']
    assert plan.read_results(open(path))['a']['volume_id'] == 'vol-a'


def test_progress_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        ticks = iter([0.0, 30.0, 60.0])
        bar = toolkit.Progress(2, stream, width=4, clock=lambda: next(ticks))
        bar.advance()
        bar.advance()
    assert tty.getvalue() == ('\r[##..] 1/2 2.0/min ETA 30s\033[K'
                              '\r[####] 2/2 2.0/min ETA 0s\033[K\n')
    assert pipe.getvalue() == ''


def test_progress_of_a_measured_part():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty = Tty()
    ticks = iter([0.0, 0.0, 0.1, 0.5, 0.6])
    bar = toolkit.Progress(200, tty, width=4, clock=lambda: next(ticks),
                           label='copy', percent=True)
    bar.update(100)   # shown
    bar.update(120)   # within 0.2 s of the last: not redrawn
    bar.update(150)
    bar.finish()
    bar.finish()      # the line is ended once
    assert tty.getvalue() == ('\r[##..]  50% copy\033[K'
                              '\r[###.]  75% copy\033[K\n')

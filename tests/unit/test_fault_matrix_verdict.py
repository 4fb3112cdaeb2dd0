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
"""The fault matrix's verdict (tests/functional/matrix/cases.py, world.py):
pure logic over captured items, no simulator."""

import collections

from tests.functional.matrix import cases
from tests.functional.matrix import world

VOL = '6f1c0a52-1b7e-4f3e-9d65-0c9a4b1e2f10'
NAMES = world.Names({'vol': VOL, 'spare': 'loose-1'})


def items(*entries):
    return collections.Counter(entries)


def judge(before, after, reference=(), error=None, mode='task'):
    added, removed = world.diff(before, after, NAMES)
    ref = world.diff(items(), items(*reference), NAMES)
    return cases.judge(before, after, added, removed, ref, {'disk': b'x'},
                       error, ['volume-' + VOL], cases.MODES[mode])


BEFORE = items(('file', 'ds/loose-1/disk.vmdk'),
               ('bytes', 'disk', 'ds/loose-1/disk-flat.vmdk'))
SHADOW = (('vm', 'volume-' + VOL, 'vm'),
          ('disk', 'volume-' + VOL, '[ds] loose-1/disk.vmdk'))


def test_names_replace_own_names_only_whole():
    assert NAMES('volume-%s/loose-1/x' % VOL) == 'volume-<vol>/<spare>/x'
    assert NAMES('loose-10/disk.vmdk') == 'loose-10/disk.vmdk'
    assert NAMES('v-0a1b2c3d.vmdk') == 'v-<hex>.vmdk'


def test_success_matching_the_reference_holds():
    other = '0b2d6e1a-8c4f-4a55-b9e7-5d3c2a1f0e99'
    reference = [('vm', 'volume-' + other, 'vm'),
                 ('disk', 'volume-' + other, '[ds] loose-9/disk.vmdk')]
    verdict = judge(BEFORE, BEFORE + items(*SHADOW),
                    reference=[tuple(world.Names({'vol': other,
                                                  'spare': 'loose-9'})(x)
                                     for x in i) for i in reference])
    assert verdict.passed, verdict.explain()


def test_raised_with_a_duplicate_left_is_an_orphan():
    verdict = judge(BEFORE, BEFORE + items(SHADOW[0]),
                    error=RuntimeError('volume-%s: SystemError' % VOL))
    assert not verdict.held and verdict.orphans == [
        ('vm', 'volume-<vol>', 'vm')]
    assert cases.orphan_count(verdict) == 1


def test_bytes_nowhere_are_lost():
    after = items(('file', 'ds/loose-1/disk.vmdk'))
    verdict = judge(BEFORE, after, error=RuntimeError(
        'volume-%s: SystemError' % VOL))
    assert verdict.lost == ['disk']


def test_an_error_must_name_the_volume_and_the_fault():
    verdict = judge(BEFORE, BEFORE, error=RuntimeError('it failed'))
    assert verdict.held and not verdict.passed
    assert len(verdict.unclear) == 2
    clear = judge(BEFORE, BEFORE, error=RuntimeError(
        'volume-%s: SystemError injected' % VOL))
    assert clear.passed, clear.explain()


def test_modes_follow_the_method():
    assert cases.MODES['task'].applies('CreateVM_Task')
    assert not cases.MODES['task'].applies('CreateFolder')
    rule = cases.MODES['lost-refused'].rule('DeleteVirtualDisk_Task', 2)
    assert rule == dict(drop_connection=True, applied=True, count=1,
                        retry_fault='FileNotFound', skip=2)


class _Said(Exception):
    """A command's failure as flows_toolkit.CommandFailed carries it."""

    def __init__(self, lines):
        self.lines = lines
        Exception.__init__(self, ' / '.join(lines))


def test_a_command_error_must_be_one_line():
    said = 'delete [ds] loose-1/disk.vmdk volume-%s: SystemError' % VOL
    one = judge(BEFORE, BEFORE, error=_Said([said]))
    assert one.passed, one.explain()
    two = judge(BEFORE, BEFORE, error=_Said([said, 'Traceback ...']))
    assert not two.passed
    assert 'not one' in two.explain()


def judge_recovered(after_fault, after, reference=()):
    added, removed = world.diff(BEFORE, after, NAMES)
    ref = world.diff(items(), items(*reference), NAMES)
    return cases.judge(BEFORE, after, added, removed, ref, {'disk': b'x'},
                       RuntimeError('volume-%s: SystemError' % VOL),
                       ['volume-' + VOL], cases.MODES['task'],
                       recovered=after_fault)


def test_a_recovered_failure_is_judged_by_the_reference_after_it():
    # Between the failure and the recovery a staging VM was left; the
    # recovery's result is the reference run's: held.
    staging = ('vm', 'restore-' + VOL, 'vm')
    verdict = judge_recovered(BEFORE + items(staging),
                              BEFORE + items(SHADOW[0]),
                              reference=[('vm', 'volume-<vol>', 'vm')])
    assert verdict.held, verdict.explain()
    # What the recovery left beyond the reference is an orphan.
    verdict = judge_recovered(BEFORE, BEFORE + items(SHADOW[0], staging),
                              reference=[('vm', 'volume-<vol>', 'vm')])
    assert verdict.orphans == [('vm', 'restore-<vol>', 'vm')]


def test_bytes_gone_right_after_the_failure_are_lost_though_recovered():
    gone = items(('file', 'ds/loose-1/disk.vmdk'))
    verdict = judge_recovered(gone, BEFORE)
    assert verdict.lost == ['disk']

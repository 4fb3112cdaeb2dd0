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
"""Cases of the fault matrix: fault modes, and the verdict on one case.

A case is (flow, method, k, mode): the k-th call (from 0) of ``method`` in
the flow gets the fault of ``mode`` (the rule's ``skip`` lets the first k
through).  The verdict compares what the simulator holds after the case
with what it held before (the driver raised: nothing may have changed) or
with what the reference run of the flow changed (the driver succeeded:
exactly that must have changed), and checks the error.
"""

import collections


class Mode(object):
    def __init__(self, name, rule, applies=lambda method: True,
                 words=(), needs=None):
        self.name = name
        self._rule = rule        # (method, k) -> fault rule fields
        self.applies = applies
        self.words = words       # an error names one of these (lower case)
        self.needs = needs       # a simulator feature the rule needs

    def rule(self, method, k):
        return dict(self._rule(method, k), skip=k)


# What vCenter answers when a call it already applied comes again; None:
# vCenter runs it again without complaint (no lost-refused case).
REFUSALS = {
    'RevertToSnapshot_Task': None,
    'CreateSnapshot_Task': None,
    'RelocateVM_Task': None,
    'CreateVM_Task': 'DuplicateName',
    'CloneVM_Task': 'DuplicateName',
    'CreateFolder': 'DuplicateName',
    'RenameFolder': 'DuplicateName',
    'Rename_Task': 'DuplicateName',
    'MakeDirectory': 'FileAlreadyExists',
    'CreateVirtualDisk_Task': 'FileAlreadyExists',
    'CopyVirtualDisk_Task': 'FileAlreadyExists',
    'CopyDatastoreFile_Task': 'FileAlreadyExists',
    'MoveVirtualDisk_Task': 'FileNotFound',
    'MoveDatastoreFile_Task': 'FileNotFound',
    'DeleteVirtualDisk_Task': 'FileNotFound',
    'DeleteDatastoreFile_Task': 'FileNotFound',
    'ReconfigVM_Task': 'InvalidDeviceSpec',
    'Destroy_Task': 'ManagedObjectNotFound',
    'UnregisterVM': 'ManagedObjectNotFound',
    'RemoveSnapshot_Task': 'ManagedObjectNotFound',
    'ExtendVirtualDisk_Task': 'InvalidArgument',
}
REFUSAL_DEFAULT = 'InvalidState'

# A lost answer surfaces as the dropped connection or as vCenter's refusal
# of the retry (the call was applied).
LOST_WORDS = ('connection', 'remote end', 'reset', 'closed', 'already',
              'not found', 'notfound', 'duplicate', 'invalid', 'exist',
              'refused', 'fault')

MODES = collections.OrderedDict((m.name, m) for m in [
    Mode('task', lambda m, k: dict(
        fault='SystemError', task=True, count=1,
        message='SystemError injected into %s#%d' % (m, k)),
        applies=lambda m: m.endswith('_Task'),
        words=('systemerror',)),
    Mode('lost', lambda m, k: dict(
        drop_connection=True, applied=True, count=1), words=LOST_WORDS),
    Mode('lost-refused', lambda m, k: dict(
        drop_connection=True, applied=True, count=1,
        retry_fault=REFUSALS.get(m, REFUSAL_DEFAULT)),
        applies=lambda m: REFUSALS.get(m, REFUSAL_DEFAULT) is not None,
        words=LOST_WORDS, needs='retry_fault'),
    Mode('session', lambda m, k: dict(fault='NotAuthenticated', count=1),
         words=('notauthenticated', 'session', 'authenticat')),
    Mode('drop2', lambda m, k: dict(drop_connection=True, count=2),
         words=('connection', 'remote end', 'reset', 'closed')),
])


def case_id(flow, method, k, mode):
    return '%s:%s#%d:%s' % (flow, method, k, mode)


# --- the verdict -------------------------------------------------------------

OBJECT_KINDS = ('vm', 'snapshot', 'folder', 'file')


class Unclear(AssertionError):
    """A case that held, failed only for what its error fails to say."""


class Verdict(object):
    """What one case did: outcome, lost data, orphans, other problems."""

    def __init__(self, outcome):
        self.outcome = outcome     # 'ok' or 'raised'
        self.lost = []             # roles whose bytes are nowhere
        self.orphans = []          # items nobody expects
        self.problems = []         # other differences in vCenter
        self.unclear = []          # what the error fails to say

    @property
    def held(self):
        """vCenter holds the complete result or what it held before."""
        return not (self.lost or self.orphans or self.problems)

    @property
    def passed(self):
        return self.held and not self.unclear

    def explain(self):
        lines = ['outcome: %s' % self.outcome]
        if self.lost:
            lines.append('LOST the bytes of: %s' % ', '.join(self.lost))
        for item in self.orphans:
            lines.append('orphan: %r' % (item,))
        lines += self.problems
        lines += self.unclear
        return '\n'.join(lines)


def judge(before, after, added, removed, reference, patterns, error,
          names, mode, recovered=None):
    """The verdict of one case.

    before/after: captures (world.capture); added/removed: their
    normalised difference; reference: (added, removed) of the flow's run
    without faults; patterns: {role: bytes}; names: what an error should
    name; mode: the Mode (None for the reference).  ``recovered``: the
    capture right after a failure that the flow's recovery (its call once
    more, without faults) then followed: no bytes may be lost in it, and
    ``after`` must hold the reference run's result.
    """
    from tests.functional.matrix import world
    verdict = Verdict('raised' if error is not None else 'ok')
    had = world.bytes_roles(before)
    if recovered is not None:
        verdict.lost += _lost(patterns, had, world.bytes_roles(recovered))
    if error is None or recovered is not None:
        want_added, want_removed = reference
    else:
        want_added, want_removed = collections.Counter(), \
            collections.Counter()
    extra = added - want_added
    missing = want_added - added
    gone = removed - want_removed
    kept = want_removed - removed
    # Bytes: every role whose pattern should be somewhere still is.
    now = world.bytes_roles(after)
    want = collections.Counter(had)
    for item, n in want_added.items():
        if item[0] == 'bytes':
            want[item[1]] += n
    for item, n in want_removed.items():
        if item[0] == 'bytes':
            want[item[1]] -= n
    verdict.lost += [role for role in _lost(patterns, want, now)
                     if role not in verdict.lost]
    for item in sorted(extra):
        if item[0] in OBJECT_KINDS:
            verdict.orphans.append(item)
        elif item[0] == 'bytes':
            verdict.orphans.append(item)   # a second copy of the bytes
        else:
            verdict.problems.append('unexpected: %r' % (item,))
    for item in sorted(missing):
        verdict.problems.append('missing (the result is incomplete): %r'
                                % (item,))
    for item in sorted(gone):
        verdict.problems.append('removed: %r' % (item,))
    for item in sorted(kept):
        verdict.problems.append('not removed: %r' % (item,))
    if error is not None:
        verdict.unclear += error_problems(error, names, mode)
    return verdict


def _lost(patterns, want, now):
    """Roles whose bytes should be somewhere (``want``) but are not."""
    return [role for role in patterns if want[role] > 0 and now[role] == 0]


def error_problems(error, names, mode):
    """An error must name the volume or disk and vCenter's fault."""
    text = '%s: %s' % (type(error).__name__, error)
    problems = []
    if not any(n and n in text for n in names):
        problems.append('the error names none of %s: %s'
                        % (', '.join(sorted(set(filter(None, names)))),
                           text[:400]))
    if mode is not None and not any(w in text.lower() for w in mode.words):
        problems.append('the error does not say what vCenter answered '
                        '(%s): %s' % ('/'.join(mode.words), text[:400]))
    # A command's failure (flows_toolkit.CommandFailed): said in one line.
    lines = getattr(error, 'lines', None)
    if lines is not None and len(lines) != 1:
        problems.append('the command said %d lines, not one: %s'
                        % (len(lines), text[:400]))
    return problems


def orphan_count(verdict):
    """Count the objects a case left behind.

    Objects left behind: VMs, snapshots, folders, and datastore
    folders (a VM's home counts once, not per file).
    """
    dirs = set()
    count = 0
    for item in verdict.orphans:
        if item[0] == 'file':
            dirs.add(item[1].rsplit('/', 1)[0])
        elif item[0] in ('vm', 'snapshot', 'folder'):
            count += 1
    return count + len(dirs)

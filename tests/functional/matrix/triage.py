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
"""Write expected.py's list from a run's figures.

``FAULT_MATRIX_FIGURES=/tmp/m.json tools/run-tests tests/functional/matrix``
then ``.venv/bin/python -m tests.functional.matrix.triage /tmp/m.json``
prints the FAILURES dict of every case that did not pass, each with the
defect of issue 11 it shows (by flow, call and what went wrong) and the
verdict's first lines as the reason.  Review it before committing: the
defect is a best guess, the reason is what the case saw.  With
``--table`` it prints the figures as doc/reliability.md shows them.
"""

import json
import sys


def defect(row):
    flow, method, mode = row['flow'], row['method'], row['mode']
    explain = row['explain']
    if row['lost'] and flow == 'manage-copied':
        return '11.1'
    if flow.startswith('unmanage'):
        return '11.2'
    if flow in ('revert-template', 'extend-linked') and not row['held']:
        return '11.4'
    if flow == 'manage-attached' and method == 'ReconfigVM_Task' \
            and not row['held']:
        return '11.5'
    if mode.startswith('lost') and method in (
            'CreateVM_Task', 'CloneVM_Task', 'CreateSnapshot_Task') \
            and 'orphan' in explain:
        return '11.8'
    if row['held']:
        return '11.10'
    if mode.startswith('lost'):
        return '11 (a lost answer taken for a failure)'
    return '11.11'


def reason(row):
    """Say a case's outcome and what went wrong.

    '<outcome>: <what went wrong>', e.g. 'ok: orphan vm, 3 orphan
    files; unexpected disk'.
    """
    import collections
    found = collections.Counter()
    for line in row['explain'].splitlines()[1:]:
        if line.startswith('LOST'):
            found['DATA LOST'] += 1
        elif line.startswith('the error names none'):
            found['error names no volume/disk'] += 1
        elif line.startswith('the error does not say'):
            found["error hides vCenter's fault"] += 1
        elif ': (' in line:
            what, item = line.split(': (', 1)
            what = what.split(' (')[0]
            found['%s %s' % (what, item.split("'")[1])] += 1
        elif line.startswith('the fault never fired'):
            found['fault never fired'] += 1
    parts = ['%s%s' % ('%d x ' % n if n > 1 else '', what)
             for what, n in sorted(found.items())]
    return '%s: %s' % ('succeeded' if row['outcome'] == 'ok' else 'raised',
                       ', '.join(parts))


def table(figures):
    """Format the figures as a Markdown table.

    The figures as a Markdown table: per flow, per mode, 'cases held
    lost orphans unclear'.
    """
    cells = figures['table']
    modes = sorted({k.split('/')[1] for k in cells} - {'all'},
                   key=lambda m: ['task', 'lost', 'lost-refused', 'session',
                                  'drop2'].index(m))
    flows = sorted({k.split('/')[0] for k in cells} - {'all'}) + ['all']
    lines = ['| flow | ' + ' | '.join(modes) + ' | all |',
             '| --- |' + ' --- |' * (len(modes) + 1)]
    for flow in flows:
        row = []
        for mode in modes + ['all']:
            cell = cells.get('%s/%s' % (flow, mode))
            row.append('/'.join(str(x) for x in cell[:4]) if cell else '')
        lines.append('| %s | %s |' % (flow, ' | '.join(row)))
    return '\n'.join(lines)


def _out(text):
    sys.stdout.write(text + '\n')


def main():
    with open(sys.argv[1]) as f:
        figures = json.load(f)
    if sys.argv[2:] == ['--table']:
        _out(table(figures))
        return
    rows = figures['cases']
    import textwrap
    _out('FAILURES = {')
    for cid, row in sorted(rows.items()):
        if row['passed']:
            continue
        pieces = textwrap.wrap(reason(row), 64, drop_whitespace=False)
        _out('    %r: (' % cid)
        _out('        %r,' % defect(row))
        _out('\n'.join('        %r' % p for p in pieces) + '),')
    _out('}')


if __name__ == '__main__':
    main()

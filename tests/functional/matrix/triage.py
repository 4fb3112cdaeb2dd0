"""Write expected.py's list from a run's figures.

``FAULT_MATRIX_FIGURES=/tmp/m.json tools/run-tests tests/functional/matrix``
then ``.venv/bin/python -m tests.functional.matrix.triage /tmp/m.json``
prints the FAILURES dict of every case that did not pass, each with the
defect of issue 11 it shows (by flow, call and what went wrong) and the
verdict's first lines as the reason.  Review it before committing: the
defect is a best guess, the reason is what the case saw.
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
    """'<outcome>: <what went wrong>', e.g. 'ok: orphan vm, 3 orphan
    files; unexpected disk'."""
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


def main():
    with open(sys.argv[1]) as f:
        rows = json.load(f)['cases']
    import textwrap
    print('FAILURES = {')
    for cid, row in sorted(rows.items()):
        if row['passed']:
            continue
        pieces = textwrap.wrap(reason(row), 64, drop_whitespace=False)
        print('    %r: (' % cid)
        print('        %r,' % defect(row))
        print('\n'.join('        %r' % p for p in pieces) + '),')
    print('}')


if __name__ == '__main__':
    main()

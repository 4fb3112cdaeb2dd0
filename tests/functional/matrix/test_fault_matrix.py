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
"""The fault matrix: every vCenter-mutating call of every flow, faulted.

At collection, each group's simulator is started (once, for the whole
module) and each flow run twice without faults: the second run's
mutating calls (tests/functional/matrix/trace.py) give the cases, one per
(method, k-th call, fault mode), so a call a flow starts making joins the
matrix by itself; the same run is the reference of what a successful run
changes.  Each case sets its flow up afresh, injects one fault rule, runs
the flow and judges the simulator's inventory and files
(cases.judge): nothing lost, nothing orphaned, either the complete result
or nothing changed, an error naming the object and vCenter's answer.

Cases that fail for a defect not fixed yet are listed in expected.py and
run as strict xfails.  The module prints the figures (cases, held, lost,
orphans per flow and mode) at its end, and writes them as JSON to
``$FAULT_MATRIX_FIGURES`` when set.
"""

import atexit
import collections
import json
import os
import shutil
import tempfile

import pytest

from tests.functional.matrix import cases
from tests.functional.matrix import expected
from tests.functional.matrix import flows
from tests.functional.matrix import flows_backup  # noqa: F401 (its flow)
from tests.functional.matrix import flows_toolkit  # noqa: F401 (its flows)
from tests.functional.matrix import trace
from tests.functional.matrix import world

_GROUPS = {}
_STATE = {}
FIGURES = collections.OrderedDict()   # case id -> result row


def _workdir():
    if 'workdir' not in _STATE:
        path = tempfile.mkdtemp(prefix='fault-matrix-')
        atexit.register(shutil.rmtree, path, True)
        _STATE['workdir'] = path
        from tests.functional import driver_fixtures as df
        df.init_cinder(path)
    return _STATE['workdir']


def _stop_groups():
    while _GROUPS:
        _name, group = _GROUPS.popitem()
        group.stop()


def started(name):
    """The group's running simulator and drivers, its flows traced."""
    if name in _GROUPS:
        return _GROUPS[name]
    workdir = os.path.join(_workdir(), name)
    os.makedirs(workdir)
    ours = trace.start_coordination(workdir)
    try:
        if not _GROUPS:
            atexit.register(_stop_groups)
        group = flows.Group.start(name, workdir)
        _GROUPS[name] = group
        group.retry_fault = trace.retry_fault_supported(group.sim)
        group.traces = {}
        group.references = {}
        for flow in flows.group_flows(name):
            added, removed, _b, _a, error, _f, case = run_case(
                group, flow, None, 0, None)
            group.finish(case)
            group.traces[flow.name] = (case.calls, error)
            group.references[flow.name] = (added, removed)
    finally:
        if ours:
            trace.stop_coordination()
    return group


def _case_params():
    params = []
    for flow in flows.FLOWS.values():
        group = started(flow.group)
        calls, _error = group.traces[flow.name]
        params.append(pytest.param(flow.name, None, 0, None,
                                   id='%s:reference' % flow.name))
        for method in sorted(calls):
            for k in range(calls[method]):
                for mode in cases.MODES.values():
                    if not mode.applies(method):
                        continue
                    if mode.needs and not getattr(group, mode.needs):
                        continue
                    cid = cases.case_id(flow.name, method, k, mode.name)
                    marks = []
                    if cid in expected.FAILURES:
                        defect, reason = expected.FAILURES[cid]
                        # Only the unclear error of a case that held
                        # counts as the expected failure of an os-brick
                        # entry.
                        raises = (cases.Unclear if defect == 'os-brick'
                                  else None)
                        marks.append(pytest.mark.xfail(
                            strict=True, raises=raises,
                            reason='%s: %s' % (defect, reason)))
                    params.append(pytest.param(flow.name, method, k,
                                               mode.name, id=cid,
                                               marks=marks))
    return params


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ == 'test_case':
        metafunc.parametrize('flow_name, method, k, mode_name',
                             _case_params())


@pytest.fixture(scope='module')
def matrix(request):
    """Set up the matrix run and print its figures at the end.

    Fast oslo.vmware retries and Cinder's coordinator while the cases
    run; the groups stopped and the figures printed at the end.
    """
    restore = trace.fast_retries()
    ours = trace.start_coordination(os.path.join(_workdir(), 'coordination'))
    yield
    restore()
    if ours:
        trace.stop_coordination()
    _stop_groups()
    report(request.config)


def run_case(group, flow, method, k, mode):
    """Set up and run one case.

    Set up and run one case: (added, removed, before, after, error,
    fired, case).
    """
    sim, inv = group.sim, group.inv
    case = flows.Case(group)
    flow.setup(case)
    names = world.Names(case.roles)
    before = world.capture(sim, inv, case.patterns)
    sim.reset_stats()
    if mode is not None:
        rule = sim.inject_fault(method, **mode.rule(method, k))
    error = None
    try:
        flow.run(case)
    except Exception as e:  # noqa: the verdict judges it
        error = e
    finally:
        fired = None
        if mode is not None:
            (fired,) = [r['fired'] for r in sim.faults()
                        if r['id'] == rule['id']]
        sim.clear_faults()
    calls = {m: n for m, n in sim.request_counts().items()
             if trace.mutating(m)}
    case.recovered = None
    if error is not None and getattr(case, 'recover', None):
        # What an operator does after this failure (flows_backup): the
        # state right after the fault is kept for the lost-bytes check.
        case.recovered = world.capture(sim, inv, case.patterns)
        try:
            case.recover()
        except Exception as e:  # noqa: judged as a problem
            case.recover_error = e
    after = world.capture(sim, inv, case.patterns)
    added, removed = world.diff(before, after, names)
    group.cleanup(case)
    case.calls = calls
    return added, removed, before, after, error, fired, case


def test_case(matrix, flow_name, method, k, mode_name):
    flow = flows.FLOWS[flow_name]
    group = started(flow.group)
    mode = cases.MODES[mode_name] if mode_name else None
    if mode is None:
        # The traced run (at collection) is the flow's reference.
        calls, error = group.traces[flow.name]
        assert error is None, 'the flow fails without faults: %s' % error
        assert calls, 'the flow made no vCenter-mutating call'
        return
    reference = group.references[flow.name]
    added, removed, before, after, error, fired, case = run_case(
        group, flow, method, k, mode)
    try:
        _judge(flow_name, method, k, mode_name, mode, reference, added,
               removed, before, after, error, fired, case)
    finally:
        group.finish(case)


def _judge(flow_name, method, k, mode_name, mode, reference, added, removed,
           before, after, error, fired, case):
    verdict = cases.judge(before, after, added, removed, reference,
                          case.patterns, error, case.names, mode,
                          recovered=case.recovered)
    if getattr(case, 'recover_error', None) is not None:
        verdict.problems.append('the retry after the failure failed too: '
                                '%s' % (case.recover_error,))
    # What the captures cannot see (a disk's capacity), by the flow.
    for check in getattr(case, 'checks', ()):
        verdict.problems += check(error)
    if not fired:
        verdict.problems.append('the fault never fired: the flow made no '
                                '%s call #%d' % (method, k))
    FIGURES[cases.case_id(flow_name, method, k, mode_name)] = {
        'flow': flow_name, 'method': method, 'k': k, 'mode': mode_name,
        'outcome': verdict.outcome, 'held': verdict.held,
        'clear': not verdict.unclear, 'passed': verdict.passed,
        'lost': len(verdict.lost), 'orphans': cases.orphan_count(verdict),
        'explain': verdict.explain(),
        'error': error and '%s: %s' % (type(error).__name__, error)}
    assert verdict.held, verdict.explain()
    if not verdict.passed:
        raise cases.Unclear(verdict.explain())


def figures(rows):
    """Sum the matrix's figures per flow and mode.

    {(flow, mode): [cases, held, lost, orphans, unclear errors]} plus
    totals.
    """
    table = collections.OrderedDict()
    for row in rows:
        for key in ((row['flow'], row['mode']), ('all', row['mode']),
                    (row['flow'], 'all'), ('all', 'all')):
            cell = table.setdefault(key, [0, 0, 0, 0, 0])
            cell[0] += 1
            cell[1] += row['held']
            cell[2] += row['lost'] > 0
            cell[3] += row['orphans'] > 0
            cell[4] += not row['clear']
    return table


def report(config):
    rows = list(FIGURES.values())
    if not rows:
        return
    table = figures(rows)
    lines = ['fault matrix: cases / held / lost data / left orphans / '
             'unclear errors']
    for (flow, mode), cell in sorted(table.items()):
        lines.append('  %-26s %-13s %4d %4d %4d %4d %4d'
                     % ((flow, mode) + tuple(cell)))
    out = os.environ.get('FAULT_MATRIX_FIGURES')
    if out:
        with open(out, 'w') as f:
            json.dump({'cases': FIGURES, 'table': {
                '%s/%s' % k: v for k, v in table.items()}}, f, indent=1,
                sort_keys=True)
    reporter = config.pluginmanager.get_plugin('terminalreporter')
    if reporter is not None:
        reporter.write_line('')
        for line in lines:
            reporter.write_line(line)

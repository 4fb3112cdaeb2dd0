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
"""Trace the flows of the fault matrix: which vCenter-mutating calls each
makes, and how often.

A flow is run without faults, with the simulator's request statistics
reset after its setup; the methods it called, less the read-only ones, are
its calls.  ``python -m tests.functional.matrix.trace GROUP`` prints them
for one group's flows.
"""

import json
import sys
import tempfile

# Calls that change nothing in vCenter (reads, sessions, views): every
# other method a flow calls is a case of the matrix.
READ_ONLY = {
    'Login', 'Logout', 'SessionIsActive', 'RetrieveServiceContent',
    'CurrentTime', 'CreatePropertyCollector', 'DestroyPropertyCollector',
    'CreateFilter', 'DestroyPropertyFilter', 'CancelWaitForUpdates',
    'CreateContainerView', 'CreateListView', 'DestroyView',
    'AcquireCloneTicket', 'HttpNfcLeaseProgress', 'PbmRetrieveContent',
    'PbmRetrieveServiceContent', 'PbmQueryProfile',
    'PbmQueryMatchingHub', 'PbmQueryAssociatedProfile',
    'PbmQueryAssociatedProfiles', 'PbmFetchComplianceResult',
    'PbmCheckCompliance', 'PbmCheckRequirements',
}
READ_ONLY_PREFIXES = ('Retrieve', 'Continue', 'Wait', 'Find', 'Query',
                      'Search', 'Browse', 'Check', 'Validate', 'Pbm')


def mutating(method):
    return method not in READ_ONLY and not method.startswith(
        READ_ONLY_PREFIXES)


def start_coordination(state_dir):
    """Start Cinder's lock coordinator on files.

    Cinder's lock coordinator on files, as cinder-volume starts one
    (upstream's storage profile lookups are synchronized through it);
    True if this started it.
    """
    from cinder import coordination
    from oslo_config import cfg
    if coordination.COORDINATOR.started:
        return False
    cfg.CONF.set_override('backend_url', 'file://' + state_dir,
                          group='coordination')
    coordination.COORDINATOR.start()
    return True


def fast_retries():
    """Make oslo.vmware's retry wait 20 ms.

    oslo.vmware waits 10 s before retrying a call after a connection
    error; make that 20 ms (the matrix drops hundreds of connections).
    """
    from oslo_service import loopingcall
    original = loopingcall.RetryDecorator
    if getattr(original, 'matrix_fast', False):
        return lambda: None

    class Fast(original):
        matrix_fast = True

        def __init__(self, max_retry_count=-1, inc_sleep_time=10,
                     max_sleep_time=60, exceptions=()):
            super(Fast, self).__init__(max_retry_count, 0.02, 0.05,
                                       exceptions)

    loopingcall.RetryDecorator = Fast

    def restore():
        loopingcall.RetryDecorator = original
    return restore


def retry_fault_supported(sim):
    """Tell whether the simulator refuses a retried call.

    Whether the simulator refuses a retried call (simfaults' rule
    field ``retry_fault``).
    """
    import urllib.error
    try:
        rule = sim.inject_fault('MakeDirectory', drop_connection=True,
                                applied=True, retry_fault='FileAlreadyExists',
                                count=1, body_contains='no call has this')
    except urllib.error.HTTPError:
        return False
    sim.admin('faults/%s' % rule['id'], method='DELETE')
    return True


def trace_flow(group, flow):
    """Trace one flow run without faults.

    Run ``flow`` once on ``group`` without faults: (its mutating calls
    {method: count}, the case, the error or None).
    """
    from tests.functional.matrix import flows
    case = flows.Case(group)
    flow.setup(case)
    group.sim.reset_stats()
    error = None
    try:
        flow.run(case)
    except Exception as e:  # noqa: reported with the trace
        error = e
    calls = {m: s['calls'] for m, s in
             group.sim.request_stats()['methods'].items() if mutating(m)}
    group.cleanup(case)
    return calls, case, error


def _out(text):
    sys.stdout.write(text + '\n')


def main():
    """Print the trace of one group's flows.

    Print the trace of one group's flows (a second run of each: the
    first also creates what every later run finds, e.g. folders).
    """
    import logging
    from tests.functional import driver_fixtures as df
    from tests.functional.matrix import flows
    logging.basicConfig(level=logging.ERROR)
    name = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix='matrix-trace-') as workdir:
        df.init_cinder(workdir)
        start_coordination(workdir)
        group = flows.Group.start(name, workdir)
        out = {'retry_fault': retry_fault_supported(group.sim), 'flows': {}}
        try:
            for flow in flows.group_flows(name):
                trace_flow(group, flow)
                calls, _case, error = trace_flow(group, flow)
                out['flows'][flow.name] = {
                    'calls': calls, 'error': error and str(error)}
        finally:
            group.stop()
    _out(json.dumps(out, sort_keys=True, indent=1))


if __name__ == '__main__':
    main()


def stop_coordination():
    from cinder import coordination
    from oslo_config import cfg
    coordination.COORDINATOR.stop()
    cfg.CONF.clear_override('backend_url', group='coordination')

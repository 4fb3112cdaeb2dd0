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
"""Wait for Cinder resources the way an operator polls `cinder show`.

The polling is tenacity's, as in the CLI (cmd/cinder_api.py): a fixed
interval, a stop after the timeout; a timeout is one AssertionError line
naming what was awaited and what was last seen.
"""

import tenacity

INTERVAL = 0.5


def until(what, look, timeout=120, interval=None, last=None):
    """Poll ``look()`` until it returns something true.

    Call ``look()`` every ``interval`` s (default INTERVAL) until it
    returns something true, and return that; an exception from ``look``
    ends the wait. After ``timeout`` s: AssertionError ``"<what>: not
    after <timeout> s"`` and, when ``last()`` is given, ``" (last seen:
    <last()>)"``.
    """
    def give_up(state):
        seen = '' if last is None else ' (last seen: %s)' % (last(),)
        raise AssertionError('%s: not after %d s%s' % (what, timeout, seen))

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda result: not result),
        wait=tenacity.wait_fixed(INTERVAL if interval is None
                                 else interval),
        stop=tenacity.stop_after_delay(timeout),
        retry_error_callback=give_up)
    return retrying(look)


def _name(resource):
    return '%s %s' % (type(resource).__name__, resource.id)


def wait_status(manager, resource, wanted, timeout=120):
    """Poll until a resource's status is one of ``wanted``.

    Poll until the resource's status is one of ``wanted`` (a str or a
    tuple); fail early on ``error`` unless it is wanted.
    """
    wanted = (wanted,) if isinstance(wanted, str) else tuple(wanted)
    seen = {}

    def look():
        current = manager.get(resource.id)
        seen['status'] = current.status
        if current.status in wanted:
            return current
        if current.status.startswith('error'):
            raise AssertionError('%s went to %s (waiting for %s)' % (
                _name(resource), current.status, ' or '.join(wanted)))
        return None

    return until('%s to be %s' % (_name(resource), ' or '.join(wanted)),
                 look, timeout, last=lambda: seen.get('status'))


def wait_deleted(manager, resource, timeout=120):
    """Poll until getting the resource answers NotFound."""
    from cinderclient import exceptions
    seen = {}

    def look():
        try:
            seen['status'] = manager.get(resource.id).status
        except exceptions.NotFound:
            return True
        return False

    until('%s to be deleted' % _name(resource), look, timeout,
          last=lambda: seen.get('status'))

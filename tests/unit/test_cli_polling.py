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
"""CinderApi's status polling (tenacity): settles, fails, times out."""

import types

from cinderclient import exceptions

from cinder_vmware_ext.cmd import cinder_api


class Volumes(object):
    """Answers volumes.get from a script of statuses (None: gone)."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.calls = 0

    def get(self, volume_id):
        self.calls += 1
        status = self.statuses[min(self.calls, len(self.statuses)) - 1]
        if status is None:
            raise exceptions.NotFound(404)
        return types.SimpleNamespace(id=volume_id, status=status)


def _api(statuses, timeout=5):
    volumes = Volumes(statuses)
    api = cinder_api.CinderApi(types.SimpleNamespace(volumes=volumes),
                               poll_seconds=0.01, timeout_seconds=timeout)
    return api, volumes


def test_wait_until_available():
    api, volumes = _api(['creating', 'creating', 'available'])
    assert api.wait('v1') == (True, None)
    assert volumes.calls == 3


def test_wait_reports_a_failed_manage():
    api, volumes = _api(['creating', 'error_managing'])
    assert api.wait('v1') == (False, 'volume v1 is error_managing')
    assert volumes.calls == 2


def test_wait_times_out_with_the_last_status():
    api, volumes = _api(['creating'], timeout=0.1)
    ok, reason = api.wait('v1')
    assert not ok and reason == 'volume v1 still creating after 0s'
    assert volumes.calls > 1


def test_gone_and_its_failures():
    api, _volumes = _api(['deleting', None])
    assert api.gone('v1') == (True, None)
    api, _volumes = _api(['error'])
    assert api.gone('v1') == (False, 'volume v1 is error')
    api, _volumes = _api(['available'], timeout=0.1)
    assert api.gone('v1') == (False, 'volume v1 still there after 0s')

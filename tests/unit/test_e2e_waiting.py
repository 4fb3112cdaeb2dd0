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
"""tests/e2e/waiting.py's polling (tenacity): what it returns, when it
stops, and its one-line timeout errors (pure logic: a fake manager)."""

import time

from cinderclient import exceptions
import pytest

from tests.e2e import waiting


class Volume:
    def __init__(self, id, status):
        self.id = id
        self.status = status


class Manager:
    """Answers the statuses in turn, then the last one forever."""

    def __init__(self, *statuses):
        self.statuses = list(statuses)
        self.calls = 0

    def get(self, id):
        self.calls += 1
        status = self.statuses[min(self.calls, len(self.statuses)) - 1]
        if status is None:
            raise exceptions.NotFound(404)
        return Volume(id, status)


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    monkeypatch.setattr(waiting, 'INTERVAL', 0.01)


def test_wait_status_returns_the_resource_once_wanted():
    manager = Manager('creating', 'creating', 'available')
    got = waiting.wait_status(manager, Volume('v1', 'creating'),
                              ('available', 'in-use'))
    assert (got.status, manager.calls) == ('available', 3)


def test_wait_status_fails_at_once_on_error():
    manager = Manager('creating', 'error_extending')
    with pytest.raises(AssertionError) as err:
        waiting.wait_status(manager, Volume('v1', 'creating'), 'available')
    assert str(err.value) == ('Volume v1 went to error_extending (waiting '
                              'for available)')
    assert manager.calls == 2


def test_wait_status_timeout_is_one_line_naming_the_wait():
    manager = Manager('creating')
    start = time.monotonic()
    with pytest.raises(AssertionError) as err:
        waiting.wait_status(manager, Volume('v1', 'creating'),
                            ('available', 'in-use'), timeout=1)
    assert 1 <= time.monotonic() - start < 5
    assert str(err.value) == ('Volume v1 to be available or in-use: not '
                              'after 1 s (last seen: creating)')
    assert manager.calls > 10


def test_wait_deleted():
    manager = Manager('deleting', None)
    waiting.wait_deleted(manager, Volume('v2', 'deleting'))
    assert manager.calls == 2
    with pytest.raises(AssertionError) as err:
        waiting.wait_deleted(Manager('deleting'), Volume('v2', 'x'),
                             timeout=1)
    assert str(err.value) == ('Volume v2 to be deleted: not after 1 s '
                              '(last seen: deleting)')


def test_until_returns_the_first_true_result_and_lets_errors_through():
    results = iter([None, [], 'ready'])
    assert waiting.until('x', lambda: next(results)) == 'ready'

    def broken():
        raise KeyError('boom')
    with pytest.raises(KeyError):
        waiting.until('x', broken)
    with pytest.raises(AssertionError) as err:
        waiting.until('the thing', lambda: False, timeout=1)
    assert str(err.value) == 'the thing: not after 1 s'

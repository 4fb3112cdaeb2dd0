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
"""Running an import or release plan: bounded concurrency, a progress
line on a terminal, every outcome appended to the results file at once."""

import concurrent.futures
import datetime
import threading

from cinder_vmware_ext.cmd import redact
from cinder_vmware_ext.cmd import toolkit
from cinder_vmware_ext.takeover import plan


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec='seconds')


class Runner(object):
    def __init__(self, api, results_path, concurrency=4, stream=None):
        self._api = api
        self._path = results_path
        self._concurrency = max(1, concurrency)
        self._lock = threading.Lock()
        self._stream = stream

    def record(self, step, status, reason=None, volume_id=None):
        # An error's text may quote what it was given: the results file
        # holds no secret either.
        reason = redact.redact(reason) if reason else reason
        line = plan.result_line(step.key, status, reason, volume_id,
                                step.entry.get('proposed', {}).get('name'),
                                _now())
        with self._lock, open(self._path, 'a', encoding='utf-8') as f:
            f.write(line)
            f.flush()
        return {'key': step.key, 'status': status, 'reason': reason,
                'volume_id': volume_id}

    def run(self, steps, work):
        """Apply ``work`` to each step that is not a skip.

        Apply ``work(step) -> (status, reason, volume_id)`` to each step
        that is not a skip; returns every step's result.
        """
        results = [self.record(s, plan.SKIPPED, s.reason, s.volume_id)
                   for s in steps if s.action == plan.SKIP]
        todo = [s for s in steps if s.action != plan.SKIP]
        progress = toolkit.Progress(len(todo), self._stream)
        with concurrent.futures.ThreadPoolExecutor(
                self._concurrency) as pool:
            futures = {pool.submit(self._guarded, work, s): s for s in todo}
            for future in concurrent.futures.as_completed(futures):
                status, reason, volume_id = future.result()
                results.append(self.record(futures[future], status, reason,
                                           volume_id))
                progress.advance()
        return results

    @staticmethod
    def _guarded(work, step):
        try:
            return work(step)
        except Exception as err:  # one disk's failure must not stop the rest
            return plan.FAILED, '%s: %s' % (err.__class__.__name__, err), None


def manage_work(api):
    def work(step):
        volume_id = api.manage(step.entry)
        ok, reason = api.wait(volume_id)
        return (plan.MANAGED if ok else plan.FAILED), reason, volume_id
    return work


def release_work(api):
    def work(step):
        api.unmanage(step.volume_id)
        ok, reason = api.gone(step.volume_id)
        return (plan.RELEASED if ok else plan.FAILED), reason, step.volume_id
    return work

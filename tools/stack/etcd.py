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
"""A private etcd on loopback, from Debian's etcd-server.

The lock service behind Cinder's coordination layer (``cinder.coordination``
on tooz) for the tests, the demo and the cluster stack: ``[coordination]
backend_url = etcd3+http://127.0.0.1:PORT``.  Its data directory is under
the stack's own directory, its client and peer ports are picked free, and
it runs as the current user: nothing is left behind once it is stopped.
"""

import json
import os
import shutil
import urllib.request

from tools.stack import procs

ETCD = 'etcd'


class Etcd(object):
    def __init__(self, workdir, log_dir):
        self.dir = os.path.join(workdir, 'etcd')
        self.log_dir = log_dir
        self.port = None
        self.server = None

    @property
    def backend_url(self):
        """The tooz URL (``[coordination] backend_url``)."""
        return 'etcd3+http://127.0.0.1:%d' % self.port

    @property
    def client_url(self):
        return 'http://127.0.0.1:%d' % self.port

    def processes(self):
        return [self.server] if self.server is not None else []

    def start(self, timeout=30):
        binary = shutil.which(ETCD)
        if not binary:
            raise procs.StackError(
                'etcd not found: install Debian\'s etcd-server '
                '(tools/setup-env does)')
        os.makedirs(self.log_dir, exist_ok=True)
        self.port = procs.free_port()
        peer_port = procs.free_port()
        peer_url = 'http://127.0.0.1:%d' % peer_port
        argv = [binary, '--name', 'cinder-vmware-ext',
                '--data-dir', self.dir,
                '--listen-client-urls', self.client_url,
                '--advertise-client-urls', self.client_url,
                '--listen-peer-urls', peer_url,
                '--initial-advertise-peer-urls', peer_url,
                '--initial-cluster', 'cinder-vmware-ext=%s' % peer_url,
                '--initial-cluster-state', 'new',
                '--log-level', 'warn']
        # Debian's etcd 3.4 needs this on arm64 and ignores it elsewhere.
        env = dict(os.environ, ETCD_UNSUPPORTED_ARCH='arm64')
        self.server = procs.Process(
            'etcd', argv, os.path.join(self.log_dir, 'etcd.log'),
            env=env).start()
        procs.wait_for('etcd on port %d' % self.port, self._healthy,
                       timeout, [(self.server, self.server.log_file)])
        return self

    def _healthy(self):
        with urllib.request.urlopen(self.client_url + '/health',
                                    timeout=2) as answer:
            return json.load(answer).get('health') == 'true'

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None
        shutil.rmtree(self.dir, ignore_errors=True)

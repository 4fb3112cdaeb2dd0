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
"""A private RabbitMQ broker on loopback, from Debian's rabbitmq-server.

Everything it writes (mnesia, logs, feature flags, the Erlang cookie) goes
under one directory, its ports are picked free, and Erlang's port mapper
(epmd) runs in the foreground as our own child instead of the shared
daemon Erlang would otherwise start (and leave behind) on port 4369.
It runs as the current user (root included): no file leaves its directory,
so it needs no rights of Debian's ``rabbitmq`` user.
"""

import os
import shutil

from tools.stack import procs

RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'
EPMD = 'epmd'


class Broker(object):
    def __init__(self, workdir, log_dir):
        self.dir = os.path.join(workdir, 'rabbitmq')
        self.log_dir = log_dir
        self.port = None
        self.epmd = None
        self.server = None

    @property
    def transport_url(self):
        return 'rabbit://guest:guest@127.0.0.1:%d/' % self.port

    def processes(self):
        return [p for p in (self.epmd, self.server) if p is not None]

    def start(self, timeout=90):
        if not os.path.exists(RABBITMQ_SERVER):
            raise procs.StackError(
                '%s not found: install Debian\'s rabbitmq-server '
                '(tools/setup-env does)' % RABBITMQ_SERVER)
        self.port = procs.free_port()
        epmd_port = procs.free_port()
        env = self._environment(epmd_port)
        self.epmd = procs.Process(
            'epmd', [shutil.which(EPMD) or EPMD, '-port', str(epmd_port),
                     '-address', '127.0.0.1'],
            os.path.join(self.log_dir, 'epmd.log'), env=env).start()
        procs.wait_for('epmd', lambda: procs.port_open(epmd_port), 20,
                       [(self.epmd, self.epmd.log_file)])
        self.server = procs.Process(
            'rabbitmq-server', [RABBITMQ_SERVER],
            os.path.join(self.log_dir, 'rabbitmq.log'), env=env,
            cwd=self.dir).start()
        procs.wait_for('rabbitmq-server on port %d' % self.port,
                       self._accepts_amqp, timeout,
                       [(self.server, self.server.log_file)])
        return self

    def stop(self):
        for proc in (self.server, self.epmd):
            if proc is not None:
                proc.stop()

    def _environment(self, epmd_port):
        home = os.path.join(self.dir, 'home')
        for sub in ('home', 'mnesia', 'log', 'plugins-expand'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        enabled_plugins = os.path.join(self.dir, 'enabled_plugins')
        with open(enabled_plugins, 'w') as f:
            f.write('[].\n')
        env = dict(os.environ)
        env.update({
            'HOME': home,
            'ERL_EPMD_PORT': str(epmd_port),
            'ERL_EPMD_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODENAME': 'cinder-stack-%d@localhost' % self.port,
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(procs.free_port()),
            'RABBITMQ_MNESIA_BASE': os.path.join(self.dir, 'mnesia'),
            'RABBITMQ_LOG_BASE': os.path.join(self.dir, 'log'),
            'RABBITMQ_LOGS': '-',
            'RABBITMQ_FEATURE_FLAGS_FILE': os.path.join(self.dir,
                                                        'feature_flags'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': enabled_plugins,
            'RABBITMQ_PLUGINS_EXPAND_DIR': os.path.join(self.dir,
                                                        'plugins-expand'),
            'RABBITMQ_PID_FILE': os.path.join(self.dir, 'rabbitmq.pid'),
            # Keep the machine's /etc/rabbitmq settings out of it.
            'RABBITMQ_CONF_ENV_FILE': os.path.join(self.dir,
                                                   'rabbitmq-env.conf'),
            'RABBITMQ_CONFIG_FILE': os.path.join(self.dir, 'rabbitmq'),
            'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(self.dir,
                                                          'advanced.config'),
        })
        return env

    def _accepts_amqp(self):
        if not procs.port_open(self.port):
            return False
        import kombu
        # kombu names the protocol amqp; oslo.messaging names it rabbit.
        url = 'amqp' + self.transport_url[len('rabbit'):]
        with kombu.Connection(url, connect_timeout=2) as conn:
            conn.connect()
        return True

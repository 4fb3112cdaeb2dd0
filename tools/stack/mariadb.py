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
"""A private MariaDB on loopback, from Debian's mariadb-server.

Cinder's database for stacks whose services write concurrently (several
cinder-volume services of one cluster): SQLite takes one writer at a time.
The data directory, socket and pid file are under the stack's own
directory, the port is picked free, and the server runs as the current
user (``--user`` is given only as root, where mariadbd insists on it).
``root`` logs in over TCP on loopback without a password: the server
listens on 127.0.0.1 only and lives as long as the stack.
"""

import os
import shutil
import subprocess

from tools.stack import procs

INSTALL_DB = 'mariadb-install-db'
SERVER = 'mariadbd'
CLIENT = 'mariadb'


class MariaDB(object):
    def __init__(self, workdir, log_dir):
        self.dir = os.path.join(workdir, 'mariadb')
        self.log_dir = log_dir
        self.port = None
        self.server = None

    @property
    def socket(self):
        return os.path.join(self.dir, 'mariadb.sock')

    def processes(self):
        return [self.server] if self.server is not None else []

    def url(self, database):
        """SQLAlchemy URL of ``database``, created empty if missing."""
        self.sql('CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4'
                 % database)
        return ('mysql+pymysql://root@127.0.0.1:%d/%s?charset=utf8mb4'
                % (self.port, database))

    def sql(self, statement):
        subprocess.run(
            [shutil.which(CLIENT) or CLIENT, '--no-defaults',
             '--socket', self.socket, '-uroot', '-e', statement],
            check=True, capture_output=True, timeout=30)

    def _user_args(self):
        return ['--user=root'] if os.geteuid() == 0 else []

    def start(self, timeout=60):
        for tool in (INSTALL_DB, SERVER):
            if not shutil.which(tool):
                raise procs.StackError(
                    '%s not found: install Debian\'s mariadb-server '
                    '(tools/setup-env does)' % tool)
        os.makedirs(self.log_dir, exist_ok=True)
        data = os.path.join(self.dir, 'data')
        log = os.path.join(self.log_dir, 'mariadb.log')
        if not os.path.isdir(os.path.join(data, 'mysql')):
            os.makedirs(data, exist_ok=True)
            with open(log, 'ab') as out:
                subprocess.run(
                    [shutil.which(INSTALL_DB), '--no-defaults',
                     '--datadir=%s' % data, '--auth-root-authentication-'
                     'method=normal', '--skip-test-db'] + self._user_args(),
                    stdout=out, stderr=subprocess.STDOUT, check=True,
                    timeout=120)
        self.port = procs.free_port()
        argv = [shutil.which(SERVER), '--no-defaults',
                '--datadir=%s' % data, '--socket=%s' % self.socket,
                '--pid-file=%s' % os.path.join(self.dir, 'mariadb.pid'),
                '--port=%d' % self.port, '--bind-address=127.0.0.1',
                '--skip-name-resolve', '--innodb-buffer-pool-size=128M',
                '--innodb-flush-log-at-trx-commit=2',
                '--max-connections=500',
                '--log-error=%s' % log] + self._user_args()
        self.server = procs.Process('mariadbd', argv, log).start()
        procs.wait_for('mariadbd on port %d' % self.port, self._ready,
                       timeout, [(self.server, log)])
        return self

    def _ready(self):
        if not procs.port_open(self.port):
            return False
        self.sql('SELECT 1')
        return True

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None
        shutil.rmtree(self.dir, ignore_errors=True)

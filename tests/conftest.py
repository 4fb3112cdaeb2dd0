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
"""Session-wide services for the tests that need them (started lazily).

``etcd``: a private etcd on loopback (tools/stack/etcd.py), the lock
service behind Cinder's coordination layer.  ``coordination``: Cinder's own
``cinder.coordination.COORDINATOR`` started on it (``[coordination]
backend_url``), as cinder-volume starts it; yields the backend URL.
``mariadb``: a private MariaDB on loopback (tools/stack/mariadb.py) for
tests whose writers must really run concurrently.  Each is stopped by PID
at the end of the session.
"""

import pytest

from tests import wsdl_cache
from tools.stack import etcd as etcd_server
from tools.stack import mariadb as mariadb_server

# One parsed WSDL per process for every simulator (tests/wsdl_cache.py).
wsdl_cache.install()


@pytest.fixture(scope='session')
def etcd(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp('etcd'))
    server = etcd_server.Etcd(workdir, workdir).start()
    yield server
    server.stop()


@pytest.fixture(scope='session')
def coordination(etcd, tmp_path_factory):
    from cinder import coordination as cinder_coordination
    from oslo_config import cfg

    from tests.functional import driver_fixtures as df
    # Cinder's options parsed once per process (idempotent), as the
    # functional tests' database fixture does.
    df.init_cinder(str(tmp_path_factory.mktemp('cinder')))
    cfg.CONF.set_override('backend_url', etcd.backend_url, 'coordination')
    # A driver set up earlier in the session may have started it on the
    # default (file) backend: start it again on etcd.
    cinder_coordination.COORDINATOR.stop()
    cinder_coordination.COORDINATOR.start()
    yield etcd.backend_url
    cinder_coordination.COORDINATOR.stop()
    cfg.CONF.clear_override('backend_url', 'coordination')


@pytest.fixture(scope='session')
def mariadb(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp('mariadb'))
    server = mariadb_server.MariaDB(workdir, workdir).start()
    yield server
    server.stop()

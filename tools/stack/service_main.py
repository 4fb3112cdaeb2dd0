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
"""Run one Cinder service's console script with SQLite transactions that
take the write lock when they begin.

With SQLite's write-ahead log, a transaction that reads and then writes
(Cinder's volume-type delete, quota commits) fails at once with "database
is locked" when another process committed in between: the busy timeout
does not apply to that case.  ``BEGIN IMMEDIATE`` makes each transaction
wait (up to the connection's ``timeout``) for the lock instead, which is
what the SQLAlchemy documentation recommends for pysqlite.  Only the
demo/test stack uses this; a production Cinder uses MySQL or PostgreSQL.

Usage: service_main.py CONSOLE_SCRIPT [ARGS...]
"""

from importlib import metadata
import sys


def _serialise_sqlite_writers():
    from sqlalchemy import engine
    from sqlalchemy import event

    # oslo.db already turns pysqlite's implicit BEGIN off and emits a plain
    # (deferred) BEGIN unless conn.info says a transaction is open; this
    # class-level listener runs before its per-engine one, so it begins the
    # transaction the immediate way and marks it for oslo.db to skip.
    @event.listens_for(engine.Engine, 'begin')
    def _begin_immediate(connection):
        if (connection.dialect.name == 'sqlite' and
                'in_transaction' not in connection.info):
            connection.exec_driver_sql('BEGIN IMMEDIATE')
            connection.info['in_transaction'] = True


def main():
    name = sys.argv[1]
    found = [ep for ep in metadata.entry_points(group='console_scripts')
             if ep.name == name]
    if not found:
        sys.exit('service_main: no console script named %r' % name)
    # Loading the entry point imports the service's module first (it
    # monkey-patches for eventlet before anything else is imported).
    run = found[0].load()
    _serialise_sqlite_writers()
    sys.argv = [name] + sys.argv[2:]
    sys.exit(run())


if __name__ == '__main__':
    main()

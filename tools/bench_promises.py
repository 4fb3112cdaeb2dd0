#!/usr/bin/env python3
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
"""Benchmark: what the promise ledger adds to a warm stats refresh.

Starts the simulator (tests/functional/test_promises.py's topology), a
Cinder database (SQLite, or MariaDB with --mariadb, started on loopback by
tools/stack/mariadb.py) holding --volumes volume rows of which --promised
carry a promise on the pools' datastores, and the driver against both.
Then, --repeat times each, in alternation:

* warm refresh with the ledger: ``get_volume_stats(refresh=True)``;
* warm refresh without it (the pool service's ledger detached: the figures
  the driver reported before promises);
* the ledger query alone (``PromiseLedger.totals()``, what stats ask).

Prints medians and p95 in ms, and the difference (target: under 50 ms).
Not a test: figures only.

Usage: .venv/bin/python -m tools.bench_promises [--volumes N]
       [--promised N] [--repeat N] [--mariadb]
"""

import argparse
import statistics
import tempfile
import time
import uuid


GiB = 1024 ** 3


def insert_volumes(count, promised, ledger, datastore_refs, type_id):
    """Insert volume rows, some with a thick promise, in one batch.

    ``count`` volume rows, the first ``promised`` with a 1 GiB thick
    promise on one of ``datastore_refs`` (in turn); one INSERT batch.
    """
    from cinder.db import api as db_api
    from cinder.db import models
    from oslo_utils import timeutils
    import sqlalchemy as sa
    now = timeutils.utcnow()
    rows = []
    for i in range(count):
        location = None
        if i < promised:
            location = ledger.promise(
                datastore_refs[i % len(datastore_refs)], GiB).location()
        rows.append(dict(
            id=str(uuid.uuid4()), created_at=now, deleted=False,
            status='available' if i % 10 else 'in-use', size=1,
            host='bench@vmware#gold', project_id='bench', user_id='bench',
            attach_status='detached', provider_location=location,
            volume_type_id=type_id))
    engine = db_api.get_engine()
    with engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            conn.execute(sa.insert(models.Volume.__table__),
                         rows[start:start + 1000])


def timed(func):
    t0 = time.perf_counter()
    func()
    return (time.perf_counter() - t0) * 1000


def summary(values):
    ordered = sorted(values)
    return statistics.median(ordered), ordered[
        max(0, int(len(ordered) * 0.95) - 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--volumes', type=int, default=10000)
    parser.add_argument('--promised', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=30)
    parser.add_argument('--mariadb', action='store_true')
    args = parser.parse_args()

    from tests.functional import driver_fixtures as fx
    from tests.functional import test_promises
    from tests import simulator as vcsim

    workdir = tempfile.mkdtemp(prefix='bench-promises-')
    server = None
    sim = vcsim.Simulator.start(test_promises.TOPOLOGY, workdir=workdir)
    try:
        connection = None
        if args.mariadb:
            from tools.stack import mariadb
            server = mariadb.MariaDB(workdir, workdir).start()
            connection = server.url('cinder')
        fx.init_cinder(workdir, connection=connection)
        drv = fx.make_driver(sim, vmware_cluster_name=['gold', 'silver'],
                             vmware_lazy_create=True)
        service = drv._pools
        inventory, found = service.current()
        refs = sorted({ds.ref for p in found for ds in p.datastores})
        type_id = fx.volume_type(fx.admin_context(), vmdk_type='thick')
        insert_volumes(args.volumes, args.promised, service.ledger, refs,
                       type_id)
        drv.get_volume_stats(refresh=True)   # warm the inventory cache
        ledger = service.ledger
        with_ledger, without, query = [], [], []
        for _ in range(args.repeat):
            with_ledger.append(timed(
                lambda: drv.get_volume_stats(refresh=True)))
            service.ledger = None
            try:
                without.append(timed(
                    lambda: drv.get_volume_stats(refresh=True)))
            finally:
                service.ledger = ledger
            query.append(timed(ledger.totals))
        pools = {p['pool_name']: p['promised_capacity_gb']
                 for p in drv.get_volume_stats(refresh=True)['pools']}
        db = 'MariaDB' if args.mariadb else 'SQLite'
        print('%s, %d volume rows, %d promised (1 GiB each), %d repeats'
              % (db, args.volumes, args.promised, args.repeat))
        print('promised_capacity_gb per pool: %s' % pools)
        for label, values in (('warm refresh, with promises', with_ledger),
                              ('warm refresh, without', without),
                              ('promise query alone', query)):
            med, p95 = summary(values)
            print('  %-30s median %7.2f ms   p95 %7.2f ms'
                  % (label, med, p95))
        added = summary(with_ledger)[0] - summary(without)[0]
        print('  added by the promise accounting (median): %.2f ms '
              '(target < 50 ms)' % added)
        fx.close_driver(drv)
    finally:
        sim.stop()
        if server is not None:
            server.stop()


if __name__ == '__main__':
    main()

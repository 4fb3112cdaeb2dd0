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
"""The coordination service the driver's cross-service locks rely on.

Cinder's own ``cinder.coordination`` on a real etcd: a lock held by one
coordinator member excludes a second member (another service), and is free
again once released.  The MariaDB server takes concurrent writers.
"""

import threading

from cinder import coordination as cinder_coordination
from tooz import coordination as tooz_coordination


def test_a_lock_excludes_another_member_until_released(coordination):
    # A second member, as a second cinder-volume service would be.
    other = tooz_coordination.get_coordinator(coordination, b'other-service')
    other.start(start_heart=True)
    try:
        mine = cinder_coordination.COORDINATOR.get_lock('vmware-ext-test-lock')
        theirs = other.get_lock(b'cinder-vmware-ext-test-lock')
        assert mine.acquire(blocking=True)
        try:
            assert not theirs.acquire(blocking=False)
        finally:
            mine.release()
        assert theirs.acquire(blocking=5)
        theirs.release()
    finally:
        other.stop()


def test_mariadb_takes_concurrent_writers(mariadb):
    import sqlalchemy
    engine = sqlalchemy.create_engine(mariadb.url('concurrency'),
                                      pool_size=8)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(
            'CREATE TABLE hits (id INT AUTO_INCREMENT PRIMARY KEY, '
            'who INT NOT NULL)'))
    errors = []

    def write(who):
        try:
            for _ in range(20):
                with engine.begin() as conn:
                    conn.execute(sqlalchemy.text(
                        'INSERT INTO hits (who) VALUES (:w)'), {'w': who})
        except Exception as err:  # noqa: report every writer's failure
            errors.append(err)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    with engine.connect() as conn:
        count = conn.execute(sqlalchemy.text(
            'SELECT COUNT(*) FROM hits')).scalar()
    engine.dispose()
    assert errors == []
    assert count == 8 * 20

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
"""Back-end QoS specs -> a virtual disk's StorageIOAllocation.

vSphere enforces per-disk I/O through ``VirtualDisk.storageIOAllocation``:
an IOPS ``limit`` (-1 = unlimited), a ``reservation`` in IOPS and
``shares`` (a level low/normal/high, or custom with a number).  The QoS
spec keys this driver understands:

* ``total_iops_sec``, or ``read_iops_sec`` + ``write_iops_sec`` (summed,
  vSphere has one limit for both) -> ``limit``
* ``vmware:iops_reservation`` -> ``reservation``
* ``vmware:shares_level`` (low, normal, high, custom) and
  ``vmware:shares`` (required with, and only with, custom) -> ``shares``

Specs for the ``front-end`` consumer are Nova's business and ignored
here.  With consumer ``both``, Cinder's standard front-end keys (bytes per
second, bursts...) are left to Nova; with ``back-end`` they are an error,
since nothing would enforce them.  Any other key is an error.
"""

import dataclasses
import typing

UNLIMITED = -1
# vSphere's StorageIOAllocationInfo: limit is an xsd:long, reservation and
# SharesInfo.shares are xsd:int.  Larger values would reach vCenter only
# to fail as a decoding error.
INT64_MAX = 2 ** 63 - 1
INT32_MAX = 2 ** 31 - 1
SHARES_LEVELS = ('low', 'normal', 'high', 'custom')
CONSUMERS = ('back-end', 'front-end', 'both')

_IOPS_KEYS = ('total_iops_sec', 'read_iops_sec', 'write_iops_sec')
_OWN_KEYS = ('vmware:iops_reservation', 'vmware:shares_level',
             'vmware:shares')
# Cinder's standard front-end keys (cinder/volume/qos_specs.py and Nova's
# libvirt driver), meaningful to Nova when the consumer is "both".
FRONT_END_KEYS = frozenset([
    'total_bytes_sec', 'read_bytes_sec', 'write_bytes_sec',
    'total_bytes_sec_max', 'read_bytes_sec_max', 'write_bytes_sec_max',
    'total_iops_sec_max', 'read_iops_sec_max', 'write_iops_sec_max',
    'size_iops_sec', 'total_iops_sec_per_gb', 'read_iops_sec_per_gb',
    'write_iops_sec_per_gb', 'total_bytes_sec_per_gb',
    'read_bytes_sec_per_gb', 'write_bytes_sec_per_gb',
    'total_iops_sec_per_gb_min', 'read_iops_sec_per_gb_min',
    'write_iops_sec_per_gb_min', 'total_bytes_sec_per_gb_min',
    'read_bytes_sec_per_gb_min', 'write_bytes_sec_per_gb_min',
    'total_iops_sec_max_length', 'read_iops_sec_max_length',
    'write_iops_sec_max_length', 'total_bytes_sec_max_length',
    'read_bytes_sec_max_length', 'write_bytes_sec_max_length'])


class InvalidQoS(ValueError):
    """A QoS spec this driver cannot apply; the message names the key."""


@dataclasses.dataclass(frozen=True)
class IOAllocation:
    """What goes into ``VirtualDisk.storageIOAllocation``."""

    limit: int = UNLIMITED
    reservation: int = 0
    shares_level: str = 'normal'
    shares: typing.Optional[int] = None

    @property
    def is_default(self):
        return self == IOAllocation()


DEFAULT = IOAllocation()


def _whole_number(key, value, minimum, maximum):
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidQoS('QoS spec %s=%r is not a whole number.'
                         % (key, value))
    if number < minimum:
        raise InvalidQoS('QoS spec %s=%s must be at least %d.'
                         % (key, number, minimum))
    if number > maximum:
        raise InvalidQoS('QoS spec %s=%s is out of vSphere\'s range %d to '
                         '%d.' % (key, number, minimum, maximum))
    return number


def io_allocation(consumer, specs) -> IOAllocation:
    """The disk allocation a volume type's QoS spec asks for.

    :param consumer: the spec's consumer (None when the type has no spec)
    :param specs: its key/value pairs
    :raises InvalidQoS: naming the offending key and value
    """
    if consumer is None or consumer == 'front-end':
        return DEFAULT
    if consumer not in CONSUMERS:
        raise InvalidQoS('QoS consumer %r is not one of %s.'
                         % (consumer, ', '.join(CONSUMERS)))
    specs = dict(specs or {})
    for key in specs:
        if key in _IOPS_KEYS or key in _OWN_KEYS:
            continue
        if key in FRONT_END_KEYS and consumer == 'both':
            continue
        if key in FRONT_END_KEYS:
            raise InvalidQoS('QoS spec %s is a front-end key; vSphere cannot '
                             'enforce it for consumer back-end (use '
                             'consumer both or front-end for Nova).' % key)
        raise InvalidQoS('QoS spec %s is not supported by the VMware driver '
                         '(supported: %s).'
                         % (key, ', '.join(_IOPS_KEYS + _OWN_KEYS)))
    return IOAllocation(limit=_limit(specs),
                        reservation=_reservation(specs),
                        **_shares(specs))


def _limit(specs):
    total = specs.get('total_iops_sec')
    read, write = specs.get('read_iops_sec'), specs.get('write_iops_sec')
    if total is not None and (read is not None or write is not None):
        raise InvalidQoS('QoS specs total_iops_sec and read_iops_sec/'
                         'write_iops_sec exclude each other.')
    if total is not None:
        return _whole_number('total_iops_sec', total, 1, INT64_MAX)
    if (read is None) != (write is None):
        raise InvalidQoS('QoS specs read_iops_sec and write_iops_sec go '
                         'together: vSphere has a single IOPS limit, their '
                         'sum.')
    if read is None:
        return UNLIMITED
    limit = (_whole_number('read_iops_sec', read, 1, INT64_MAX) +
             _whole_number('write_iops_sec', write, 1, INT64_MAX))
    if limit > INT64_MAX:
        raise InvalidQoS('QoS specs read_iops_sec + write_iops_sec = %d is '
                         'out of vSphere\'s range 2 to %d for the IOPS '
                         'limit.' % (limit, INT64_MAX))
    return limit


def _reservation(specs):
    value = specs.get('vmware:iops_reservation')
    if value is None:
        return 0
    reservation = _whole_number('vmware:iops_reservation', value, 0,
                                INT32_MAX)
    limit = _limit(specs)
    if limit != UNLIMITED and reservation > limit:
        raise InvalidQoS('QoS spec vmware:iops_reservation=%d exceeds the '
                         'IOPS limit %d.' % (reservation, limit))
    return reservation


def _shares(specs):
    level = specs.get('vmware:shares_level', 'normal')
    if level not in SHARES_LEVELS:
        raise InvalidQoS('QoS spec vmware:shares_level=%r is not one of %s.'
                         % (level, ', '.join(SHARES_LEVELS)))
    shares = specs.get('vmware:shares')
    if level == 'custom':
        if shares is None:
            raise InvalidQoS('QoS spec vmware:shares_level=custom needs '
                             'vmware:shares.')
        return {'shares_level': level,
                'shares': _whole_number('vmware:shares', shares, 1,
                                        INT32_MAX)}
    if shares is not None:
        raise InvalidQoS('QoS spec vmware:shares is only valid with '
                         'vmware:shares_level=custom.')
    return {'shares_level': level}

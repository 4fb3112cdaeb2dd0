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
import pytest

from cinder_vmware_ext.core import qos


@pytest.mark.parametrize('consumer, specs, expected', [
    (None, {}, qos.DEFAULT),
    ('front-end', {'total_iops_sec': '100', 'anything': 'x'}, qos.DEFAULT),
    ('back-end', {'total_iops_sec': '500'}, qos.IOAllocation(limit=500)),
    ('both', {'read_iops_sec': '300', 'write_iops_sec': '200',
              'total_bytes_sec': '1000'}, qos.IOAllocation(limit=500)),
    ('back-end', {'total_iops_sec': '500', 'vmware:iops_reservation': '100',
                  'vmware:shares_level': 'high'},
     qos.IOAllocation(limit=500, reservation=100, shares_level='high')),
    ('back-end', {'vmware:shares_level': 'custom', 'vmware:shares': '1500'},
     qos.IOAllocation(shares_level='custom', shares=1500)),
    ('back-end', {'vmware:iops_reservation': '50'},
     qos.IOAllocation(reservation=50)),
    # vSphere's largest values still pass.
    ('back-end', {'total_iops_sec': str(2 ** 63 - 1)},
     qos.IOAllocation(limit=2 ** 63 - 1)),
    ('back-end', {'vmware:iops_reservation': str(2 ** 31 - 1)},
     qos.IOAllocation(reservation=2 ** 31 - 1)),
    ('back-end', {'vmware:shares_level': 'custom',
                  'vmware:shares': str(2 ** 31 - 1)},
     qos.IOAllocation(shares_level='custom', shares=2 ** 31 - 1)),
])
def test_mapping(consumer, specs, expected):
    assert qos.io_allocation(consumer, specs) == expected


@pytest.mark.parametrize('consumer, specs, named', [
    ('back-end', {'bogus': '1'}, 'bogus'),
    ('back-end', {'total_bytes_sec': '1'}, 'total_bytes_sec'),
    ('sideways', {}, 'sideways'),
    ('back-end', {'total_iops_sec': 'fast'}, 'total_iops_sec'),
    ('back-end', {'total_iops_sec': '0'}, 'total_iops_sec'),
    ('back-end', {'total_iops_sec': '5', 'read_iops_sec': '1'},
     'exclude each other'),
    ('back-end', {'read_iops_sec': '5'}, 'go together'),
    ('back-end', {'vmware:iops_reservation': '-1'}, 'iops_reservation'),
    ('back-end', {'total_iops_sec': '10', 'vmware:iops_reservation': '11'},
     'exceeds'),
    ('back-end', {'vmware:shares_level': 'extreme'}, 'shares_level'),
    ('back-end', {'vmware:shares_level': 'custom'}, 'needs vmware:shares'),
    ('back-end', {'vmware:shares': '10'}, 'only valid with'),
    # Over vSphere's ranges (xsd:long limit, xsd:int reservation and
    # shares): refused here, never a decoding error from vCenter.
    ('back-end', {'total_iops_sec': str(2 ** 63)},
     r'total_iops_sec=9223372036854775808 is out of vSphere\'s range 1 to '
     r'9223372036854775807'),
    ('back-end', {'read_iops_sec': str(2 ** 62), 'write_iops_sec':
                  str(2 ** 62)}, r'read_iops_sec \+ write_iops_sec'),
    ('back-end', {'read_iops_sec': str(2 ** 63), 'write_iops_sec': '1'},
     r'read_iops_sec=9223372036854775808 is out'),
    ('back-end', {'vmware:iops_reservation': str(2 ** 31)},
     r'iops_reservation=2147483648 is out of vSphere\'s range 0 to '
     r'2147483647'),
    ('back-end', {'vmware:shares_level': 'custom',
                  'vmware:shares': str(10 ** 12)},
     r'vmware:shares=1000000000000 is out of vSphere\'s range 1 to '
     r'2147483647'),
])
def test_invalid_specs_name_the_problem(consumer, specs, named):
    with pytest.raises(qos.InvalidQoS, match=named):
        qos.io_allocation(consumer, specs)

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
])
def test_invalid_specs_name_the_problem(consumer, specs, named):
    with pytest.raises(qos.InvalidQoS, match=named):
        qos.io_allocation(consumer, specs)

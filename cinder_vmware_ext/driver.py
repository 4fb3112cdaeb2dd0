"""VMware vCenter VMDK volume driver, extended.

``VMwareVcVmdkExtDriver`` is upstream Cinder's ``VMwareVcVmdkDriver`` with
this project's options added; behaviour changes land here as overrides so
that every upstream flow keeps working through the subclass.

Enable it in cinder.conf with::

    [vmware-1]
    volume_driver = cinder_vmware_ext.driver.VMwareVcVmdkExtDriver
"""

from cinder import interface
from cinder.volume.drivers.vmware import vmdk

from cinder_vmware_ext import opts


@interface.volumedriver
class VMwareVcVmdkExtDriver(vmdk.VMwareVcVmdkDriver):
    """Upstream's vCenter VMDK driver plus cinder-vmware-ext's options."""

    # 1.0.0 - subclass of upstream's VMwareVcVmdkDriver 3.4.4, adds the
    #         vmware_pool_mode option.
    VERSION = '1.0.0'

    def __init__(self, *args, **kwargs):
        super(VMwareVcVmdkExtDriver, self).__init__(*args, **kwargs)
        self.configuration.append_config_values(opts.vmware_ext_opts)

    @staticmethod
    def get_driver_options():
        return vmdk.VMwareVcVmdkDriver.get_driver_options() + \
            opts.vmware_ext_opts

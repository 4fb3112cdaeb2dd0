#!/bin/bash
# devstack plugin for cinder-vmware-ext: installs the package next to
# Cinder and adds a VMware vCenter backend that uses its driver, through
# devstack's backend contract:
#
#   enable_plugin cinder-vmware-ext <git URL of this repository>
#
# override-defaults adds vmware_ext:$CINDER_VMWARE_BACKEND to
# CINDER_ENABLED_BACKENDS; lib/cinder then calls
# configure_cinder_backend_vmware_ext NAME (below) while it writes
# cinder.conf, sets enabled_backends and creates the volume type.
#
# Variables: see devstack/settings, which devstack sources before this
# file (so shellcheck cannot see them assigned):
# shellcheck disable=SC2153

CINDER_VMWARE_EXT_DRIVER=cinder_vmware_ext.driver.VMwareVcVmdkExtDriver
# pyparsing 3.3.3 breaks cinder 29's scheduler evaluator for any
# filter/goodness expression naming a variable, which is every expression
# this driver reports (requirements.txt excludes it too).
CINDER_VMWARE_EXT_PYPARSING='pyparsing!=3.3.3'

function install_cinder_vmware_ext {
    setup_develop "$CINDER_VMWARE_EXT_DIR"
    pip_install "$CINDER_VMWARE_EXT_PYPARSING"
}

# TLS verification of vCenter: on, with VMWAREAPI_CA_FILE or the system's
# CAs; off only when VMWAREAPI_INSECURE is true.
function _cinder_vmware_ext_configure_tls {
    local be=$1
    if [[ "${VMWAREAPI_INSECURE,,}" == "true" ]]; then
        if [[ -n "$VMWAREAPI_CA_FILE" ]]; then
            die "$LINENO" "cinder-vmware-ext: VMWAREAPI_INSECURE=True turns certificate verification off, VMWAREAPI_CA_FILE=$VMWAREAPI_CA_FILE turns it on: set one of them"
        fi
        iniset "$CINDER_CONF" "$be" vmware_insecure True
        inidelete "$CINDER_CONF" "$be" vmware_ca_file
        return
    fi
    iniset "$CINDER_CONF" "$be" vmware_insecure False
    if [[ -z "$VMWAREAPI_CA_FILE" ]]; then
        inidelete "$CINDER_CONF" "$be" vmware_ca_file
    elif [[ -r "$VMWAREAPI_CA_FILE" ]]; then
        iniset "$CINDER_CONF" "$be" vmware_ca_file "$VMWAREAPI_CA_FILE"
    else
        die "$LINENO" "cinder-vmware-ext: VMWAREAPI_CA_FILE=$VMWAREAPI_CA_FILE is not a readable file (the CA bundle of vCenter's certificate)"
    fi
}

# Called by lib/cinder's configure_cinder for each vmware_ext:NAME entry of
# CINDER_ENABLED_BACKENDS: writes the [NAME] backend section.
function configure_cinder_backend_vmware_ext {
    local be=$1
    local -a clusters
    if [[ -z "$VMWAREAPI_IP" || -z "$VMWARE_CLUSTER_NAMES" ]]; then
        die "$LINENO" "cinder-vmware-ext: set VMWAREAPI_IP and VMWARE_CLUSTER_NAMES in local.conf"
    fi
    IFS=',' read -r -a clusters <<< "$VMWARE_CLUSTER_NAMES"

    iniset "$CINDER_CONF" "$be" volume_driver "$CINDER_VMWARE_EXT_DRIVER"
    iniset "$CINDER_CONF" "$be" volume_backend_name "$be"
    iniset "$CINDER_CONF" "$be" vmware_host_ip "$VMWAREAPI_IP"
    iniset "$CINDER_CONF" "$be" vmware_host_port "$VMWAREAPI_PORT"
    iniset "$CINDER_CONF" "$be" vmware_host_username "$VMWAREAPI_USER"
    iniset "$CINDER_CONF" "$be" vmware_host_password "$VMWAREAPI_PASSWORD"
    _cinder_vmware_ext_configure_tls "$be"
    # One line per cluster (vmware_cluster_name is a multi-valued option).
    iniset_multiline "$CINDER_CONF" "$be" vmware_cluster_name "${clusters[@]}"
    iniset "$CINDER_CONF" "$be" vmware_pool_mode "$VMWARE_POOL_MODE"
}

# DriverFilter evaluates the filter function each pool reports (a volume
# must fit on one datastore); GoodnessWeigher weighs its goodness.
function _cinder_vmware_ext_configure_scheduler {
    local filters weighers
    filters=$(iniget "$CINDER_CONF" DEFAULT scheduler_default_filters)
    filters=${filters:-AvailabilityZoneFilter,CapacityFilter,CapabilitiesFilter}
    [[ ",$filters," == *",DriverFilter,"* ]] || filters="$filters,DriverFilter"
    iniset "$CINDER_CONF" DEFAULT scheduler_default_filters "$filters"
    weighers=$(iniget "$CINDER_CONF" DEFAULT scheduler_default_weighers)
    weighers=${weighers:-CapacityWeigher}
    [[ ",$weighers," == *",GoodnessWeigher,"* ]] || weighers="$weighers,GoodnessWeigher"
    iniset "$CINDER_CONF" DEFAULT scheduler_default_weighers "$weighers"
}

# Tempest: the features this backend supports beyond its defaults.
function configure_tempest_cinder_vmware_ext {
    iniset "$TEMPEST_CONFIG" volume-feature-enabled manage_volume True
    iniset "$TEMPEST_CONFIG" volume-feature-enabled manage_snapshot True
    iniset "$TEMPEST_CONFIG" volume-feature-enabled extend_attached_volume True
    iniset "$TEMPEST_CONFIG" volume storage_protocol vmdk
    iniset "$TEMPEST_CONFIG" volume vendor_name VMware
}

if is_service_enabled c-vol c-sch; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing cinder-vmware-ext"
        install_cinder_vmware_ext
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring the scheduler for cinder-vmware-ext's pools"
        _cinder_vmware_ext_configure_scheduler
    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        if is_service_enabled tempest; then
            echo_summary "Enabling tempest's tests of cinder-vmware-ext's features"
            configure_tempest_cinder_vmware_ext
        fi
    fi
fi

#!/bin/bash
# devstack plugin for cinder-vmware-ext: installs the package next to
# Cinder and adds a VMware vCenter backend using its driver.
#
#   enable_plugin cinder-vmware-ext https://opendev.example/cinder-vmware-ext
#
# Variables: see devstack/settings, which devstack sources before this
# file (so shellcheck cannot see them assigned):
# shellcheck disable=SC2153

CINDER_VMWARE_EXT_DRIVER=cinder_vmware_ext.driver.VMwareVcVmdkExtDriver
# pyparsing 3.3.3 breaks cinder's scheduler evaluator (cinder 29) for any
# filter/goodness expression naming a variable, which is every expression
# this driver reports: keep the last release that works.
CINDER_VMWARE_EXT_PYPARSING=pyparsing==3.3.2

function install_cinder_vmware_ext {
    setup_develop "$CINDER_VMWARE_EXT_DIR"
    pip_install "$CINDER_VMWARE_EXT_PYPARSING"
}

# Add the backend to enabled_backends, keeping those devstack configured.
function _cinder_vmware_ext_enable_backend {
    local backends
    backends=$(iniget "$CINDER_CONF" DEFAULT enabled_backends)
    case ",$backends," in
        *",$CINDER_VMWARE_BACKEND,"*) ;;
        ",,") iniset "$CINDER_CONF" DEFAULT enabled_backends "$CINDER_VMWARE_BACKEND" ;;
        *) iniset "$CINDER_CONF" DEFAULT enabled_backends "$backends,$CINDER_VMWARE_BACKEND" ;;
    esac
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

# vCenter's certificate is verified: against VMWARE_CA_FILE when given,
# else against the system's CA bundle.  Verification is off only when
# VMWAREAPI_INSECURE=True asks for it (a lab), never because no CA file
# is given.
function _cinder_vmware_ext_configure_tls {
    local be=$1
    if [[ "$VMWAREAPI_INSECURE" == "True" ]]; then
        if [[ -n "$VMWARE_CA_FILE" ]]; then
            die "$LINENO" "cinder-vmware-ext: VMWAREAPI_INSECURE=True turns certificate verification off, VMWARE_CA_FILE=$VMWARE_CA_FILE turns it on: set one of them"
        fi
        iniset "$CINDER_CONF" "$be" vmware_insecure True
        inidelete "$CINDER_CONF" "$be" vmware_ca_file
        return
    fi
    iniset "$CINDER_CONF" "$be" vmware_insecure False
    if [[ -z "$VMWARE_CA_FILE" ]]; then
        inidelete "$CINDER_CONF" "$be" vmware_ca_file
    elif [[ -r "$VMWARE_CA_FILE" ]]; then
        iniset "$CINDER_CONF" "$be" vmware_ca_file "$VMWARE_CA_FILE"
    else
        die "$LINENO" "cinder-vmware-ext: VMWARE_CA_FILE=$VMWARE_CA_FILE is not a readable file (the CA bundle of vCenter's certificate)"
    fi
}

function configure_cinder_vmware_ext {
    local be=$CINDER_VMWARE_BACKEND
    local -a clusters
    if [[ -z "$VMWARE_VCENTER_HOST" || -z "$VMWARE_CLUSTER_NAMES" ]]; then
        die "$LINENO" "cinder-vmware-ext: set VMWARE_VCENTER_HOST and VMWARE_CLUSTER_NAMES in local.conf"
    fi
    IFS=',' read -r -a clusters <<< "$VMWARE_CLUSTER_NAMES"

    iniset "$CINDER_CONF" "$be" volume_driver "$CINDER_VMWARE_EXT_DRIVER"
    iniset "$CINDER_CONF" "$be" volume_backend_name "$be"
    iniset "$CINDER_CONF" "$be" vmware_host_ip "$VMWARE_VCENTER_HOST"
    iniset "$CINDER_CONF" "$be" vmware_host_port "$VMWARE_VCENTER_PORT"
    iniset "$CINDER_CONF" "$be" vmware_host_username "$VMWARE_VCENTER_USER"
    iniset "$CINDER_CONF" "$be" vmware_host_password "$VMWARE_VCENTER_PASSWORD"
    _cinder_vmware_ext_configure_tls "$be"
    # One line per cluster (vmware_cluster_name is a multi-valued option).
    iniset_multiline "$CINDER_CONF" "$be" vmware_cluster_name "${clusters[@]}"
    iniset "$CINDER_CONF" "$be" vmware_pool_mode "$VMWARE_POOL_MODE"

    _cinder_vmware_ext_enable_backend
    _cinder_vmware_ext_configure_scheduler
}

if is_service_enabled c-vol c-sch; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing cinder-vmware-ext"
        install_cinder_vmware_ext
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring cinder-vmware-ext's VMware backend"
        configure_cinder_vmware_ext
    fi
fi
